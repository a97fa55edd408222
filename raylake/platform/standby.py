"""Warm training jobs: a Ray job started ahead of time, its imports done, waiting to be handed a run.

A training job spends its first seconds on things no run needs to wait for: Ray starting the job's
supervisor and the entrypoint's interpreter, and the entrypoint importing polars, LightGBM, pyiceberg,
SQLAlchemy and scikit-learn (about 10 s of a 1,000-series forecast's 48 s on a 2-core VM). The API keeps
``train_standby`` such jobs waiting (``python -m raylake.train_jobs.standby``); a new run is handed to
one by a single conditional UPDATE of its row here, and only when none is ready does the API submit a
job of its own, as before.

Each standby runs exactly one run and exits, so runs never share a process (nothing of one tenant's run
is left in memory for the next), and the run's ``ray_job_id`` is the standby's job: stopping, listing
and reconciling it work as for any other run. A standby holds no CPUs while it waits; once handed a run
it reserves the CPUs the run would have asked Ray for (a placement group on its own node).

Rows: the API writes one when it submits a standby (``ready_at`` empty); the standby sets ``ready_at``
when its imports are done and ``heartbeat_at`` every HEARTBEAT_S; a run is handed over by setting
``claimed_id``, and the standby deletes its row once it has read it. Rows whose job went quiet are
pruned; a standby whose row is gone exits. A run handed to a standby that never starts it is failed by
``jobs.reconcile`` after ``job_start_timeout_s``, like any run whose job does not start.

A standby is started with a callback secret of its own (``callback_secret``), and a run handed to it
takes that secret's hash: the standby reports the run's result the way any job reports its own, and no
Ray process needs the platform's secret key in its environment.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlmodel import Field, Session, SQLModel, col, select

from raylake.platform import callbacks
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.errors import ServiceUnavailable
from raylake.platform.jobs import RayJobs, job_environment

log = logging.getLogger(__name__)

ENTRYPOINT = "python -m raylake.train_jobs.standby --standby-id {id}"
TRAIN = "train"
HEARTBEAT_S = 2.0
# A ready standby not heard from for this long is taken for dead: never handed a run, and pruned.
FRESH_S = 10.0
# How long a standby may take from submission to ready (the supervisor, the interpreter, the imports,
# ray.init) before its row is pruned as a start that failed.
WARMUP_S = 180.0


class JobStandby(SQLModel, table=True):
    __tablename__ = "job_standbys"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=TRAIN, max_length=16)
    ray_job_id: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    ready_at: datetime | None = None
    heartbeat_at: datetime = Field(default_factory=utcnow)
    # The row (a training run's id) this standby has been handed; set once, by ``claim``.
    claimed_id: int | None = None


def claim(session: Session, row_id: int, *, kind: str = TRAIN) -> str | None:
    """Hand ``row_id`` to a ready standby: its Ray job id, or None when none is ready.

    One UPDATE that only succeeds on a row nobody has claimed: two API replicas racing for the same
    standby get it once (SQLite serialises writers; PostgreSQL re-checks the condition after the first
    commit), and the loser falls back to submitting a job."""
    fresh = utcnow() - timedelta(seconds=FRESH_S)
    candidate = (
        select(JobStandby.id)
        .where(
            JobStandby.kind == kind,
            col(JobStandby.claimed_id).is_(None),
            col(JobStandby.ready_at).is_not(None),
            JobStandby.heartbeat_at > fresh,
        )
        .order_by(col(JobStandby.id))
        .limit(1)
        .scalar_subquery()
    )
    handed = session.execute(
        update(JobStandby)
        .where(col(JobStandby.id) == candidate, col(JobStandby.claimed_id).is_(None))
        .values(claimed_id=row_id)
        .returning(col(JobStandby.ray_job_id))
    ).first()
    return handed[0] if handed else None


def callback_secret(settings: Settings, ray_job_id: str) -> str:
    """The secret a standby reports its run's result with: derived from its (unique) Ray job id under the
    platform's key, so the API can give it at submission and recognise it at hand-over without storing it."""
    return callbacks.internal_token(settings, "standby", ray_job_id)


def hand_over(session: Session, settings: Settings, run: Any) -> str | None:
    """Hand a training run to a ready standby (``claim``): its Ray job id, or None when none is ready.
    The run then accepts the result the standby posts with the secret it was started with."""
    handed = claim(session, run.id)
    if handed is not None:
        run.callback_secret_hash = callbacks.digest(callback_secret(settings, handed))
    return handed


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget standbys that went quiet (a dead job), never became ready (a failed start), or were handed
    a run and died before reading it (a standby deletes its row as soon as it has its run)."""
    now = now or utcnow()
    quiet_since, started_before = now - timedelta(seconds=FRESH_S), now - timedelta(seconds=WARMUP_S)
    unclaimed = col(JobStandby.claimed_id).is_(None)
    quiet = unclaimed & col(JobStandby.ready_at).is_not(None) & (JobStandby.heartbeat_at < quiet_since)
    stuck = unclaimed & col(JobStandby.ready_at).is_(None) & (JobStandby.created_at < started_before)
    orphaned = col(JobStandby.claimed_id).is_not(None) & (JobStandby.heartbeat_at < started_before)
    gone = session.exec(delete(JobStandby).where(quiet | stuck | orphaned))
    return int(gone.rowcount or 0)


def waiting(session: Session, *, kind: str = TRAIN) -> int:
    """Standbys that will take a run: ready or still warming up, not yet handed one."""
    rows = session.exec(
        select(JobStandby.id).where(JobStandby.kind == kind, col(JobStandby.claimed_id).is_(None))
    ).all()
    return len(rows)


def refill(session: Session, jobs: RayJobs, settings: Settings) -> int:
    """Submit standbys until ``train_standby`` are waiting; how many were submitted. Best effort: a
    cluster that refuses a submission only means the next run starts a job of its own."""
    if settings.train_standby <= 0:
        return 0
    prune(session)
    started = 0
    for _ in range(settings.train_standby - waiting(session)):
        submission_id = f"raylake-standby-{uuid.uuid4().hex[:12]}"
        row = JobStandby(ray_job_id=submission_id)
        session.add(row)
        session.flush()
        try:
            jobs.submit(
                entrypoint=ENTRYPOINT.format(id=row.id),
                metadata={"raylake_kind": "standby"},
                # The standby's own callback secret (a run handed to it takes its hash); the CPUs a run
                # reserves and how long to wait for one are the API's to say.
                env_vars={
                    **job_environment(settings),
                    callbacks.ENV_VAR: callback_secret(settings, submission_id),
                    "RAYLAKE_TRAIN_CPUS": str(settings.train_cpus),
                    "RAYLAKE_STANDBY_IDLE_S": str(settings.standby_idle_s),
                },
                num_cpus=0,
                submission_id=submission_id,
            )
        except ServiceUnavailable:
            session.delete(row)
            log.warning("could not start a standby training job; runs start their own jobs meanwhile")
            break
        started += 1
    return started


def refill_in_background(engine: Engine, jobs: RayJobs, settings: Settings) -> None:
    """At API start: warm the first standby without holding up the replica's start."""
    if settings.train_standby <= 0:
        return

    def fill() -> None:
        """Start the standby jobs, logging (not raising) when the cluster or store is not up yet."""
        try:
            with session_scope(engine) as session:
                refill(session, jobs, settings)
        except Exception:  # the cluster or the store is not up yet: the first run refills
            log.warning("no standby training job at start", exc_info=True)

    threading.Thread(target=fill, name="standby-refill", daemon=True).start()
