"""What a drift check reads, and the check itself: a window of a version's captured predictions (the
model's ``gold.prediction_log_<id>`` table) or a dataset's validated rows, counted into the baseline's
bins in one lazy scan that reads only the baseline's columns.

Both the API (small windows, in the request) and the drift job (large ones, on Ray) call ``measure``,
so the two give the same answer for the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from raylake.core.layout import prediction_log_table
from raylake.core.vocabulary import DriftMethod
from raylake.ml import drift
from raylake.platform import lake
from raylake.platform.datasets.models import Dataset
from raylake.platform.monitoring.drift_models import DATASET, DriftReport

LOG_NAMESPACE = "gold"
TS, TRAIN_ID = "_ts", "_train_id"


@dataclass(frozen=True)
class Source:
    """The rows a check compares: an Iceberg table (at a snapshot), narrowed to a window of a version."""

    table: Table | None  # None: nothing captured yet
    snapshot_id: int | None = None
    train_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None

    def row_filter(self) -> str | None:
        """The window as an Iceberg filter (prunes day partitions and files by their statistics)."""
        if self.train_id is None or self.start is None or self.end is None:
            return None
        return (
            f"{TRAIN_ID} = {int(self.train_id)} AND {TS} >= '{self.start.isoformat()}' "
            f"AND {TS} < '{self.end.isoformat()}'"
        )

    def frame(self, columns: list[str]) -> pl.LazyFrame:
        """The source's rows, only the named columns (those the table has), lazily."""
        assert self.table is not None
        present = {f.name for f in self.table.schema().fields}
        scan = pl.scan_iceberg(self.table, snapshot_id=self.snapshot_id)
        if self.train_id is not None and self.start is not None and self.end is not None:
            scan = scan.filter(
                (pl.col(TRAIN_ID) == self.train_id) & (pl.col(TS) >= self.start) & (pl.col(TS) < self.end)
            )
        return scan.select([c for c in columns if c in present])

    def estimate_rows(self) -> int:
        """At most how many rows the check reads: the record counts of the data files the filter keeps
        (from the manifests; no data file is opened)."""
        if self.table is None:
            return 0
        scan = self.table.scan(snapshot_id=self.snapshot_id)
        row_filter = self.row_filter()
        if row_filter is not None:
            scan = self.table.scan(row_filter=row_filter, snapshot_id=self.snapshot_id)
        return sum(task.file.record_count for task in scan.plan_files())


def captured(ctx: lake.Lake, report: DriftReport) -> Source:
    """A report's window of its version's captured predictions (an empty source before any)."""
    assert report.window_start is not None and report.window_end is not None
    try:
        table = lake.load(ctx.catalog, LOG_NAMESPACE, prediction_log_table(report.model_id))
    except NoSuchTableError:
        table = None
    return Source(table, train_id=report.train_id, start=report.window_start, end=report.window_end)


def dataset_rows(ctx: lake.Lake, dataset: Dataset) -> Source:
    """A dataset's validated rows at its current snapshot."""
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    return Source(table, snapshot_id=dataset.snapshot_id)


def source_of(ctx: lake.Lake, report: DriftReport, dataset: Dataset | None) -> Source:
    """What a report compares: its dataset's rows, or its window of captured predictions."""
    if report.source == DATASET:
        if dataset is None:
            raise LookupError(f"dataset {report.dataset_id} was deleted")
        return dataset_rows(ctx, dataset)
    return captured(ctx, report)


def measure(
    source: Source,
    baseline: drift.Baseline,
    *,
    method: DriftMethod,
    threshold: float | None,
    min_rows: int,
    with_prediction: bool,
    progress: Callable[[str, int], None] = lambda stage, percent: None,
) -> drift.DriftResult:
    """Count the source's rows into the baseline's bins (one scan of the needed columns) and compare."""
    columns = [c.name for c in baseline.columns]
    if with_prediction and baseline.prediction is not None:
        columns.append(baseline.prediction.name)
    progress("reading", 20)
    if source.table is None:
        empty = pl.LazyFrame({name: pl.Series([], dtype=pl.Float64) for name in columns})
        return drift.check(baseline, empty, method=method, threshold=threshold, min_rows=min_rows)
    frame = source.frame(columns)
    result = drift.check(
        baseline,
        frame,
        method=method,
        threshold=threshold,
        min_rows=min_rows,
        with_prediction=with_prediction,
    )
    progress("comparing", 90)
    return result
