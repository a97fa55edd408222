"""Drift checks on both backends, without Ray: a version's baseline from its training rows, captured
predictions written to the prediction log's contract. Predictions from a population shifted on one input
drift on that input only; the scheduled check then marks the model degraded with ``drift.detected``;
predictions from the training population raise nothing; another tenant sees none of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from raylake.core.vocabulary import DriftStatus, EventType, JobStatus, ModelStatus
from raylake.platform import callbacks
from raylake.platform.clock import utcnow
from raylake.platform.db import session_scope
from raylake.platform.errors import Conflict, Invalid, NotFound, Unauthorized
from raylake.platform.events.models import Event
from raylake.platform.jobs import RayJobs
from raylake.platform.monitoring import drift, drift_reader, drift_schedule
from raylake.platform.monitoring.drift_models import DriftReport
from raylake.platform.registry import service as registry
from raylake.platform.registry.models import Predictor
from raylake.schemas.drift import DriftJobResult, DriftSettings
from raylake.schemas.registry import ModelUpdate
from raylake.train_jobs import drift as drift_job
from tests.factories import add_version, create_tenant, create_user, draft_model
from tests.platform.monitoring.drift_data import (
    ROLES,
    capture,
    capture_table,
    population,
    trained_version,
)


@pytest.fixture
def jobs(settings):
    return RayJobs.from_settings(settings)  # built, never called: every window here is small


def _watched(engine, ctx, member, *, shift: int, **drift_settings):
    """A trained model with drift enabled and 2,000 captured predictions from the last hour."""
    with session_scope(engine) as session:
        model, run = trained_version(session, ctx, member)
        registry.update_model(
            session=session,
            principal=member,
            model_id=model.id,
            data=ModelUpdate(drift=DriftSettings(enabled=True, window="2h", **drift_settings)),
        )
    capture(capture_table(ctx, model.id), run, population(2_000, seed=2, tenure_shift=shift), at=utcnow())
    return model.id, run.id


def _events(engine, tenant_id: str, model_id: int) -> list[Event]:
    with session_scope(engine) as session:
        found = session.exec(
            select(Event).where(Event.tenant_id == tenant_id, Event.type == EventType.DRIFT_DETECTED)
        ).all()
    return [e for e in found if e.payload["model_id"] == model_id]


def test_a_shift_on_one_input_drifts_it_alone_and_the_schedule_degrades_the_model(
    engine, settings, ctx, member, jobs
):
    shifted, shifted_run = _watched(engine, ctx, member, shift=30)
    steady, _ = _watched(engine, ctx, member, shift=0)

    with session_scope(engine) as session:  # asked for: a report, the model left as it is
        report = drift.check_window(
            session=session,
            settings=settings,
            ctx=ctx,
            jobs=jobs,
            principal=member,
            model_id=shifted,
            window=None,
            version=None,
        )
        shown = drift.public(session, report)
    assert shown.status == DriftStatus.DRIFT and shown.drifted == ["tenure"] and shown.rows == 2_000
    tenure = next(c for c in shown.columns if c.name == "tenure")
    assert tenure.method == "psi" and tenure.score > 0.2 and tenure.threshold == 0.2
    assert shown.prediction is not None and not shown.prediction.drifted  # the label ignores tenure
    assert shown.version == "v1" and shown.job_status == JobStatus.COMPLETED and not shown.scheduled
    assert _events(engine, member.tenant_id, shifted) == []

    assert drift_schedule.run_due(engine, settings, ctx, jobs) >= 2
    with session_scope(engine) as session:
        assert session.get(Predictor, shifted).status == ModelStatus.DEGRADED
        assert session.get(Predictor, steady).status == ModelStatus.TRAINED
        assert session.get(Predictor, shifted).drift_next_at > utcnow() + timedelta(minutes=30)
        scheduled = session.exec(
            select(DriftReport).where(col(DriftReport.model_id).in_([shifted, steady]), DriftReport.scheduled)
        ).all()
    assert sorted((r.model_id, r.drift_status) for r in scheduled) == [
        (shifted, DriftStatus.DRIFT),
        (steady, DriftStatus.OK),
    ]
    (event,) = _events(engine, member.tenant_id, shifted)
    assert event.payload["features"] == ["tenure"] and event.payload["method"] == "psi"
    assert event.payload["scores"]["tenure"] > 0.2 and event.payload["train_id"] == shifted_run
    assert _events(engine, member.tenant_id, steady) == []
    # claimed: not due again before the interval
    with session_scope(engine) as session:
        assert not {shifted, steady} & set(drift_schedule.claim_due(session, interval_s=60))
    # due again while the drift lasts: checked and reported, but the event is not repeated
    with session_scope(engine) as session:
        session.get(Predictor, shifted).drift_next_at = utcnow() - timedelta(seconds=1)
    assert drift_schedule.run_due(engine, settings, ctx, jobs) >= 1
    with session_scope(engine) as session:
        again = session.exec(
            select(DriftReport.drift_status).where(DriftReport.model_id == shifted, DriftReport.scheduled)
        ).all()
    assert again == [DriftStatus.DRIFT, DriftStatus.DRIFT]
    assert len(_events(engine, member.tenant_id, shifted)) == 1


def test_each_method_finds_the_shifted_input(engine, settings, ctx, member, jobs):
    model_id, _ = _watched(engine, ctx, member, shift=30, method="ks")
    with session_scope(engine) as session:
        for method in ("ks", "js", "chi2"):
            registry.update_model(
                session=session,
                principal=member,
                model_id=model_id,
                data=ModelUpdate(drift=DriftSettings(enabled=True, window="2h", method=method)),
            )
            report = drift.check_window(
                session=session,
                settings=settings,
                ctx=ctx,
                jobs=jobs,
                principal=member,
                model_id=model_id,
                window="1h",
                version="v1",
            )
            shown = drift.public(session, report)
            assert shown.method == method and shown.drifted == ["tenure"], method
            # plan is categorical: KS tests it by chi-square
            plan = next(c for c in shown.columns if c.name == "plan")
            assert plan.method == ("chi2" if method == "ks" else method)


def test_too_few_rows_is_insufficient_data_and_no_baseline_is_422(engine, settings, ctx, member, jobs):
    model_id, _ = _watched(engine, ctx, member, shift=30, min_rows=5_000)
    with session_scope(engine) as session:
        report = drift.check_window(
            session=session,
            settings=settings,
            ctx=ctx,
            jobs=jobs,
            principal=member,
            model_id=model_id,
            window="2h",
            version=None,
        )
        assert report.drift_status == DriftStatus.INSUFFICIENT_DATA and report.rows == 2_000
        empty = drift.check_window(  # a window before anything was captured
            session=session,
            settings=settings,
            ctx=ctx,
            jobs=jobs,
            principal=member,
            model_id=model_id,
            window="1s",
            version=None,
        )
        assert empty.rows == 0 and empty.drift_status == DriftStatus.INSUFFICIENT_DATA
        bare = draft_model(session, member)
        add_version(session, bare, columns=ROLES, problem_type="Classification")
        with pytest.raises(Invalid, match="no drift baseline"):
            drift.check_window(
                session=session,
                settings=settings,
                ctx=ctx,
                jobs=jobs,
                principal=member,
                model_id=bare.id,
                window="1h",
                version=None,
            )
        with pytest.raises(Invalid, match="window"):
            drift.check_window(
                session=session,
                settings=settings,
                ctx=ctx,
                jobs=jobs,
                principal=member,
                model_id=model_id,
                window="soon",
                version=None,
            )
        with pytest.raises(Conflict):
            drift.check_window(
                session=session,
                settings=settings,
                ctx=ctx,
                jobs=jobs,
                principal=member,
                model_id=draft_model(session, member).id,
                window="1h",
                version=None,
            )


def test_a_large_windows_job_reports_through_its_callback(engine, settings, ctx, member):
    """What the Ray job runs (its measure) and how its result is kept: the job's own token, then the
    scheduled check's consequences."""
    model_id, run_id = _watched(engine, ctx, member, shift=30)
    secret, secret_hash = callbacks.new_secret()
    now = utcnow()
    with session_scope(engine) as session:
        report = DriftReport(
            tenant_id=member.tenant_id,
            model_id=model_id,
            train_id=run_id,
            method="psi",
            min_rows=100,
            window_start=now - timedelta(hours=2),
            window_end=now,
            scheduled=True,
            status=JobStatus.RUNNING,
            callback_secret_hash=secret_hash,
            created_by="drift-scheduler",
        )
        session.add(report)
    source = drift_reader.captured(ctx, report)
    assert source.estimate_rows() >= 2_000  # from the manifests: what decides in-process or a job
    result = drift_job.measure(settings, engine, report)
    with session_scope(engine) as session, pytest.raises(Unauthorized):
        drift.record(
            session=session,
            settings=settings,
            token="guess",
            body=DriftJobResult(report_id=report.id, result=result),
        )
    with session_scope(engine) as session:
        drift.record(
            session=session,
            settings=settings,
            token=secret,
            body=DriftJobResult(report_id=report.id, result=result),
        )
    with session_scope(engine) as session:
        kept = session.get(DriftReport, report.id)
        assert kept.status == JobStatus.COMPLETED and kept.scores["drifted"] == ["tenure"]
        assert session.get(Predictor, model_id).status == ModelStatus.DEGRADED
    assert len(_events(engine, member.tenant_id, model_id)) == 1


def test_another_tenant_sees_no_drift(engine, settings, ctx, member, jobs):
    model_id, _ = _watched(engine, ctx, member, shift=0)
    stranger = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])
    with session_scope(engine) as session:
        report = drift.check_window(
            session=session,
            settings=settings,
            ctx=ctx,
            jobs=jobs,
            principal=member,
            model_id=model_id,
            window=None,
            version=None,
        )
        with pytest.raises(NotFound):
            drift.check_window(
                session=session,
                settings=settings,
                ctx=ctx,
                jobs=jobs,
                principal=stranger,
                model_id=model_id,
                window=None,
                version=None,
            )
        with pytest.raises(NotFound):
            drift.list_reports(session=session, principal=stranger, model_id=model_id, limit=10, offset=0)
        with pytest.raises(NotFound):
            drift.get_report(
                session=session, jobs=None, principal=stranger, model_id=model_id, report_id=report.id
            )
        with pytest.raises(NotFound):
            drift.read_baseline(session=session, ctx=ctx, principal=stranger, model_id=model_id, version=None)
