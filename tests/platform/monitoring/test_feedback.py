"""Live accuracy from feedback on both backends, without Ray: labels sent by capture id (or as a dataset
with the Id column and target) are joined to the captured predictions, measured per version and per day
against the version's test figures; a drop past the threshold marks the model degraded once, with
``accuracy.dropped``; another tenant sees none of it."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from sqlmodel import select

from raylake.core.vocabulary import EventType, LiveMetric, ModelStatus
from raylake.platform.clock import utcnow
from raylake.platform.db import session_scope
from raylake.platform.errors import Invalid, NotFound
from raylake.platform.events.models import Event
from raylake.platform.monitoring import capture, feedback
from raylake.platform.monitoring.buffer import CaptureBuffer
from raylake.platform.monitoring.capture import CaptureSource
from raylake.platform.registry import service as registry
from raylake.platform.registry.models import Predictor
from raylake.schemas.feedback import FeedbackIn, FeedbackSettings
from raylake.schemas.registry import ModelUpdate
from tests.factories import add_version, create_tenant, create_user, draft_model, upload_dataset

COLUMNS = [
    {"name": "CustomerID", "data_type": "String", "attribute": "Id"},
    {"name": "Tenure", "data_type": "Integer", "attribute": "Feature"},
    {"name": "Churn", "data_type": "Boolean", "attribute": "Target"},
]
TEST_METRICS = {"accuracy": 0.9, "f1_score": 0.8, "labels": ["false", "true"]}


@pytest.fixture
def model(engine, member):
    """A trained classifier whose version was tested at accuracy 0.9."""
    with session_scope(engine) as session:
        model = draft_model(session, member)
        run = add_version(session, model, columns=COLUMNS, metrics=TEST_METRICS)
        model.status = ModelStatus.TRAINED
        session.add(model)
        session.flush()
        session.expunge_all()
    return model, run


def _predict(ctx, engine, run, customers: list[str], answer: str | float) -> list[str]:
    """Capture one real-time call predicting ``answer`` for each customer; the rows' capture ids."""
    buffer = CaptureBuffer(ctx, engine, flush_s=60.0, max_rows=100_000)
    results = [{"prediction": answer} for _ in customers]
    request_id = buffer.add(
        run,
        source=CaptureSource.REALTIME,
        caller="ann",
        rows=[{"Tenure": i} for i in range(len(customers))],
        sent=[{"CustomerID": c} for c in customers],
        results=results,
    )
    capture.stamp(results, request_id)
    buffer.flush()
    return [r["capture_id"] for r in results]


def _send(engine, ctx, principal, model_id, **body):
    with session_scope(engine) as session:
        return feedback.record(
            session=session,
            engine=engine,
            ctx=ctx,
            principal=principal,
            model_id=model_id,
            body=FeedbackIn.model_validate(body),
        )


def _events(engine, model_id: int) -> list[Event]:
    with session_scope(engine) as session:
        found = session.exec(select(Event).where(Event.type == EventType.ACCURACY_DROPPED)).all()
        return [e for e in found if e.payload["model_id"] == model_id]


def test_labels_give_live_accuracy_and_a_drop_degrades_the_model_once(engine, ctx, member, model):
    predictor, run = model
    ids = _predict(ctx, engine, run, [f"C{i}" for i in range(100)], "true")
    assert ids[:2] == [ids[0][:-1] + "0", ids[0][:-1] + "1"]  # <request id>.<row>

    # 60 were churners (True, "true" or 1 all say so), 40 were not: live accuracy 0.6, a 0.3 drop.
    labels = [{"capture_id": c, "label": [True, "true", 1][i % 3]} for i, c in enumerate(ids[:60])]
    labels += [{"capture_id": c, "label": False} for c in ids[60:]]
    labels += [{"capture_id": "no-such-call.0", "label": True}, {"capture_id": "not an id", "label": 1}]
    report = _send(engine, ctx, member, predictor.id, labels=labels)
    assert (report.received, report.matched) == (102, 100)
    assert sorted(report.unmatched) == ["no-such-call.0", "not an id"]
    assert report.metric == LiveMetric.ACCURACY and report.degraded
    [version] = report.versions
    assert (version.version, version.train_id, version.rows) == (1, run.id, 100)
    assert version.metrics["accuracy"] == pytest.approx(0.6) and version.test_metrics["accuracy"] == 0.9
    assert version.drop["accuracy"] == pytest.approx(0.3) and version.degraded
    assert version.metrics["f1_score"] == pytest.approx(0.75)  # precision 0.6, recall 1
    assert [(d.day, d.rows) for d in version.days] == [(utcnow().date(), 100)]
    with session_scope(engine) as session:
        assert session.get(Predictor, predictor.id).status == ModelStatus.DEGRADED
    [event] = _events(engine, predictor.id)
    assert event.payload["metric"] == "accuracy" and event.payload["drop"] == pytest.approx(0.3)

    # Relabelled: the newest label counts; the model is already degraded, so no second event.
    again = _send(engine, ctx, member, predictor.id, labels=[{"capture_id": ids[99], "label": "true"}])
    assert again.versions[0].metrics["accuracy"] == pytest.approx(0.61) and not again.degraded
    assert len(_events(engine, predictor.id)) == 1

    with session_scope(engine) as session:  # the report alone, over a window of prediction times
        later = feedback.report(
            session=session,
            ctx=ctx,
            principal=member,
            model_id=predictor.id,
            since=utcnow() + timedelta(minutes=5),
            until=None,
        )
    assert later.versions == [] and later.received == 0


def test_within_the_threshold_or_below_min_rows_nothing_is_marked(engine, ctx, member, model):
    predictor, run = model
    with session_scope(engine) as session:
        registry.update_model(
            session=session,
            principal=member,
            model_id=predictor.id,
            data=ModelUpdate(feedback=FeedbackSettings(max_drop=0.2, min_rows=10)),
        )
    ids = _predict(ctx, engine, run, [f"C{i}" for i in range(20)], "false")
    report = _send(engine, ctx, member, predictor.id, labels=[{"capture_id": c, "label": 0} for c in ids[:9]])
    assert report.versions[0].drop["accuracy"] == pytest.approx(-0.1) and not report.degraded  # too few
    labels = [{"capture_id": c, "label": i % 4 != 0} for i, c in enumerate(ids)]
    report = _send(engine, ctx, member, predictor.id, labels=labels)  # 5 of 20 were not churners
    assert report.versions[0].metrics["accuracy"] == pytest.approx(0.25) and report.degraded


def test_a_dataset_with_the_id_column_and_target_labels_every_matching_prediction(
    engine, ctx, member, model, tmp_path
):
    predictor, run = model
    _predict(ctx, engine, run, ["A", "B", "C"], "true")
    _predict(ctx, engine, run, ["A"], "false")
    dataset, _ = upload_dataset(engine, ctx, member, tmp_path, b"CustomerID,Churn\nA,true\nB,false\nZ,true\n")
    report = _send(engine, ctx, member, predictor.id, dataset_id=dataset.id)
    assert (report.received, report.matched) == (3, 3)  # A twice, B once; Z was never predicted
    assert report.versions[0].metrics["accuracy"] == pytest.approx(1 / 3)

    other, _ = upload_dataset(engine, ctx, member, tmp_path, b"CustomerID,Score\nA,1\n")
    with pytest.raises(Invalid, match="lacks the model's column"):
        _send(engine, ctx, member, predictor.id, dataset_id=other.id)


def test_a_regression_is_measured_by_its_errors(engine, ctx, member):
    with session_scope(engine) as session:
        model = draft_model(session, member, task="regression")
        roles = [{**c, "data_type": "Float"} if c["attribute"] == "Target" else c for c in COLUMNS]
        run = add_version(
            session, model, columns=roles, problem_type="Regression", metrics={"rmse": 1.0, "r2": 0.9}
        )
        session.expunge_all()
    ids = _predict(ctx, engine, run, ["A", "B"], 2.0)
    report = _send(engine, ctx, member, model.id, labels=[{"capture_id": ids[0], "label": 4}])
    version = report.versions[0]
    assert report.metric == LiveMetric.R2 and version.metrics["rmse"] == pytest.approx(2.0)
    assert version.drop["rmse"] == pytest.approx(1.0)  # worse: larger
    with pytest.raises(Invalid, match="not a number"):
        _send(engine, ctx, member, model.id, labels=[{"capture_id": ids[1], "label": "high"}])
    with session_scope(engine) as session, pytest.raises(Invalid, match="does not measure"):
        registry.update_model(
            session=session,
            principal=member,
            model_id=model.id,
            data=ModelUpdate(feedback=FeedbackSettings(metric=LiveMetric.ACCURACY)),
        )


def test_rows_captured_before_they_were_numbered_are_unmatched(engine, ctx, member, model):
    predictor, run = model
    ids = _predict(ctx, engine, run, ["A"], "true")
    table = capture.open_table(ctx, engine, capture.model_version(run), capture.model_version(run).inputs)
    assert "_row" in {f.name for f in table.schema().fields}
    old = capture.read_captured(ctx, predictor.id).with_columns(
        pl.lit("old-call", pl.String).alias("_request_id"), pl.lit(None, pl.Int32).alias("_row")
    )
    capture.append(table, [old])
    report = _send(engine, ctx, member, predictor.id, labels=[{"capture_id": "old-call.0", "label": True}])
    assert report.matched == 0 and report.unmatched == ["old-call.0"]
    assert _send(engine, ctx, member, predictor.id, labels=[{"capture_id": ids[0], "label": 1}]).matched == 1


def test_another_tenant_cannot_send_or_read_feedback(engine, settings, ctx, member, model):
    predictor, run = model
    ids = _predict(ctx, engine, run, ["A"], "true")
    outsider = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["admin"])
    with pytest.raises(NotFound):
        _send(engine, ctx, outsider, predictor.id, labels=[{"capture_id": ids[0], "label": True}])
    with session_scope(engine) as session, pytest.raises(NotFound):
        feedback.report(
            session=session, ctx=ctx, principal=outsider, model_id=predictor.id, since=None, until=None
        )
