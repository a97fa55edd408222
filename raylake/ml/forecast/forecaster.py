"""A fitted forecaster: the chosen model, each series' recent history, and its interval width.

Everything it needs to forecast lives in a JSON state plus, for the global model, LightGBM's own text
model: no pickle. Forecasting is recursive: each step's prediction becomes the next step's first lag.

Models (candidates chosen per predictor by the backtest):

- ``LightGBM``: one global model over all series, on the target scaled per series (mean |y|), so series
  of different sizes share what they have in common;
- ``SeasonalDrift``: each series repeats its last season, carried along its trend (the mean change,
  or ratio for positive series, between its last two seasons, once per season ahead);
- ``SeasonalNaive``: each series repeats its last season (the baseline every model must beat).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from raylake.ml.forecast.features import FeatureSpec, step_features, training_matrix
from raylake.ml.forecast.frequency import Frequency, parse
from raylake.ml.forecast.panel import parse_times

LIGHTGBM = "LightGBM"
SEASONAL_NAIVE = "SeasonalNaive"
SEASONAL_DRIFT = "SeasonalDrift"
CANDIDATES = (LIGHTGBM, SEASONAL_DRIFT, SEASONAL_NAIVE)  # most to least complex: ties go to the later
LGB_PARAMS: dict[str, Any] = {
    "objective": "l2",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 10,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "verbose": -1,
}
ROUNDS = 300


def series_scales(frame: pl.DataFrame) -> pl.DataFrame:
    """Per series: the scale its target is divided by (mean |y|, 1 when all zero)."""
    return (
        frame.group_by("series", maintain_order=True)
        .agg(pl.col("y").abs().mean().fill_null(1.0).alias("scale"))
        .with_columns(pl.when(pl.col("scale") > 0).then(pl.col("scale")).otherwise(1.0).alias("scale"))
    )


def fit_global(
    frame: pl.DataFrame, spec: FeatureSpec, series_ids: list[str], *, threads: int = 1, seed: int = 0
) -> lgb.Booster:
    """The global LightGBM model on ``frame`` (a regular panel, possibly cut at a backtest origin)."""
    scales = frame.join(series_scales(frame), on="series", how="left")["scale"].to_numpy()
    codes = _codes(frame["series"], series_ids)
    X, y = training_matrix(frame, spec, scales, codes)
    data = lgb.Dataset(
        X,
        y,
        feature_name=spec.names,
        categorical_feature=spec.categorical or "auto",
        params={"min_data_in_bin": 1, "verbose": -1},
        free_raw_data=True,
    )
    params = {
        **LGB_PARAMS,
        "num_threads": threads,
        "seed": seed,
        "min_data_in_leaf": min(10, max(2, len(y) // 20)),
    }
    return lgb.train(params, data, num_boost_round=ROUNDS)


def _codes(series: pl.Series, series_ids: list[str]) -> np.ndarray:
    index = {s: i for i, s in enumerate(series_ids)}
    return series.replace_strict(index, default=-1, return_dtype=pl.Int64).to_numpy()


@dataclass
class History:
    """Each series' last ``length`` raw values (NaN-padded in front) and last timestamp."""

    series: list[str]
    values: np.ndarray  # (series, length)
    last_time: list[datetime]

    @classmethod
    def of(cls, frame: pl.DataFrame, length: int) -> History:
        """Each series' last ``length`` values and last timestamp, taken from a sorted panel."""
        tails = frame.group_by("series", maintain_order=True).agg(
            pl.col("y").tail(length).alias("y"), pl.col("time").last().alias("time")
        )
        values = np.full((tails.height, length), np.nan)
        for i, ys in enumerate(tails["y"].to_list()):
            values[i, length - len(ys) :] = ys
        return cls(tails["series"].to_list(), values, tails["time"].to_list())


def recursive_forecast(
    model: str,
    history: History,
    steps: int,
    *,
    freq: Frequency,
    spec: FeatureSpec,
    booster: lgb.Booster | None,
    scales: np.ndarray,
    codes: np.ndarray,
    future_exog: np.ndarray | None = None,
) -> tuple[np.ndarray, list[list[datetime]]]:
    """Point forecasts ``(series, steps)`` and their timestamps, for every series of ``history``."""
    n, length = history.values.shape
    ahead = {t: freq.steps_from(t, steps) for t in set(history.last_time)}  # series mostly end together
    times = [ahead[t] for t in history.last_time]
    if model == SEASONAL_NAIVE:
        return seasonal_naive(history.values, steps, freq.season), times
    if model == SEASONAL_DRIFT:
        return seasonal_drift(history.values, steps, freq.season, multiplicative=spec.log), times
    assert booster is not None
    z = spec.to_z(history.values, scales[:, None])
    buffer = np.concatenate([z, np.full((n, steps), np.nan)], axis=1)
    exog = future_exog if future_exog is not None else np.empty((n, steps, 0))
    for h in range(steps):
        step_times = pl.Series([ts[h] for ts in times], dtype=pl.Datetime("us"))
        X = step_features(buffer, length + h, spec, step_times, exog[:, h, :], codes)
        buffer[:, length + h] = X[:, 0] + booster.predict(X, num_threads=1)
    return spec.from_z(buffer[:, length:], scales[:, None]), times


def seasonal_naive(values: np.ndarray, steps: int, season: int) -> np.ndarray:
    """Repeat each series' last observed season (its last value where a season is not there yet)."""
    n = values.shape[0]
    out = np.empty((n, steps))
    for i in range(n):
        row = values[i][~np.isnan(values[i])]
        m = season if len(row) >= season else 1
        out[i] = row[-m:][np.arange(steps) % m]
    return out


def seasonal_drift(values: np.ndarray, steps: int, season: int, *, multiplicative: bool) -> np.ndarray:
    """The seasonal naive forecast carried along the series' recent trend: each season ahead adds the mean
    change between the last season and the one before it (a ratio for positive series)."""
    n = values.shape[0]
    out = np.empty((n, steps))
    for i in range(n):
        row = values[i][~np.isnan(values[i])]
        m = season if len(row) >= 2 * season else 1
        last, before = row[-m:], row[-2 * m : -m] if len(row) >= 2 * m else row[-m:]
        h = np.arange(steps)
        seasons_ahead = h // m + 1
        if multiplicative:
            growth = float(np.exp(np.mean(np.log(last) - np.log(before))))
            out[i] = last[h % m] * growth**seasons_ahead
        else:
            out[i] = last[h % m] + seasons_ahead * float(np.mean(last - before))
    return out


@dataclass
class Forecaster:
    """The fitted predictor a replica serves."""

    model: str
    frequency: Frequency
    spec: FeatureSpec
    history: History
    scales: np.ndarray
    horizon: int
    level: float
    width: float  # conformal half-width per unit of scale and sqrt(step)
    booster: lgb.Booster | None = None
    target: str = "y"

    @property
    def series(self) -> list[str]:
        """The ids of the series this forecaster can forecast."""
        return self.history.series

    def forecast(
        self, unique_id: str, steps: int, future_exog: np.ndarray | None = None
    ) -> list[dict[str, Any]]:
        """``steps`` points for one series: ``date, value, lower, upper, confidence``.

        The half-width grows with the square root of the step (the backtest calibrates it on all steps
        of the trained horizon); beyond that horizon the same rule extrapolates."""
        i = self.series.index(unique_id)
        one = History([unique_id], self.history.values[i : i + 1], [self.history.last_time[i]])
        exog = None if future_exog is None else future_exog[None, :, :]
        values, times = recursive_forecast(
            self.model,
            one,
            steps,
            freq=self.frequency,
            spec=self.spec,
            booster=self.booster,
            scales=self.scales[i : i + 1],
            codes=np.array([i]),
            future_exog=exog,
        )
        scale = float(self.scales[i])
        out = []
        for h, (when, value) in enumerate(zip(times[0], values[0], strict=True), start=1):
            half = self.width * scale * math.sqrt(h)
            out.append(
                {
                    "date": when.isoformat() if when.hour or when.minute else when.date().isoformat(),
                    "value": float(value),
                    "lower": float(value - half),
                    "upper": float(value + half),
                    "confidence": self.level,
                }
            )
        return out

    def future_exog(self, unique_id: str, steps: int, rows: list[dict[str, Any]]) -> np.ndarray | None:
        """The exogenous values of the next ``steps`` of one series from rows ``{"time": ..., feature: ...}``;
        a ValueError names every step and feature without a value."""
        if not self.spec.exog:
            return None
        i = self.series.index(unique_id)
        wanted = self.frequency.steps_from(self.history.last_time[i], steps)
        frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame({"time": []})
        if frame.height:
            frame = frame.with_columns(parse_times(frame["time"].cast(pl.String)).alias("time"))
        steps_frame = pl.DataFrame({"time": pl.Series(wanted, dtype=pl.Datetime("us"))})
        for column in self.spec.exog:
            if column not in frame.columns:
                frame = frame.with_columns(pl.lit(None).alias(column))
        joined = steps_frame.join(
            frame.unique("time", keep="first"), on="time", how="left", maintain_order="left"
        )
        problems = []
        for column in self.spec.exog:
            missing = joined.filter(pl.col(column).is_null())["time"]
            if missing.len():
                dates = ", ".join(str(t) for t in missing.head(5).to_list())
                more = f" and {missing.len() - 5} more" if missing.len() > 5 else ""
                problems.append(f"{column!r} at {dates}{more}")
        if problems:
            raise ValueError(f"missing future values of {'; '.join(problems)}")
        return self.spec.exog_matrix(joined)

    def to_json(self) -> dict[str, Any]:
        """The forecaster's state (history, spec, frequency) as JSON-ready data; the booster apart."""
        return {
            "kind": "forecaster",
            "model": self.model,
            "frequency": self.frequency.name,
            "spec": self.spec.to_json(),
            "series": self.history.series,
            "history": [[None if math.isnan(v) else float(v) for v in row] for row in self.history.values],
            "last_time": [t.isoformat() for t in self.history.last_time],
            "scales": [float(s) for s in self.scales],
            "horizon": self.horizon,
            "level": self.level,
            "width": self.width,
            "target": self.target,
        }

    @classmethod
    def from_json(cls, state: dict[str, Any], booster: lgb.Booster | None) -> Forecaster:
        """The forecaster back from ``to_json``'s state and its booster."""
        values = np.array(
            [[np.nan if v is None else v for v in row] for row in state["history"]], dtype=float
        )
        history = History(state["series"], values, [datetime.fromisoformat(t) for t in state["last_time"]])
        return cls(
            model=state["model"],
            frequency=parse(state["frequency"]),
            spec=FeatureSpec.from_json(state["spec"]),
            history=history,
            scales=np.array(state["scales"], dtype=float),
            horizon=int(state["horizon"]),
            level=float(state["level"]),
            width=float(state["width"]),
            booster=booster,
            target=state.get("target", "y"),
        )
