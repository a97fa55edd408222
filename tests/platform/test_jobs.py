"""A job's row never waits forever for its job (platform/jobs.py ``reconcile``): one its job has not
started within ``job_start_timeout_s`` of submission ends ``failed`` with the reason, whether the cluster
does not answer or Ray holds the job without it ever starting the row."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from raylake.platform.clock import utcnow
from raylake.platform.db import session_scope
from raylake.platform.errors import ServiceUnavailable
from raylake.platform.inference.models import Prediction
from raylake.platform.jobs import RAY_ENDED, RayJobs, reconcile
from tests.factories import create_tenant
from tests.ray_cluster import free_port

TIMEOUT_S = 30.0


def _row(engine, tenant: str, *, ray_job_id: str, age_s: float, status: str = "submitted_to_ray") -> int:
    with session_scope(engine) as session:
        row = Prediction(
            tenant_id=tenant,
            predictor_name="p",
            problem_type="Classification",
            domain_name="d",
            prediction_type="batch",
            status=status,
            ray_job_id=ray_job_id,
            created_by="u",
            created_at=utcnow() - timedelta(seconds=age_s),
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def _reconcile(engine, jobs: RayJobs, row_id: int) -> Prediction:
    with session_scope(engine) as session:
        row = reconcile(session, jobs, session.get(Prediction, row_id))
        session.expunge(row)
        return row


def test_a_row_whose_cluster_does_not_answer_fails_after_the_start_timeout(engine):
    tenant = create_tenant(engine)
    unreachable = RayJobs(
        dashboard_url=f"http://127.0.0.1:{free_port()}", token="t", start_timeout_s=TIMEOUT_S
    )
    overdue = _row(engine, tenant, ray_job_id="raysubmit_gone", age_s=TIMEOUT_S + 5)
    fresh = _row(engine, tenant, ray_job_id="raysubmit_fresh", age_s=1)
    started = _row(engine, tenant, ray_job_id="raysubmit_busy", age_s=TIMEOUT_S + 5, status="running")

    ended = _reconcile(engine, unreachable, overdue)
    assert ended.status == "failed" and ended.finished_at is not None
    assert "did not start within 30 s" in (ended.error or "")
    assert "does not answer" in (ended.error or "")
    # Within the timeout, or once its job started it, an unanswering cluster is the caller's 503.
    for row_id in (fresh, started):
        with pytest.raises(ServiceUnavailable):
            _reconcile(engine, unreachable, row_id)
    with session_scope(engine) as session:
        assert session.get(Prediction, fresh).status == "submitted_to_ray"
        assert session.get(Prediction, started).status == "running"


def test_a_row_its_running_job_never_starts_fails_and_the_job_is_stopped(engine, settings, ray_cluster):
    """The job runs (as a standby handed a run it cannot start would), but never claims its row."""
    if not settings.is_sqlite:
        pytest.skip("Ray behaviour, independent of the metadata backend: run on the SQLite pass")
    jobs = RayJobs(
        dashboard_url=ray_cluster.dashboard_url, token=ray_cluster.token, start_timeout_s=TIMEOUT_S
    )
    job_id = jobs.submit(
        entrypoint="python -c 'import time; time.sleep(300)'", metadata={"raylake_kind": "test"}, num_cpus=0
    )
    tenant = create_tenant(engine)
    waiting = _row(engine, tenant, ray_job_id=job_id, age_s=TIMEOUT_S + 5)
    fresh = _row(engine, tenant, ray_job_id=job_id, age_s=1)

    assert _reconcile(engine, jobs, fresh).status == "submitted_to_ray"
    ended = _reconcile(engine, jobs, waiting)
    assert ended.status == "failed"
    assert "did not start within 30 s" in (ended.error or "") and job_id in (ended.error or "")
    deadline = time.monotonic() + 60
    while (status := jobs.info(job_id).status) not in RAY_ENDED:
        assert time.monotonic() < deadline, "the job was not stopped"
        time.sleep(0.5)
    assert status == "STOPPED"
