"""Runs trained inside a Ray job a notebook submitted (``ray job submit … -- python -m
raylake.train_jobs.submit``): the job asks the API for its run with an API key, so tenant walls and
permissions hold, and the API hands the run to that job instead of submitting one of its own.

What the job needs to train like any platform job (the settings jobs read, the run's callback secret)
goes to it through Ray's internal key-value store, under the job's submission id: only processes of
the cluster can read it, the same boundary as a platform job's ``runtime_env`` (whoever holds the
cluster token can run code on it anyway). Nothing of it is in the HTTP answer, so an API key alone,
outside the cluster, gets the run's id and nothing else. The API checks that the named job is
running, is the submit entrypoint, and trains no other run.
"""

from __future__ import annotations

import json

from sqlmodel import Session, select

from raylake.core.layout import HANDOFF_NAMESPACE, handoff_key
from raylake.platform.errors import Conflict, Invalid, ServiceUnavailable
from raylake.platform.jobs import JobGone, RayJobs
from raylake.platform.training.models import TrainingRun

ENTRYPOINT = "raylake.train_jobs.submit"


def check_job(session: Session, jobs: RayJobs, submission_id: str) -> None:
    """The named Ray job may take a run: it exists, has not ended, runs the submit entrypoint, and
    trains no other run (422 or 409 otherwise)."""
    try:
        info = jobs.info(submission_id)
    except JobGone:
        raise Invalid(f"Ray job {submission_id!r} does not exist") from None
    if info.status not in ("PENDING", "RUNNING"):
        raise Invalid(f"Ray job {submission_id!r} is {info.status}: it cannot train a run")
    if ENTRYPOINT not in (info.entrypoint or ""):
        raise Invalid(f"Ray job {submission_id!r} is not `python -m {ENTRYPOINT}`")
    taken = session.exec(select(TrainingRun.id).where(TrainingRun.ray_job_id == submission_id)).first()
    if taken is not None:
        raise Conflict(f"Ray job {submission_id!r} already trains run {taken}")


def offer(submission_id: str, train_id: int, env: dict[str, str]) -> None:
    """Leave the run and what training it needs for the job, in the cluster's key-value store."""
    import ray
    from ray.experimental import internal_kv

    if not ray.is_initialized():
        raise ServiceUnavailable("This API replica is not part of the Ray cluster: it cannot hand a run over")
    payload = json.dumps({"train_id": train_id, "env": env}).encode()
    internal_kv._internal_kv_put(
        handoff_key(submission_id), payload, overwrite=True, namespace=HANDOFF_NAMESPACE
    )
