"""Compaction of a capture table's past days: the many small files its appends leave (one per flush,
API replica and day) rewritten as few, so reads and commits do not slow down as the log grows.

Only days before today (UTC) are compacted, a day's files at most ``max_rows`` rows at a time. The
rewrite names the exact files it replaces (an Iceberg overwrite that deletes those files and adds the
new ones in one commit): an append that lands on the same day meanwhile keeps its file, and a second
replica compacting the same files at the same time fails validation and changes nothing. The files
are read as written and conformed to the table's current schema by name (``capture.conform``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.io.pyarrow import _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from raylake.platform.monitoring import capture

log = logging.getLogger(__name__)
EPOCH = date(1970, 1, 1)
MIN_FILES = 8  # a day with fewer files is left as it is
SMALL_BYTES = 64 * 1024 * 1024  # files this large or larger are already as they should be
MAX_ROWS = 1_000_000  # rows rewritten per day and round: bounds the memory one compaction needs


def small_files_by_day(table: Table, before: date) -> dict[date, list[DataFile]]:
    """The table's small data files of each day before ``before`` (from the manifests; no data read)."""
    days: dict[date, list[DataFile]] = defaultdict(list)
    for task in table.scan().plan_files():
        file = task.file
        day = EPOCH + timedelta(days=int(file.partition[0]))
        if day < before and file.file_size_in_bytes < SMALL_BYTES:
            days[day].append(file)
    return days


def _read(table: Table, files: list[DataFile]) -> pa.Table:
    """The files' rows as the table's current schema."""
    frames = []
    for file in files:
        fs, path = pafs.FileSystem.from_uri(file.file_path)
        frame = pl.from_arrow(pq.read_table(path, filesystem=fs))
        assert isinstance(frame, pl.DataFrame)
        frames.append(capture.conform(table, frame))
    return pa.concat_tables(frames)


def rewrite(table: Table, files: list[DataFile]) -> int:
    """Replace the files with their rows rewritten as few files, in one commit; the rows rewritten."""
    rows = _read(table, files)
    with table.transaction() as tx, tx.update_snapshot().overwrite() as overwrite:
        for file in files:
            overwrite.delete_data_file(file)
        # pyiceberg's own writer (what append uses), so the files are partitioned and named as its are.
        written = _dataframe_to_data_files(
            table_metadata=tx.table_metadata, write_uuid=overwrite.commit_uuid, df=rows, io=table.io
        )
        for data_file in written:
            overwrite.append_data_file(data_file)
    return rows.num_rows


def compact(
    table: Table, *, min_files: int = MIN_FILES, max_rows: int = MAX_ROWS, now: datetime | None = None
) -> int:
    """Compact each past day with at least ``min_files`` small files; how many files were replaced (a
    day another writer compacted first is skipped)."""
    today = (now or datetime.now(UTC)).date()
    replaced = 0
    for day, files in sorted(small_files_by_day(table, today).items()):
        if len(files) < min_files:
            continue
        chosen: list[DataFile] = []
        rows = 0
        for file in sorted(files, key=lambda f: f.file_path):
            if chosen and rows + file.record_count > max_rows:
                break
            chosen.append(file)
            rows += file.record_count
        if len(chosen) < 2:
            continue
        try:
            rewrite(table, chosen)
        except (CommitFailedException, ValidationException) as exc:
            log.info("compaction of %s on %s skipped: %s", table.name(), day, exc)
            table = table.refresh()
            continue
        replaced += len(chosen)
        table = table.refresh()
    if replaced:
        capture.expire_snapshots(table)
    return replaced
