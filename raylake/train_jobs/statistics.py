"""Descriptive statistics of a dataset snapshot, run as a Ray job:

    python -m raylake.train_jobs.statistics --statistics-id N

Settings come from the job's environment (``RAYLAKE_*``), read in ``main`` at run time. Progress and
the result are written to the statistics row; any failure is recorded there before the job exits.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import polars as pl

from raylake.core.vocabulary import JobStatus
from raylake.platform import lake
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.datasets.models import Dataset, DatasetStatistics
from raylake.platform.datasets.validation import FILE_ID
from raylake.platform.db import make_engine, session_scope
from raylake.train_jobs import runtime

TOP_VALUES = 5
HISTOGRAM_BINS = 10

Progress = Callable[[str, int], None]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _histogram(frame: pl.LazyFrame, name: str, low: float, high: float) -> dict[str, list]:
    if low == high:
        return {"edges": [low, high], "counts": [int(frame.select(pl.col(name).count()).collect().item())]}
    width = (high - low) / HISTOGRAM_BINS
    bins = (
        frame.select(
            ((pl.col(name).cast(pl.Float64) - low) / width).floor().clip(0, HISTOGRAM_BINS - 1).alias("b")
        )
        .drop_nulls()
        .group_by("b")
        .len()
        .collect()
    )
    counts = [0] * HISTOGRAM_BINS
    for b, n in bins.iter_rows():
        counts[int(b)] = int(n)
    return {"edges": [low + i * width for i in range(HISTOGRAM_BINS + 1)], "counts": counts}


def compute(frame: pl.LazyFrame, progress: Progress) -> dict[str, Any]:
    """Per column: count, nulls, distinct, top values; numeric: mean, std, min, quartiles, max, histogram."""
    schema = frame.collect_schema()
    numeric = [n for n, t in schema.items() if t.is_numeric()]
    ordered = [n for n, t in schema.items() if t.is_numeric() or t.is_temporal()]
    aggregations = [pl.len().alias("__rows")]
    for name in schema:
        column = pl.col(name)
        aggregations += [
            column.count().alias(f"{name}__count"),
            column.null_count().alias(f"{name}__nulls"),
            column.n_unique().alias(f"{name}__distinct"),
        ]
    for name in ordered:
        aggregations += [pl.col(name).min().alias(f"{name}__min"), pl.col(name).max().alias(f"{name}__max")]
    for name in numeric:
        column = pl.col(name).cast(pl.Float64)
        aggregations += [
            column.mean().alias(f"{name}__mean"),
            column.std().alias(f"{name}__std"),
            column.quantile(0.25).alias(f"{name}__q25"),
            column.median().alias(f"{name}__median"),
            column.quantile(0.75).alias(f"{name}__q75"),
        ]
    progress("aggregating", 30)
    totals = frame.select(aggregations).collect(engine="streaming").row(0, named=True)
    columns: dict[str, Any] = {}
    for i, (name, dtype) in enumerate(schema.items()):
        stats = {
            key: _plain(totals[f"{name}__{key}"])
            for key in ("count", "nulls", "distinct", "min", "max", "mean", "std", "q25", "median", "q75")
            if f"{name}__{key}" in totals
        }
        stats["data_type"] = str(dtype)
        top = (
            frame.group_by(name)
            .len()
            .drop_nulls()
            .sort(["len", name], descending=[True, False])
            .head(TOP_VALUES)
        )
        stats["top_values"] = [{"value": _plain(v), "count": int(n)} for v, n in top.collect().iter_rows()]
        if name in numeric and stats.get("min") is not None:
            stats["histogram"] = _histogram(frame, name, float(stats["min"]), float(stats["max"]))
        columns[name] = stats
        progress(f"column {name}", 30 + int(65 * (i + 1) / max(len(schema), 1)))
    return {"rows": int(totals["__rows"]), "columns": columns}


def run(settings: Settings, statistics_id: int) -> None:
    """Claim the row, describe the dataset's snapshot, and record the result or the failure on the row."""
    engine = make_engine(settings.sqlalchemy_url)
    row = runtime.claim(engine, DatasetStatistics, statistics_id)
    runtime.update(
        engine, DatasetStatistics, statistics_id, status=JobStatus.RUNNING, stage="reading", percent=5
    )
    try:
        with session_scope(engine) as session:
            dataset = session.get(Dataset, row.dataset_id)
            if dataset is None:
                raise LookupError("the dataset was deleted")
            table_name = dataset.iceberg_table_name
        table = lake.load(lake.open_catalog(settings), "silver", table_name)
        frame = pl.scan_iceberg(table, snapshot_id=row.snapshot_id).drop(FILE_ID)
        result = compute(
            frame,
            lambda stage, pct: runtime.update(
                engine, DatasetStatistics, statistics_id, stage=stage, percent=pct
            ),
        )
        runtime.update(
            engine,
            DatasetStatistics,
            statistics_id,
            status=JobStatus.SUCCEEDED,
            stage="done",
            percent=100,
            result=result,
        )
    except Exception as exc:
        runtime.update(
            engine,
            DatasetStatistics,
            statistics_id,
            status=JobStatus.FAILED,
            stage="failed",
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """The Ray job's entrypoint: compute the statistics of ``--statistics-id``."""
    parser = argparse.ArgumentParser(prog="raylake.train_jobs.statistics")
    parser.add_argument("--statistics-id", type=int, required=True)
    args = parser.parse_args(argv)
    run(resolve_settings(Settings()), args.statistics_id)


if __name__ == "__main__":
    main()
