"""Batches run by a model replica hold a lease on their row: a replica that dies mid-batch (or never
starts it) leaves a row that readers fail, not one stuck in "running"."""

from __future__ import annotations

import time
from datetime import timedelta

from raylake.platform.clock import utcnow
from raylake.platform.db import session_scope
from raylake.platform.inference import service
from raylake.platform.inference.models import Prediction
from raylake.platform.jobs import LEASE_S
from raylake.train_jobs import runtime
from tests.factories import create_tenant, create_user


def _batch(engine, tenant: str, *, age_s: float, ray_job_id: str | None = None) -> int:
    with session_scope(engine) as session:
        row = Prediction(
            tenant_id=tenant,
            predictor_name="p",
            problem_type="Classification",
            domain_name="d",
            prediction_type="batch",
            status="running",
            stage="predicting",
            ray_job_id=ray_job_id,
            created_by="u",
            updated_at=utcnow() - timedelta(seconds=age_s),
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def _read(engine, principal, prediction_id: int) -> Prediction:
    with session_scope(engine) as session:
        row = service.get_prediction(
            session=session, jobs=None, principal=principal, prediction_id=prediction_id
        )  # type: ignore[arg-type]
        session.expunge(row)
        return row


def test_a_lapsed_lease_fails_the_row_and_a_live_one_does_not(engine, settings):
    tenant = create_tenant(engine)
    member = create_user(engine, settings, tenant_id=tenant, roles=["data_scientist"])
    live = _batch(engine, tenant, age_s=1)
    dead = _batch(engine, tenant, age_s=LEASE_S + 5)
    assert _read(engine, member, live).status == "running"
    ended = _read(engine, member, dead)
    assert ended.status == "failed" and "stopped reporting" in (ended.error or "")
    assert ended.finished_at is not None


def test_the_lease_renews_the_row_while_work_runs(engine, settings, monkeypatch):
    tenant = create_tenant(engine)
    member = create_user(engine, settings, tenant_id=tenant, roles=["data_scientist"])
    prediction_id = _batch(engine, tenant, age_s=LEASE_S - 1)
    monkeypatch.setattr(runtime, "LEASE_RENEW_S", 0.05)
    with runtime.lease(engine, Prediction, prediction_id):
        time.sleep(0.5)
    assert _read(engine, member, prediction_id).status == "running"


def test_fail_batch_ends_only_unfinished_rows(engine, settings):
    tenant = create_tenant(engine)
    prediction_id = _batch(engine, tenant, age_s=0)
    with session_scope(engine) as session:
        service.fail_batch(session, prediction_id, "the model replica could not finish it: died")
    with session_scope(engine) as session:
        row = session.get(Prediction, prediction_id)
        assert row is not None and row.status == "failed" and row.error and "died" in row.error
        row.status, row.error = "completed", None
        session.add(row)
    with session_scope(engine) as session:
        service.fail_batch(session, prediction_id, "late")
    with session_scope(engine) as session:
        row = session.get(Prediction, prediction_id)
        assert row is not None and row.status == "completed"


def test_the_api_fails_the_row_when_the_replica_call_fails():
    """What the API replica does when the model replica running a batch dies: the row fails at once
    (killing the replica mid-way through a million-row batch failed its row within a second)."""
    import asyncio

    from raylake.platform.inference.gateway import ServeGateway

    reasons: list[str] = []

    async def died() -> None:
        raise RuntimeError("The actor abc is unavailable: Actor is unavailable.")

    async def finished() -> None:
        return None

    asyncio.run(ServeGateway._watch(died(), 7, reasons.append))
    asyncio.run(ServeGateway._watch(finished(), 8, reasons.append))
    assert reasons == [
        "the model replica could not finish it: The actor abc is unavailable: Actor is unavailable."
    ]


def test_a_job_write_leaves_an_ended_row_ended(engine):
    """A job that claimed its row just before reconciliation (or its user) ended it cannot revive it."""
    tenant = create_tenant(engine)
    row_id = _batch(engine, tenant, age_s=0)
    runtime.update(engine, Prediction, row_id, status="failed", stage="failed", error="ended elsewhere")
    runtime.update(engine, Prediction, row_id, status="running", stage="predicting", percent=50)
    with session_scope(engine) as session:
        row = session.get(Prediction, row_id)
        assert row is not None and (row.status, row.stage, row.error) == (
            "failed",
            "failed",
            "ended elsewhere",
        )
