"""Warm training jobs on the real cluster: a standby started ahead of time takes the next run (the run's
Ray job is the standby's), trains it like any job and exits; one nobody hands a run to leaves by itself.

The API session runs with ``train_standby=0`` (every other test's run starts its own job): these tests
start their standbys themselves, the way the API refills, and the API hands runs to whatever is ready."""

from __future__ import annotations

import time

from sqlmodel import select

from raylake.platform.db import session_scope
from raylake.platform.jobs import RayJobs
from raylake.platform.standby import JobStandby, claim, refill, waiting
from tests.api.conftest import once_per_session
from tests.api.test_forecast_api import sales_csv, training_body
from tests.api.test_training_api import upload, wait_for


def _start_standby(api, idle_s: float) -> str:
    """One more standby, the way the API refills (asking for one more than are waiting)."""
    with session_scope(api.engine) as session:
        wanted = {"train_standby": waiting(session) + 1, "standby_idle_s": idle_s}
        settings = api.settings.model_copy(update=wanted)
        assert refill(session, RayJobs.from_settings(settings), settings) == 1
        return session.exec(select(JobStandby.ray_job_id).order_by(JobStandby.id.desc())).first()


def _standby(api, ray_job_id: str) -> JobStandby | None:
    with session_scope(api.engine) as session:
        return session.exec(select(JobStandby).where(JobStandby.ray_job_id == ray_job_id)).first()


def _until(check, timeout: float = 180, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def _job_status(api, ray_job_id: str) -> str:
    return RayJobs.from_settings(api.settings).info(ray_job_id).status


def test_a_ready_standby_trains_the_next_run_and_an_idle_one_leaves(api):
    """Two standbys warm side by side (one job start's wait for both checks): the older one is handed
    the run; the other, given a second of patience, leaves by itself."""
    once_per_session(api)
    tenant = api.new_tenant()
    _, headers = api.new_user(tenant, ["data_scientist"])
    dataset_id = upload(api, headers, sales_csv())
    job_id = _start_standby(api, idle_s=600)
    idle_id = _start_standby(api, idle_s=1)
    _until(
        lambda: (row := _standby(api, job_id)) is not None and row.ready_at is not None, what="never ready"
    )

    resp = api.client.post("/api/v1/train/", json=training_body(dataset_id, "warm-"), headers=headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["ray_job_id"] == job_id  # handed to the (older) standby: no job of its own
    run = wait_for(api, headers, resp.json()["id"])
    assert run["train_status"] == "completed", run["error"]
    assert run["metrics"]["mase"] > 0
    _until(lambda: _job_status(api, job_id) == "SUCCEEDED", what="the standby did not exit after its run")
    assert _standby(api, job_id) is None

    _until(lambda: _standby(api, idle_id) is None, what="the idle standby kept its row")
    _until(lambda: _job_status(api, idle_id) == "SUCCEEDED", what="the idle standby did not exit cleanly")

    # Each left: nothing is waiting now (this API keeps none), so the next run submits its own job.
    with session_scope(api.engine) as session:
        assert waiting(session) == 0
        assert claim(session, run["id"]) is None
