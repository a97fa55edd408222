"""Forecasting at scale, side by side in one run: 1,000 synthetic daily series x 500 points, with a promo
exogenous column (``bench/forecast_data.py``), horizon 14.

* raylake: ``POST /api/v1/train/`` (``problem_type: Forecasting``, ``auto``) -> poll until ``completed``:
  a Ray job regularises the snapshot, runs the rolling-origin backtest of every candidate (the global
  LightGBM's fold fits and its final fit as parallel one-CPU Ray tasks), chooses, calibrates intervals
  and saves. Timed submit to completed. The upload is setup, not timed.
* plain: the same code (``raylake.ml.forecast``: regularise, features, the same candidates, folds and
  final fit) in one process, one fit after another: with LightGBM on one thread, and on every core.

Goal (issue 6): raylake >= 1.5x faster than the plain loop on 2 cores. Needs `make run`.
Usage: `.venv/bin/python bench/forecast_scale.py [--series 1000] [--length 500]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import forecast_data as data

from bench.client import login, train_and_wait, upload
from raylake.ml.forecast import backtest, pipeline
from raylake.ml.forecast.frequency import parse
from raylake.ml.forecast.panel import regularise
from raylake.platform.config import Settings, resolve_settings

HORIZON = 14


def through_raylake(base: str, headers: dict[str, str], dataset_id: int) -> tuple[float, dict]:
    body = {
        "dataset_id": dataset_id,
        "predictor_name": f"bench-scale-{time.time_ns()}",
        "domain": "bench",
        "problem_type": "Forecasting",
        "columns": [
            {"column_name": "series", "attribute_name": "Id"},
            {"column_name": "time", "attribute_name": "Time"},
            {"column_name": "y", "attribute_name": "Target"},
            {"column_name": "promo", "attribute_name": "Feature"},
        ],
        "forecast_horizon": HORIZON,
    }
    run, wall, stages = train_and_wait(base, headers, body)
    return wall, {"model": run["model_algorithm"], "mase": run["metrics"]["mase"], "stages": stages}


def plain(csv: Path, threads: int) -> tuple[float, dict]:
    """The same modelling code, in this process, one LightGBM fit after another."""
    start = time.perf_counter()
    rows = pl.read_csv(csv, try_parse_dates=True)
    panel = regularise(
        rows,
        time="time",
        target="y",
        series="series",
        exog=["promo"],
        frequency=parse("Day"),
        min_history=backtest.min_history(HORIZON),
    )

    def sequential(calls: list[backtest.Call]) -> list:
        return [fn(**{**kwargs, "threads": threads}) for fn, kwargs in calls]

    result = pipeline.fit(panel, horizon=HORIZON, runner=sequential)
    return time.perf_counter() - start, {"model": result.metrics["model"], "mase": result.metrics["mase"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--length", type=int, default=500)
    args = parser.parse_args()
    settings = resolve_settings(Settings())
    base = os.environ.get("RAYLAKE_BENCH_URL", settings.api_url)
    headers = login(base, settings)
    cpus = os.cpu_count() or 1
    print(f"machine: {platform.processor() or platform.machine()}, {cpus} CPUs, {platform.platform()}")
    frame, _ = data.synthetic(args.series, args.length)
    with tempfile.TemporaryDirectory() as tmp:
        csv = data.write_csv(frame, Path(tmp) / "synthetic.csv")
        dataset_id = upload(base, headers, csv, prefix="bench-scale")["dataset_id"]
        print(f"{args.series} series x {args.length} points ({frame.height} rows), horizon {HORIZON}")
        ours, info = through_raylake(base, headers, dataset_id)
        print(f"raylake       {ours:7.1f} s  {info}")
        for threads in sorted({1, cpus}):
            wall, result = plain(csv, threads)
            print(f"plain ({threads} thr) {wall:7.1f} s  {result}  -> raylake is {wall / ours:.2f}x faster")


if __name__ == "__main__":
    main()
