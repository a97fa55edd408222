"""Rolling-origin backtest: which candidate forecasts best, how well per step, and how wide intervals are.

The last ``folds x horizon`` points of every series are forecast ``folds`` times (3, up to 8 while
the folds give fewer than MIN_ERRORS errors: a few series), each time from a model fitted only on what
came before that origin. The candidate with the lowest mean MASE wins. Its scaled
errors calibrate a split-conformal interval: ``|error| / (scale * sqrt(step))`` pooled over series,
steps and folds, its ``level`` quantile (finite-sample corrected) is the interval's width. Coverage is
measured honestly, fold by fold, with the width calibrated on the other folds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from raylake.ml.forecast.features import FeatureSpec
from raylake.ml.forecast.forecaster import (
    CANDIDATES,
    LIGHTGBM,
    History,
    _codes,
    fit_global,
    recursive_forecast,
    series_scales,
)
from raylake.ml.forecast.frequency import parse

MIN_FOLDS = 3
MAX_FOLDS = 8
# Forecast errors (series x steps x folds) the backtest should have: with 240, the three weather series'
# four backtest days calibrated 90% intervals that covered 69% of the hold-out day; seven days, 89%.
MIN_ERRORS = 480

# A runner runs (function, keywords) calls and returns their results in order: one after the other in
# process, or as Ray tasks spread over the cluster's CPUs.
Call = tuple[Callable[..., Any], dict[str, Any]]
Runner = Callable[[Sequence[Call]], list[Any]]


def in_process(calls: Sequence[Call]) -> list[Any]:
    """Run the calls one after the other in this process (the runner without Ray)."""
    return [fn(**kw) for fn, kw in calls]


def min_history(horizon: int) -> int:
    """Points a series needs: one backtest window, and at least a horizon plus one before it to fit on."""
    return 2 * horizon + 1


def origins(frame: pl.DataFrame, horizon: int) -> int:
    """How many backtest folds: three, more (up to MAX_FOLDS) while they give fewer than MIN_ERRORS
    forecast errors to choose and calibrate on (a single long series), never more than every series
    has room for, and at least one."""
    lengths = frame.group_by("series").len()["len"]
    shortest, series = int(lengths.min()), lengths.len()  # type: ignore[arg-type]
    wanted = min(MAX_FOLDS, max(MIN_FOLDS, math.ceil(MIN_ERRORS / (series * horizon))))
    return max(1, min(wanted, (shortest - horizon - 1) // horizon))


def split(frame: pl.DataFrame, horizon: int, folds: int, fold: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fold ``fold`` (0 = earliest origin): everything before its origin, and the horizon after it."""
    position = pl.int_range(pl.len()).over("series")
    cut = pl.len().over("series") - (folds - fold) * horizon
    return (
        frame.filter(position < cut),
        frame.filter((position >= cut) & (position < cut + horizon)),
    )


def fold_forecast(
    *,
    model: str,
    frame: pl.DataFrame,
    folds: int,
    fold: int,
    spec: dict[str, Any],
    frequency: str,
    series_ids: list[str],
    horizon: int,
    seed: int = 0,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """One candidate on one fold: actuals, forecasts, and the scales the errors are measured in.

    Every fold task gets the whole panel and cuts its own fold: on the cluster the panel then travels
    to the object store once, not once per fold."""
    train, test = split(frame, horizon, folds, fold)
    feature_spec = FeatureSpec.from_json(spec)
    freq = parse(frequency)
    scales = series_scales(train)["scale"].to_numpy()
    booster = (
        fit_global(train, feature_spec, series_ids, threads=threads, seed=seed) if model == LIGHTGBM else None
    )
    history = History.of(train, max(feature_spec.history, freq.season))
    exog = _future_exog(test, feature_spec, len(history.series), horizon)
    predicted, _ = recursive_forecast(
        model,
        history,
        horizon,
        freq=freq,
        spec=feature_spec,
        booster=booster,
        scales=scales,
        codes=_codes(pl.Series(history.series), series_ids),
        future_exog=exog,
    )
    actual = test["y"].to_numpy().reshape(len(history.series), horizon)
    return {
        "actual": actual,
        "predicted": predicted,
        "scale": scales,
        "mase_scale": mase_scales(train, freq.season),
    }


def _future_exog(test: pl.DataFrame, spec: FeatureSpec, n: int, horizon: int) -> np.ndarray:
    return spec.exog_matrix(test).reshape(n, horizon, len(spec.exog))


def mase_scales(train: pl.DataFrame, season: int) -> np.ndarray:
    """Per series: the in-sample MAE of the seasonal naive forecast (lag 1 if shorter than a season)."""
    out = []
    for ys in train.group_by("series", maintain_order=True).agg("y")["y"].to_list():
        y = np.asarray(ys, dtype=float)
        m = season if len(y) > season else 1
        mae = float(np.mean(np.abs(y[m:] - y[:-m]))) if len(y) > m else 0.0
        out.append(mae if mae > 0 else 1.0)
    return np.asarray(out)


@dataclass
class Evaluation:
    """A candidate's backtest: errors stacked as (fold, series, step)."""

    model: str
    actual: np.ndarray
    predicted: np.ndarray
    scale: np.ndarray  # (fold, series): the model's own target scale, for intervals
    mase_scale: np.ndarray  # (fold, series)

    @classmethod
    def of(cls, model: str, folds: list[dict[str, np.ndarray]]) -> Evaluation:
        """One model's evaluation stacked from its folds' actuals, predictions and scales."""
        return cls(
            model,
            np.stack([f["actual"] for f in folds]),
            np.stack([f["predicted"] for f in folds]),
            np.stack([f["scale"] for f in folds]),
            np.stack([f["mase_scale"] for f in folds]),
        )

    def per_step(self) -> dict[str, list[float]]:
        """Each error measure (MASE, sMAPE, ...) per forecast step, averaged over folds and series."""
        error = self.predicted - self.actual
        mase = np.abs(error) / self.mase_scale[:, :, None]
        denominator = np.abs(self.actual) + np.abs(self.predicted)
        smape = np.where(
            denominator > 0, 200 * np.abs(error) / np.where(denominator > 0, denominator, 1), 0.0
        )
        return {
            "mase": _round(mase.mean(axis=(0, 1))),
            "smape": _round(smape.mean(axis=(0, 1))),
            "rmse": _round(np.sqrt((error**2).mean(axis=(0, 1)))),
        }

    def summary(self) -> dict[str, float]:
        """Each error measure averaged over the steps, rounded: the backtest's headline numbers."""
        return {name: round(float(np.mean(values)), 6) for name, values in self.per_step().items()}

    def unit_errors(self) -> np.ndarray:
        """|error| / (scale * sqrt(step)): comparable across series and steps."""
        steps = np.sqrt(np.arange(1, self.actual.shape[2] + 1))
        return np.abs(self.predicted - self.actual) / (self.scale[:, :, None] * steps[None, None, :])


def _round(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def conformal_width(unit_errors: np.ndarray, level: float) -> float:
    """The split-conformal quantile: the ceil((n+1) level)-th smallest unit error."""
    flat = np.sort(unit_errors[np.isfinite(unit_errors)].ravel())
    if flat.size == 0:
        return 0.0
    rank = min(flat.size, math.ceil((flat.size + 1) * level))
    return float(flat[rank - 1])


def coverage(evaluation: Evaluation, level: float) -> tuple[float, bool]:
    """Share of backtest actuals inside the interval, each fold's width calibrated on the other folds
    (``True``); with a single fold only in-sample coverage exists (``False``)."""
    unit = evaluation.unit_errors()
    folds = unit.shape[0]
    if folds == 1:
        return float(np.mean(unit <= conformal_width(unit, level))), False
    inside = [np.mean(unit[f] <= conformal_width(np.delete(unit, f, axis=0), level)) for f in range(folds)]
    return float(np.mean(inside)), True


def choose(evaluations: list[Evaluation]) -> Evaluation:
    """Lowest mean MASE; ties go to the simpler model (listed later in CANDIDATES)."""
    return min(evaluations, key=lambda e: (round(e.summary()["mase"], 9), -CANDIDATES.index(e.model)))


def booster_text(
    *, frame: pl.DataFrame, spec: dict[str, Any], series_ids: list[str], seed: int = 0, threads: int = 1
) -> str:
    """The final global model on all history, as LightGBM text (a Ray task returns it safely)."""
    return fit_global(
        frame, FeatureSpec.from_json(spec), series_ids, threads=threads, seed=seed
    ).model_to_string()


def load_booster(text: str) -> lgb.Booster:
    """The LightGBM booster back from its text (as a Ray task returns it)."""
    return lgb.Booster(model_str=text)
