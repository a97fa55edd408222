"""Features of the global model: lags of the target relative to its recent level, calendar, exogenous.

The model works on ``z``: log(y) when every value is positive (multiplicative seasons and growth become
additive), else y divided by the series' mean |y|. Each step is predicted relative to the level ``L`` (the
mean of the last season of z before it): the target is ``z - L`` and the lags are ``lag - L``, with L
itself a feature. A tree model cannot extrapolate, but relative to a moving level it need not: a series
that has grown past everything in its history still looks familiar.

Training builds them for every row at once (polars, per series); forecasting builds them one step at a
time from a history buffer (numpy, all series together). Both go through ``calendar`` and the same lag
and window definitions, so a model sees at forecast time exactly the features it was trained on.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from raylake.ml.forecast.frequency import Frequency

MAX_SHORT_LAGS = 12


@dataclass
class FeatureSpec:
    lags: list[int]
    windows: list[int]
    calendar: list[str]
    exog: list[str]
    categories: dict[str, list[str]]  # string exogenous columns: their training values, in code order
    series_feature: bool  # more than one series: the series code is a categorical feature
    level_window: int  # the level L is the mean of this many past values of z
    log: bool  # z = log(y) (every value positive) rather than y / scale

    @classmethod
    def build(cls, freq: Frequency, frame: pl.DataFrame, exog: list[str], n_series: int) -> FeatureSpec:
        """The features for a frequency and a panel: lags, windows, calendar parts, exogenous categories."""
        season = max(freq.season, 1)
        week = 7 * season if freq.every.endswith("m") or freq.every == "1h" else 0  # sub-daily: a week back
        lags = sorted({*range(1, min(season, MAX_SHORT_LAGS) + 1), season, 2 * season, week} - {0})
        windows = [3] if season > 3 else []  # the season's own mean is the level
        categories = {
            c: sorted(frame[c].cast(pl.String).drop_nulls().unique().to_list())
            for c in exog
            if frame[c].dtype in (pl.String, pl.Categorical, pl.Enum)
        }
        positive = bool(frame["y"].min() > 0)  # type: ignore[operator]
        return cls(
            lags,
            windows,
            CALENDAR[_calendar_kind(freq)],
            list(exog),
            categories,
            n_series > 1,
            max(season, 2),
            positive,
        )

    def to_z(self, y: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Values on the model's scale (log, or divided by each series' scale)."""
        if self.log:
            with np.errstate(all="ignore"):
                return np.log(y)
        return y / scale

    def from_z(self, z: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Model-scale values back in the series' own units."""
        return np.exp(z) if self.log else z * scale

    @property
    def history(self) -> int:
        """How many past values a forecast step reads."""
        return max([*self.lags, *self.windows, self.level_window])

    @property
    def names(self) -> list[str]:
        """The feature matrix's column names, in order."""
        return [
            "level",
            *(f"lag_{k}" for k in self.lags),
            *(f"mean_{w}" for w in self.windows),
            *self.calendar,
            *self.exog,
            *(["series"] if self.series_feature else []),
        ]

    @property
    def categorical(self) -> list[str]:
        """The features LightGBM treats as categories."""
        return [*self.categories, *(["series"] if self.series_feature else [])]

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON-ready data, kept with the forecaster."""
        return asdict(self)

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> FeatureSpec:
        """The spec back from ``to_json``'s data."""
        return cls(**state)

    def exog_matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """Exogenous columns as floats: numbers as they are, strings as their training code (NaN unseen)."""
        columns = []
        for c in self.exog:
            if c in self.categories:
                codes = {v: float(i) for i, v in enumerate(self.categories[c])}
                values = frame[c].cast(pl.String).replace_strict(codes, default=None, return_dtype=pl.Float64)
                columns.append(values.to_numpy())
            else:
                columns.append(frame[c].cast(pl.Float64).to_numpy())
        return np.column_stack(columns) if columns else np.empty((frame.height, 0))


CALENDAR = {
    "subdaily": ["hour", "day_of_week"],
    "daily": ["day_of_week", "day_of_month", "month"],
    "weekly": ["week", "month"],
    "monthly": ["month"],
    "quarterly": ["quarter"],
    "yearly": [],
}


def _calendar_kind(freq: Frequency) -> str:
    return {"1d": "daily", "1w": "weekly", "1mo": "monthly", "3mo": "quarterly", "1y": "yearly"}.get(
        freq.every, "subdaily"
    )


def calendar(times: pl.Series, parts: list[str]) -> np.ndarray:
    """The timestamps' calendar parts (hour, day of week, month...) as a float matrix, one column a part."""
    exprs = {
        "hour": pl.col("t").dt.hour() + pl.col("t").dt.minute() / 60,
        "day_of_week": pl.col("t").dt.weekday(),
        "day_of_month": pl.col("t").dt.day(),
        "month": pl.col("t").dt.month(),
        "week": pl.col("t").dt.week(),
        "quarter": pl.col("t").dt.quarter(),
    }
    if not parts:
        return np.empty((times.len(), 0))
    frame = pl.DataFrame({"t": times}).select(*(exprs[p].cast(pl.Float64).alias(p) for p in parts))
    return frame.to_numpy()


def training_matrix(
    frame: pl.DataFrame, spec: FeatureSpec, scales: np.ndarray, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``series, time, y, *exog`` (regular, sorted; ``scales``/``codes`` per row) to X and the
    target ``z - L``.

    Each series' first row (no level yet) is dropped; lags and windows that reach before a series' start
    stay NaN, as they are at forecast time for a short history."""
    z = pl.Series("z", spec.to_z(frame["y"].to_numpy(), scales))
    level = pl.col("z").shift(1).rolling_mean(spec.level_window, min_samples=1).over("series")
    relative = pl.DataFrame({"series": frame["series"], "z": z}).with_columns(level.alias("level"))
    lagged = relative.select(
        "level",
        *((pl.col("z").shift(k).over("series") - pl.col("level")).alias(f"lag_{k}") for k in spec.lags),
        *(
            (pl.col("z").shift(1).rolling_mean(w, min_samples=1).over("series") - pl.col("level")).alias(
                f"mean_{w}"
            )
            for w in spec.windows
        ),
    )
    parts = [
        lagged.to_numpy(),
        calendar(frame["time"], spec.calendar),
        spec.exog_matrix(frame),
    ]
    if spec.series_feature:
        parts.append(codes.astype(np.float64)[:, None])
    X = np.column_stack(parts)
    target = z.to_numpy() - X[:, 0]
    keep = ~np.isnan(X[:, 0]) & np.isfinite(target)
    return X[keep], target[keep]


def step_features(
    buffer: np.ndarray,
    position: int,
    spec: FeatureSpec,
    times: pl.Series,
    exog: np.ndarray,
    codes: np.ndarray,
) -> np.ndarray:
    """Features of every series' next step: ``buffer`` holds z up to ``position`` (exclusive), NaN before a
    series' start; ``times``/``exog`` are that step's timestamp and exogenous row per series. Column 0 is
    the level L the prediction is relative to."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window is NaN, as in training
        level = np.nanmean(buffer[:, position - spec.level_window : position], axis=1)
        means = [np.nanmean(buffer[:, position - w : position], axis=1) - level for w in spec.windows]
    lags = [buffer[:, position - k] - level for k in spec.lags]
    parts = [np.column_stack([level, *lags, *means]), calendar(times, spec.calendar), exog]
    if spec.series_feature:
        parts.append(codes.astype(np.float64)[:, None])
    return np.column_stack(parts)
