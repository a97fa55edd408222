"""Drift over 10 million captured predictions x 20 features: raylake's check (``platform/monitoring/
drift_reader.py`` + ``ml/drift.py``: one lazy aggregation over the window, only the needed columns) vs
a plain polars script computing the same PSI (read the window's columns, then bin each column with
numpy and compare), wall time side by side in one run; both must give the same PSI per column.

The data is generated into a local Iceberg table in a temp warehouse, with the prediction log's schema
(``gold.prediction_log_<id>``, partitioned by day of ``_ts``): 14 numeric and 6 categorical inputs over
7 days, two inputs shifted. The baseline is fitted on a separate 1M-row "training" sample. No platform
or Ray needed. Usage: `.venv/bin/python bench/drift.py [--rows 10000000] [--repeat 2] [--keep DIR]`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import psutil
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyiceberg.types import DoubleType, IcebergType, LongType, NestedField, StringType, TimestamptzType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")
from raylake.core.vocabulary import DriftMethod
from raylake.ml import drift
from raylake.platform.monitoring import drift_reader

NUMERIC, CATEGORICAL = 14, 6
LEVELS = [f"level_{i}" for i in range(12)]
CHUNK = 1_000_000
TRAIN_ID = 1
END = datetime(2026, 12, 1, tzinfo=UTC)
DAYS = 7


def inputs(rows: int, seed: int, shifted: bool) -> pl.DataFrame:
    """The 20 inputs: normal numbers (f0 shifted by 0.5 sd, f1's spread doubled when ``shifted``) and
    skewed categories (c0's frequencies reversed when ``shifted``); 1% missing in f2 and c1."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for i in range(NUMERIC):
        loc, scale = (0.5, 1.0) if shifted and i == 0 else (0.0, 2.0 if shifted and i == 1 else 1.0)
        columns[f"f{i}"] = rng.normal(loc, scale, rows)
    weights = np.arange(len(LEVELS), 0, -1, dtype=np.float64)
    for i in range(CATEGORICAL):
        p = weights[::-1] if shifted and i == 0 else weights
        columns[f"c{i}"] = np.array(LEVELS)[rng.choice(len(LEVELS), rows, p=p / p.sum())]
    frame = pl.DataFrame(columns)
    holes = pl.Series(rng.random(rows) < 0.01)
    return frame.with_columns(
        pl.when(holes).then(None).otherwise(pl.col("f2")).alias("f2"),
        pl.when(holes).then(None).otherwise(pl.col("c1")).alias("c1"),
    )


def predictions(frame: pl.DataFrame) -> pl.Series:
    return pl.Series("_prediction", np.where(frame["f3"].to_numpy() > 0.3, "yes", "no"))


def create_table(warehouse: Path) -> Table:
    catalog = SqlCatalog("bench", uri=f"sqlite:///{warehouse / 'catalog.db'}", warehouse=warehouse.as_uri())
    catalog.create_namespace_if_not_exists("gold")
    fields: list[tuple[str, IcebergType]] = [
        ("_request_id", StringType()),
        ("_ts", TimestamptzType()),
        ("_train_id", LongType()),
        ("_prediction", StringType()),
        ("_prediction_value", DoubleType()),
        *((f"f{i}", DoubleType()) for i in range(NUMERIC)),
        *((f"c{i}", StringType()) for i in range(CATEGORICAL)),
    ]
    schema = Schema(*(NestedField(i, n, t, required=False) for i, (n, t) in enumerate(fields, start=1)))
    spec = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=DayTransform(), name="_ts_day"))
    return catalog.create_table("gold.prediction_log_1", schema=schema, partition_spec=spec)


def fill(table: Table, rows: int) -> None:
    """Append ``rows`` captured predictions, spread evenly over the last ``DAYS`` days, a chunk at a time."""
    span_us = DAYS * 86_400_000_000
    start_us = int((END - timedelta(days=DAYS)).timestamp() * 1_000_000)
    for offset in range(0, rows, CHUNK):
        n = min(CHUNK, rows - offset)
        frame = inputs(n, seed=100 + offset // CHUNK, shifted=True)
        ts = start_us + (np.arange(offset, offset + n, dtype=np.int64) * span_us) // rows
        chunk = frame.with_columns(
            _request_id=pl.lit("r"),
            _ts=pl.Series(ts).cast(pl.Datetime("us", "UTC")),
            _train_id=pl.lit(TRAIN_ID, pl.Int64),
            _prediction=predictions(frame),
            _prediction_value=pl.lit(None, pl.Float64),
        )
        table.append(
            chunk.select([f.name for f in table.schema().fields]).to_arrow().cast(table.schema().as_arrow())
        )
        table = table.refresh()


def raylake_check(table: Table, baseline: drift.Baseline) -> tuple[float, dict[str, float], int]:
    """What a drift check runs, in the request or in its Ray job."""
    source = drift_reader.Source(table, train_id=TRAIN_ID, start=END - timedelta(days=DAYS), end=END)
    started = time.perf_counter()
    result = drift_reader.measure(
        source, baseline, method=DriftMethod.PSI, threshold=None, min_rows=1, with_prediction=True
    )
    seconds = time.perf_counter() - started
    scores = {c.name: c.score for c in result.columns}
    if result.prediction is not None:
        scores[result.prediction.name] = result.prediction.score
    return seconds, scores, result.rows


def plain_polars(table: Table, baseline: drift.Baseline) -> tuple[float, dict[str, float], int]:
    """A plain script: read the window's columns with polars, bin each with numpy (its present values),
    PSI by hand."""
    started = time.perf_counter()
    columns = [*baseline.columns, *([baseline.prediction] if baseline.prediction else [])]
    frame = (
        pl.scan_iceberg(table)
        .filter(
            (pl.col("_train_id") == TRAIN_ID)
            & (pl.col("_ts") >= END - timedelta(days=DAYS))
            & (pl.col("_ts") < END)
        )
        .select([c.name for c in columns])
        .collect()
    )
    scores: dict[str, float] = {}
    for column in columns:
        series = frame[column.name]
        if column.kind == drift.NUMERIC:
            values = series.cast(pl.Float64).fill_nan(None)
            present = values.drop_nulls().to_numpy()
            counts = np.bincount(
                np.searchsorted(column.edges, present, side="left"), minlength=len(column.edges) + 1
            )
            observed = counts
        else:
            found = dict(series.drop_nulls().value_counts().iter_rows())
            named = [found.get(category, 0) for category in column.categories]
            other = series.len() - series.null_count() - sum(named)
            observed = np.array([*named, other])
        expected = np.asarray(column.counts[:-1], dtype=np.float64)  # present values (missing: last)
        p = np.maximum(expected / expected.sum(), 1e-4)
        q = np.maximum(observed / observed.sum(), 1e-4)
        scores[column.name] = float(np.sum((q - p) * np.log(q / p)))
    return time.perf_counter() - started, scores, frame.height


def open_table(folder: Path) -> Table:
    catalog = SqlCatalog("bench", uri=f"sqlite:///{folder / 'catalog.db'}", warehouse=folder.as_uri())
    return catalog.load_table("gold.prediction_log_1")


def in_child(name: str, folder: str, baseline: dict) -> tuple[float, dict[str, float], int, float]:
    """One computation in a fresh process: its time, scores, rows and the process's peak RSS (GiB)."""
    check = raylake_check if name == "raylake" else plain_polars
    seconds, scores, rows = check(open_table(Path(folder)), drift.Baseline.from_json(baseline))
    return seconds, scores, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    args = parser.parse_args()
    memory = psutil.virtual_memory().total / 2**30
    python = platform.python_version()
    print(f"# {datetime.now():%Y-%m-%d}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {python}")
    print(f"# load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="raylake-drift-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        training = inputs(1_000_000, seed=1, shifted=False)
        started = time.perf_counter()
        kinds = {c: drift.NUMERIC if c.startswith("f") else drift.CATEGORICAL for c in training.columns}
        baseline = drift.Baseline(
            drift.fit_bins(training, kinds),
            prediction=drift.fit_bins(predictions(training).to_frame(), {"_prediction": drift.CATEGORICAL})[
                0
            ],
            rows=training.height,
        )
        print(f"baseline on 1M training rows x 20: {time.perf_counter() - started:.2f} s")
        if (folder / "catalog.db").exists():
            table = open_table(folder)
        else:
            started = time.perf_counter()
            table = create_table(folder)
            fill(table, args.rows)
            print(f"generated {args.rows:,} captured rows in {time.perf_counter() - started:.1f} s")
        source = drift_reader.Source(table, train_id=TRAIN_ID, start=END - timedelta(days=DAYS), end=END)
        started = time.perf_counter()
        estimate = source.estimate_rows()
        print(f"rows estimated from the manifests: {estimate:,} in {time.perf_counter() - started:.3f} s")
        runs: dict[str, list[float]] = {"raylake": [], "plain polars": []}
        peaks: dict[str, float] = {}
        answers = {}
        spawn = multiprocessing.get_context("spawn")
        for _ in range(args.repeat):
            for name in ("plain polars", "raylake"):
                with spawn.Pool(1) as pool:
                    seconds, scores, rows, peak = pool.apply(
                        in_child, (name, str(folder), baseline.to_json())
                    )
                runs[name].append(seconds)
                peaks[name] = max(peaks.get(name, 0.0), peak)
                answers[name] = scores
                assert rows == args.rows, (name, rows)
        mismatch = {
            c: (answers["raylake"][c], answers["plain polars"][c])
            for c in answers["raylake"]
            if abs(answers["raylake"][c] - answers["plain polars"][c]) > 1e-9
        }
        assert not mismatch, mismatch
        drifted = sorted(c for c, s in answers["raylake"].items() if s > 0.2)
        print(f"same PSI per column in both; past 0.2: {', '.join(drifted)}")
        print()
        print("| computation | rows x columns | best s | runs s | peak RSS GiB |")
        print("| --- | --- | --- | --- | --- |")
        for name, times in runs.items():
            shown = ", ".join(f"{t:.2f}" for t in times)
            print(f"| {name} | {args.rows:,} x 21 | {min(times):.2f} | {shown} | {peaks[name]:.2f} |")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
