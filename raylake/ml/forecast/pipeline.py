"""Fit a forecaster end to end: features, backtest of every candidate, choice, intervals, final fit.

The LightGBM fits (the final model on all history, plus one per backtest fold) are independent, so they
go to the runner together: in the job side by side (threads of its process, or Ray tasks), in a test one
after another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from raylake.ml.forecast import backtest
from raylake.ml.forecast.backtest import Evaluation, Runner, in_process
from raylake.ml.forecast.features import FeatureSpec
from raylake.ml.forecast.forecaster import CANDIDATES, LIGHTGBM, Forecaster, History, series_scales
from raylake.ml.forecast.panel import Panel

DEFAULT_LEVEL = 0.9


@dataclass
class ForecastResult:
    forecaster: Forecaster
    metrics: dict[str, Any]


def fit(
    panel: Panel,
    *,
    horizon: int,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
    runner: Runner = in_process,
    progress: Callable[[str, int], None] = lambda stage, pct: None,
    target: str = "y",
    candidates: Sequence[str] | None = None,
) -> ForecastResult:
    """Backtest ``candidates`` (default: all), keep the best, fit it on all history."""
    names = [m for m in CANDIDATES if m in (candidates or CANDIDATES)]
    freq, frame = panel.frequency, panel.frame
    series_ids = panel.series
    spec = FeatureSpec.build(freq, frame, panel.exog, len(series_ids))
    folds = backtest.origins(frame, horizon)
    common = {"spec": spec.to_json(), "series_ids": series_ids, "seed": seed}

    def fold_calls(model: str) -> list[backtest.Call]:
        """The remote calls backtesting ``model``: one forecast per fold."""
        return [
            (
                backtest.fold_forecast,
                {
                    **common,
                    "model": model,
                    "frame": frame,
                    "folds": folds,
                    "fold": k,
                    "frequency": freq.name,
                    "horizon": horizon,
                },
            )
            for k in range(folds)
        ]

    progress("backtesting", 20)
    # Longest first (the final fit sees the most rows, then the latest fold...): the last wave of fits
    # on a few CPUs is then the shortest.
    remote = (
        [(backtest.booster_text, {**common, "frame": frame}), *reversed(fold_calls(LIGHTGBM))]
        if LIGHTGBM in names
        else []
    )
    results: list[Any] = runner(remote) if remote else [None]  # the final model's text, then the folds
    final_text, *latest_first = results
    fold_results = latest_first[::-1]
    progress("choosing", 80)
    evaluations = []
    for model in names:
        if model == LIGHTGBM:
            evaluations.append(Evaluation.of(model, fold_results))
        else:  # cheap, vectorised over series: no task worth shipping
            evaluations.append(Evaluation.of(model, in_process(fold_calls(model))))
    chosen = backtest.choose(evaluations)
    width = backtest.conformal_width(chosen.unit_errors(), level)
    covered, honest = backtest.coverage(chosen, level)
    forecaster = Forecaster(
        model=chosen.model,
        frequency=freq,
        spec=spec,
        history=History.of(frame, max(spec.history, freq.season)),
        scales=series_scales(frame)["scale"].to_numpy(),
        horizon=horizon,
        level=level,
        width=width,
        booster=backtest.load_booster(final_text) if chosen.model == LIGHTGBM else None,
        target=target,
    )
    metrics = {
        "model": chosen.model,
        "frequency": freq.name,
        "horizon": horizon,
        "level": level,
        **chosen.summary(),
        "per_step": chosen.per_step(),
        "interval_coverage": round(covered, 4),
        "coverage_out_of_fold": honest,
        "backtest": {
            "folds": folds,
            "candidates": {e.model: {**e.summary(), "per_step": e.per_step()} for e in evaluations},
        },
        "data": panel.report,
    }
    return ForecastResult(forecaster, metrics)
