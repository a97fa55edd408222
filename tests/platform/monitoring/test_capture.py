"""Prediction capture on both backends, without Ray: the buffer appends calls to the model's table in
the lake, typed and partitioned by day; a new version's inputs become columns; close flushes; a lost
commit race is retried; capture off or a deleted model captures nothing; DuckDB reads the table."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlmodel import select

from raylake.core.layout import prediction_log_table
from raylake.platform import lake
from raylake.platform.datalake.models import LakeTable
from raylake.platform.db import session_scope
from raylake.platform.monitoring import capture
from raylake.platform.monitoring.buffer import CaptureBuffer
from raylake.platform.monitoring.capture import CaptureSource
from raylake.platform.registry import service
from raylake.schemas.registry import ModelUpdate
from tests.factories import add_version, draft_model

COLUMNS = [
    {"name": "CustomerID", "data_type": "String", "attribute": "Id"},
    {"name": "Tenure", "data_type": "Integer", "attribute": "Feature"},
    {"name": "Monthly", "data_type": "Float", "attribute": "Feature"},
    {"name": "Plan", "data_type": "String", "attribute": "Feature"},
    {"name": "Active", "data_type": "Boolean", "attribute": "Feature"},
    {"name": "Joined", "data_type": "Date", "attribute": "Feature"},
    {"name": "Seen", "data_type": "DateTime", "attribute": "Time"},
    {"name": "Churn", "data_type": "Boolean", "attribute": "Target"},
]
ROW = {
    "Tenure": 5,
    "Monthly": 20.5,
    "Plan": "Basic",
    "Active": True,
    "Joined": date(2020, 1, 15),
    "Seen": datetime(2026, 1, 2, 3, 4, 5),
}
ANSWER = {"prediction": "true", "probabilities": {"false": 0.2, "true": 0.8}}


@pytest.fixture
def model(engine, member):
    """A classifier with one completed version whose inputs have every template type."""
    with session_scope(engine) as session:
        model = draft_model(session, member)
        run = add_version(session, model, columns=COLUMNS)
        session.expunge_all()
    return model, run


def buffer(ctx, engine, **kw) -> CaptureBuffer:
    return CaptureBuffer(ctx, engine, **{"flush_s": 60.0, "max_rows": 10_000, **kw})


def test_calls_are_appended_typed_and_read_back_newest_first(engine, ctx, model):
    predictor, run = model
    buf = buffer(ctx, engine)
    first = buf.add(
        run,
        source=CaptureSource.REALTIME,
        caller="ann",
        rows=[ROW],
        sent=[{**ROW, "CustomerID": "C1"}],
        results=[ANSWER],
        latency_ms=3.5,
    )
    second = buf.add(
        run,
        source=CaptureSource.DEPLOYMENT,
        caller="bob",
        rows=[{"Tenure": 7}, {"Tenure": 8, "Plan": "Pro"}],
        sent=[{"Tenure": "7", "CustomerID": 42}, {"Tenure": 8}],
        results=[{"prediction": "false", "probabilities": {"false": 0.9, "true": 0.1}}] * 2,
    )
    assert buf.pending_rows == 3
    buf.flush()
    assert buf.pending_rows == 0

    frame = capture.read_captured(ctx, predictor.id)
    assert frame.height == 3
    assert frame.schema["_ts"] == pl.Datetime("us", "UTC") and frame.schema["_version"] == pl.Int32
    assert frame.schema["Tenure"] == pl.Int64 and frame.schema["Joined"] == pl.Date
    assert frame.schema["Seen"] == pl.Datetime("us", "UTC") and frame.schema["Active"] == pl.Boolean
    one = frame.filter(pl.col("_request_id") == first).row(0, named=True)
    assert (one["_model_id"], one["_train_id"], one["_version"]) == (predictor.id, run.id, 1)
    assert (one["_caller"], one["_source"], one["_latency_ms"]) == ("ann", "realtime", 3.5)
    assert (one["_prediction"], one["_prediction_value"], one["_probability"]) == ("true", None, 0.8)
    assert json.loads(one["_probabilities"]) == ANSWER["probabilities"]
    assert (one["CustomerID"], one["Monthly"], one["Joined"]) == ("C1", 20.5, date(2020, 1, 15))
    assert one["Seen"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # naive inputs are UTC
    two = frame.filter(pl.col("_request_id") == second).sort("Tenure")
    assert two["CustomerID"].to_list() == ["42", None] and two["Plan"].to_list() == [None, "Pro"]
    assert two["_latency_ms"].to_list() == [None, None] and two["_probability"].to_list() == [0.9, 0.9]

    table = lake.load(ctx.catalog, "gold", prediction_log_table(predictor.id))
    assert [str(f.transform) for f in table.spec().fields] == ["day"]
    assert [f.name for f in table.schema().fields][:13] == list(capture.RESERVED_NAMES)
    assert two["_row"].to_list() == [0, 1] and one["_row"] == 0  # capture ids: request id and row
    with session_scope(engine) as session:
        owner = session.exec(select(LakeTable).where(LakeTable.name == table.name()[-1])).one()
        assert owner.tenant_id == predictor.tenant_id and owner.namespace == "gold"

    page = capture.read_captured(ctx, predictor.id, columns=["_request_id", "Tenure"], limit=2)
    assert page.columns == ["_request_id", "Tenure"] and page["_request_id"].to_list() == [second] * 2
    assert capture.read_captured(ctx, predictor.id, limit=2, offset=2)["_request_id"].to_list() == [first]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert capture.count_captured(ctx, predictor.id, since=later) == 0
    assert capture.count_captured(ctx, predictor.id, until=later, version=1) == 3
    assert capture.count_captured(ctx, predictor.id, version=2) == 0
    assert capture.read_captured(ctx, 10**9).height == 0  # nothing captured: an empty frame


def test_a_version_with_new_inputs_adds_columns(engine, ctx, model, member):
    predictor, run = model
    with session_scope(engine) as session:
        newer = add_version(
            session,
            service.get_model(session=session, principal=member, model_id=predictor.id),
            columns=[*COLUMNS, {"name": "Region", "data_type": "String", "attribute": "Feature"}],
        )
        session.expunge_all()
    buf = buffer(ctx, engine)
    buf.add(run, source=CaptureSource.INFER, caller="ann", rows=[ROW], results=[ANSWER])
    buf.flush()
    buf.add(newer, source=CaptureSource.INFER, caller="ann", rows=[{**ROW, "Region": "EU"}], results=[ANSWER])
    buf.flush()
    frame = capture.read_captured(ctx, predictor.id).sort("_version")
    assert frame["_version"].to_list() == [1, 2] and frame["Region"].to_list() == [None, "EU"]


def test_regression_values_and_close_writes_the_buffer(engine, ctx, member):
    with session_scope(engine) as session:
        predictor = draft_model(session, member, task="regression")
        run = add_version(
            session,
            predictor,
            problem_type="Regression",
            columns=[
                {"name": "_ts", "data_type": "Float", "attribute": "Feature"},  # a reserved name
                {"name": "Spend", "data_type": "Float", "attribute": "Target"},
            ],
        )
        session.expunge_all()
    buf = buffer(ctx, engine, flush_s=3600.0)
    buf.add(
        run, source=CaptureSource.REALTIME, caller="ann", rows=[{"_ts": 1.5}], results=[{"prediction": 12.25}]
    )
    buf.close()  # the app's shutdown: no flush interval passed
    row = capture.read_captured(ctx, predictor.id).row(0, named=True)
    assert (row["_prediction"], row["_prediction_value"], row["_probability"]) == ("12.25", 12.25, None)
    assert row["_input__ts"] == 1.5 and isinstance(row["_ts"], datetime)


def test_a_lost_commit_race_is_retried(engine, ctx, model, settings):
    """Two writers, each with its own catalog: the second appends on metadata the first made stale, and
    Iceberg's optimistic commit fails it; the retry lands both."""
    predictor, run = model
    version = capture.model_version(run)
    first = capture.open_table(ctx, engine, version, version.inputs)
    other = lake.open_lake(settings)
    stale = capture.open_table(other, engine, version, version.inputs)
    frame = pl.DataFrame({"_request_id": ["a"], "_model_id": [predictor.id], "Tenure": [1]})
    capture.append(first, [frame])
    capture.append(stale, [frame.with_columns(pl.lit("b").alias("_request_id"))])
    assert len(stale.snapshots()) == 2  # the second commit sits on the first
    assert sorted(capture.read_captured(ctx, predictor.id)["_request_id"].to_list()) == ["a", "b"]


def test_capture_off_or_model_deleted_captures_nothing(engine, ctx, model, member):
    predictor, run = model
    with session_scope(engine) as session:
        service.update_model(
            session=session,
            principal=member,
            model_id=predictor.id,
            data=ModelUpdate(capture_predictions=False),
        )
    buf = buffer(ctx, engine)
    buf.add(run, source=CaptureSource.REALTIME, caller="ann", rows=[ROW], results=[ANSWER])
    buf.flush()
    assert capture.count_captured(ctx, predictor.id) == 0
    with session_scope(engine) as session:
        service.update_model(
            session=session,
            principal=member,
            model_id=predictor.id,
            data=ModelUpdate(capture_predictions=True),
        )
    buf.add(run, source=CaptureSource.REALTIME, caller="ann", rows=[ROW], results=[ANSWER])
    buf.flush()
    assert capture.count_captured(ctx, predictor.id) == 1

    with session_scope(engine) as session:
        service.delete_model(session=session, ctx=ctx, jobs=None, principal=member, model_id=predictor.id)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        assert (
            session.exec(
                select(LakeTable).where(LakeTable.name == prediction_log_table(predictor.id))
            ).first()
            is None
        )
    assert capture.count_captured(ctx, predictor.id) == 0  # the table went with the model
    buf.add(run, source=CaptureSource.REALTIME, caller="ann", rows=[ROW], results=[ANSWER])
    buf.flush()  # a call that raced the delete: dropped, no table made again
    assert capture.read_captured(ctx, predictor.id).height == 0


def test_duckdb_reads_the_captured_predictions(engine, ctx, model):
    """The README's one-liner (docs/capture.md): DuckDB over the table's current snapshot."""
    predictor, run = model
    buf = buffer(ctx, engine)
    buf.add(run, source=CaptureSource.REALTIME, caller="ann", rows=[ROW, ROW], results=[ANSWER, ANSWER])
    buf.flush()
    table = lake.load(ctx.catalog, "gold", prediction_log_table(predictor.id))
    con = table.scan().to_duckdb("p")
    query = "select _ts, _version, _source, _prediction, _probability from p order by _ts desc limit 10"
    shown = str(con.sql(query))  # printed, as the README does (fetching timestamptz values needs pytz)
    assert shown.count("realtime") == 2 and "timestamp with time zone" in shown
    assert (
        con.sql(f"select _version, _source, _prediction, _probability from ({query})").fetchall()
        == [(1, "realtime", "true", 0.8)] * 2
    )


def test_an_append_racing_the_tables_drop_leaves_no_files(engine, ctx, model):
    """The table is dropped after a flush cached it (as a model's delete does, between a flush's flag
    check and its append): the append fails, the files it wrote go with the folder and its rows wait
    for the next flush, which makes the table anew here since the model (in this test) still captures."""
    predictor, run = model
    buf = buffer(ctx, engine)
    buf.add(run, source=CaptureSource.REALTIME, caller="ann", rows=[ROW], results=[ANSWER])
    buf.flush()
    table = lake.load(ctx.catalog, "gold", prediction_log_table(predictor.id))
    capture.drop_table(ctx, predictor.id)
    buf.add(run, source=CaptureSource.REALTIME, caller="bob", rows=[ROW], results=[ANSWER])
    buf.flush()
    assert buf.pending_rows == 1 and not lake.local_path(table.location()).exists()
    buf.flush()
    assert capture.read_captured(ctx, predictor.id)["_caller"].to_list() == ["bob"]


def test_the_tables_history_is_trimmed(engine, ctx, model):
    """Appended every few seconds, a table keeps at most twice KEEP_SNAPSHOTS snapshots, and every row."""
    predictor, run = model
    version = capture.model_version(run)
    table = capture.open_table(ctx, engine, version, version.inputs)
    appends = 2 * capture.KEEP_SNAPSHOTS + 1
    for i in range(appends):
        capture.append(table, [pl.DataFrame({"_request_id": [str(i)], "_model_id": [predictor.id]})])
    assert len(table.refresh().snapshots()) == capture.KEEP_SNAPSHOTS
    assert capture.count_captured(ctx, predictor.id) == appends
