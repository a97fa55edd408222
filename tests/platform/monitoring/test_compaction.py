"""Compaction of a capture table's past days, without Ray: a day's many small files become one with the
same rows (older files without the newer columns read null in them), today's files are left alone, a
file appended meanwhile keeps its rows, and a second compaction of the same files changes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from raylake.platform.db import session_scope
from raylake.platform.monitoring import capture, compaction
from raylake.platform.monitoring.buffer import CaptureBuffer
from raylake.platform.monitoring.capture import CaptureSource
from tests.factories import add_version, draft_model
from tests.platform.monitoring.test_capture import COLUMNS

NOW = datetime.now(UTC)
DAYS_AGO = NOW - timedelta(days=3)


@pytest.fixture
def table(engine, ctx, member):
    with session_scope(engine) as session:
        model = draft_model(session, member)
        run = add_version(session, model, columns=COLUMNS)
        session.expunge_all()
    version = capture.model_version(run)
    return model.id, capture.open_table(ctx, engine, version, version.inputs)


def _rows(start: int, n: int, at: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "_request_id": [f"r{start + i}" for i in range(n)],
            "_ts": [at] * n,
            "_row": pl.Series([0] * n, dtype=pl.Int32),
            "Tenure": list(range(start, start + n)),
        }
    )


def _files(table, day) -> int:
    return len(compaction.small_files_by_day(table.refresh(), day + timedelta(days=1)).get(day, []))


def test_a_past_days_small_files_become_one_with_every_row(ctx, table):
    model_id, log = table
    old = capture.read_captured(ctx, model_id)  # a file written before _row existed: reads null there
    capture.append(log, [_rows(0, 5, DAYS_AGO).drop("_row")])
    for i in range(1, 10):
        capture.append(log, [_rows(i * 5, 5, DAYS_AGO)])
    for i in range(3):
        capture.append(log, [_rows(100 + i, 1, NOW)])
    assert old.height == 0 and _files(log, DAYS_AGO.date()) == 10
    before = capture.read_captured(ctx, model_id).sort("_request_id")

    stale = compaction.small_files_by_day(log.refresh(), NOW.date())[DAYS_AGO.date()]
    assert compaction.compact(log.refresh(), now=NOW) == 10
    assert _files(log, DAYS_AGO.date()) == 1 and _files(log, NOW.date()) == 3  # today's left as they are
    after = capture.read_captured(ctx, model_id).sort("_request_id")
    assert after.equals(before) and after.height == 53
    assert after.filter(pl.col("_request_id") == "r0")["_row"].to_list() == [None]

    # A second replica with the old file list: validation refuses it, nothing changes.
    with pytest.raises(compaction.ValidationException):
        compaction.rewrite(log.refresh(), stale)
    assert capture.read_captured(ctx, model_id).sort("_request_id").equals(before)
    assert compaction.compact(log.refresh(), now=NOW) == 0  # one file a day: nothing to do


def test_an_append_to_the_same_day_meanwhile_keeps_its_rows(ctx, table):
    model_id, log = table
    for i in range(8):
        capture.append(log, [_rows(i, 1, DAYS_AGO)])
    chosen = compaction.small_files_by_day(log.refresh(), NOW.date())[DAYS_AGO.date()]
    capture.append(log, [_rows(50, 1, DAYS_AGO)])  # lands between listing and commit
    compaction.rewrite(log.refresh(), chosen)
    assert capture.count_captured(ctx, model_id) == 9 and _files(log, DAYS_AGO.date()) == 2


def test_a_replica_compacts_the_tables_it_appends_to_at_most_every_compact_s(engine, ctx, member):
    with session_scope(engine) as session:
        model = draft_model(session, member)
        run = add_version(session, model, columns=COLUMNS)
        session.expunge_all()
    buf = CaptureBuffer(ctx, engine, flush_s=60.0, max_rows=10_000, compact_s=0.05)
    answer = {"prediction": "true"}
    buf.add(run, source=CaptureSource.REALTIME, caller="ann", rows=[{"Tenure": 1}], results=[answer])
    buf.flush()  # the first append starts the clock
    version = capture.model_version(run)
    log = capture.open_table(ctx, engine, version, version.inputs)
    for i in range(8):
        capture.append(log, [_rows(i, 1, DAYS_AGO)])
    time.sleep(0.1)
    buf.add(run, source=CaptureSource.REALTIME, caller="ann", rows=[{"Tenure": 2}], results=[answer])
    buf.flush()
    assert _files(log, DAYS_AGO.date()) == 1 and capture.count_captured(ctx, model.id) == 10
