"""The one way the platform submits, watches and stops Ray jobs: the Ray Jobs API on the dashboard.

Going through the Jobs API (not ``ray.remote`` from the API replica) keeps long work out of the API
process, makes every job visible and stoppable in the Ray dashboard, and is the same path a notebook
uses with ``ray job submit``. The cluster's auth token travels in the Authorization header.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import Session

from raylake.core.vocabulary import FINAL, UNSTARTED, JobStatus
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.errors import ServiceUnavailable
from raylake.platform.registry import lifecycle
from raylake.platform.training.models import TrainingRun

log = logging.getLogger(__name__)
PING_TTL_S = 2.0
# A running job's status is remembered this long: every status read reconciles with Ray, and clients
# polling many times a second must not keep the dashboard (and the CPU the job needs) busy.
INFO_TTL_S = 2.0
STOP_RETRY_S = 10.0
# Settings a job needs, passed as environment of the job (read by the job's main(), never at import).
# Anyone holding the cluster token can read a job's runtime_env; they can run code on the cluster anyway.
JOB_SETTINGS = ("data_dir", "database_url", "lake_warehouse", "file_store")
# Ray's own limit for a job pending start (RAY_JOB_START_TIMEOUT_SECONDS), and Settings' default.
START_TIMEOUT_S = 900.0
RAY_ENDED = frozenset({"FAILED", "STOPPED", "SUCCEEDED"})
# Work run outside a Ray job (a batch inside a model replica) renews a lease on its row this often; a
# row not renewed for LEASE_S has lost its worker (the replica died or was replaced).
LEASE_RENEW_S = 5.0
LEASE_S = 60.0


def job_environment(settings: Settings) -> dict[str, str]:
    """The environment a Ray job needs: the settings jobs read and the URL to post results to."""
    env = {f"RAYLAKE_{name.upper()}": str(getattr(settings, name)) for name in JOB_SETTINGS}
    # Where the job posts its result: the API that submitted it (``api_url`` reads ``callback_url`` first).
    env["RAYLAKE_CALLBACK_URL"] = settings.api_url
    return {key: value for key, value in env.items() if value}


class JobGone(LookupError):
    """Ray has no record of the job (the cluster was restarted, or the id is not Ray's)."""


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    status: str
    message: str | None
    metadata: dict[str, str]
    entrypoint: str | None = None


class RayJobs:
    def __init__(self, *, dashboard_url: str, token: str, start_timeout_s: float = START_TIMEOUT_S) -> None:
        self._url = dashboard_url.rstrip("/")
        # How long a submitted row may wait for its job to start it (``reconcile``).
        self.start_timeout_s = start_timeout_s
        self._headers = {"Authorization": f"Bearer {token}"}
        self._client: Any = None
        self._lock = threading.Lock()
        self._ping_at = 0.0
        self._ping_ok = False
        self._info: dict[str, tuple[float, JobInfo]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> RayJobs:
        """A client of the cluster's Jobs API as the settings configure it."""
        return cls(
            dashboard_url=settings.ray_dashboard_url,
            token=settings.ray_token(),
            start_timeout_s=settings.job_start_timeout_s,
        )

    def ping(self) -> bool:
        """Whether the Jobs API answers; remembered for a couple of seconds so health checks stay cheap."""
        now = time.monotonic()
        if now - self._ping_at < PING_TTL_S:
            return self._ping_ok
        try:
            resp = httpx.get(f"{self._url}/api/version", headers=self._headers, timeout=2.0)
            ok = resp.status_code == 200
        except httpx.HTTPError:
            ok = False
        self._ping_at, self._ping_ok = now, ok
        return ok

    def _sdk(self) -> Any:
        with self._lock:
            if self._client is None:
                from ray.job_submission import JobSubmissionClient

                try:
                    self._client = JobSubmissionClient(self._url, headers=self._headers)
                except Exception as exc:  # the cluster is down or refuses our token
                    raise ServiceUnavailable("The Ray cluster is not reachable") from exc
            return self._client

    def submit(
        self,
        *,
        entrypoint: str,
        metadata: dict[str, str],
        env_vars: dict[str, str] | None = None,
        num_cpus: float = 1,
        submission_id: str | None = None,
    ) -> str:
        """Submit a job to Ray; its job id (ServiceUnavailable when Ray cannot take it)."""
        try:
            return self._sdk().submit_job(
                entrypoint=entrypoint,
                metadata=metadata,
                runtime_env={"env_vars": env_vars or {}},
                entrypoint_num_cpus=num_cpus,
                submission_id=submission_id,
            )
        except ServiceUnavailable:
            raise
        except Exception as exc:
            log.exception("submitting a Ray job failed")
            raise ServiceUnavailable(f"Could not submit the Ray job: {type(exc).__name__}") from exc

    def info(self, job_id: str) -> JobInfo:
        """A job's status on Ray, cached for a moment."""
        cached = self._info.get(job_id)
        if cached is not None and time.monotonic() - cached[0] < INFO_TTL_S:
            return cached[1]
        try:
            details = self._sdk().get_job_info(job_id)
        except ServiceUnavailable:
            raise
        except Exception as exc:
            if "404" in str(exc) or "does not exist" in str(exc):
                raise JobGone(job_id) from exc
            raise ServiceUnavailable(f"Could not read Ray job status: {type(exc).__name__}") from exc
        info = JobInfo(
            job_id=job_id,
            status=str(details.status),
            message=details.message,
            metadata=dict(details.metadata or {}),
            entrypoint=details.entrypoint,
        )
        with self._lock:
            if len(self._info) > 1000:
                self._info.clear()
            self._info[job_id] = (time.monotonic(), info)
        return info

    def logs(self, job_id: str) -> str:
        """A job's driver log as Ray keeps it (JobGone when Ray no longer knows the job)."""
        try:
            return str(self._sdk().get_job_logs(job_id))
        except ServiceUnavailable:
            raise
        except Exception as exc:
            if "404" in str(exc) or "does not exist" in str(exc):
                raise JobGone(job_id) from exc
            raise ServiceUnavailable(f"Could not read the Ray job's logs: {type(exc).__name__}") from exc

    def stop(self, job_id: str) -> bool:
        """Ask Ray to stop a job; False when it had already ended or Ray does not know it.

        Ray answers False, and stops nothing, for a job submitted so recently that its supervisor actor
        is not registered yet (ray-project/ray#58353): the job then starts later and runs to its end
        (a 300 s search holding every CPU). So a False for a job Ray still calls pending or running is
        retried for a few seconds; the entrypoints also refuse to start on a row that has already ended.
        """
        self._info.pop(job_id, None)
        deadline = time.monotonic() + STOP_RETRY_S
        while True:
            try:
                if self._sdk().stop_job(job_id):
                    return True
                status = str(self._sdk().get_job_status(job_id))
            except ServiceUnavailable:
                raise
            except Exception as exc:
                if "404" in str(exc) or "does not exist" in str(exc):
                    return False
                raise ServiceUnavailable(f"Could not stop the Ray job: {type(exc).__name__}") from exc
            if status in RAY_ENDED or time.monotonic() > deadline:
                return False
            time.sleep(0.2)


def reconcile(session: Session, jobs: RayJobs, row: Any) -> Any:
    """End a job's row that Ray says has ended but that never reported its end, with Ray's reason; or
    that its job has not started ``jobs.start_timeout_s`` after submission, whatever the cause.

    Works on any row with ``status``/``stage``/``error``/``ray_job_id``/``created_at`` (statistics,
    training runs, SHAP jobs, batches). A job killed mid-way (its process gone, the node lost, stopped
    from the dashboard) is how a row would otherwise stay "running" forever; a job that cannot reach its
    cluster (or a standby handed a run it cannot start) is how it would stay "submitted_to_ray".
    """
    if row.status in FINAL or not row.ray_job_id:
        return row
    unstarted = False  # ended because its job never started it (not because Ray says it ended)
    try:
        info = jobs.info(row.ray_job_id)
    except JobGone:
        status, reason = (
            JobStatus.FAILED,
            f"Ray has no record of job {row.ray_job_id} (was the cluster restarted?)",
        )
    except ServiceUnavailable as exc:
        if not _overdue(jobs, row):
            raise
        unstarted, status = True, JobStatus.FAILED
        reason = f"{_not_started(jobs)}, and the Ray cluster does not answer ({exc})"
    else:
        if info.status in RAY_ENDED:
            status = JobStatus.CANCELLED if info.status == "STOPPED" else JobStatus.FAILED
            reason = info.message or f"Ray job ended {info.status} without reporting"
        elif _overdue(jobs, row):
            said = f": {info.message}" if info.message else ""
            unstarted, status = True, JobStatus.FAILED
            reason = f"{_not_started(jobs)} (Ray job {row.ray_job_id} is {info.status}{said})"
            _stop_quietly(jobs, row.ray_job_id)  # it must not start the run later
        else:
            return row
    session.refresh(row)
    if row.status in FINAL or (unstarted and row.status not in UNSTARTED):
        return row  # it reported, or its job started it, while we asked Ray
    return end_row(session, row, status, reason)


def _overdue(jobs: RayJobs, row: Any) -> bool:
    """Whether the row's job has not started it within the start timeout of its submission."""
    waited = (utcnow() - row.created_at).total_seconds()
    return row.status in UNSTARTED and waited > jobs.start_timeout_s


def _not_started(jobs: RayJobs) -> str:
    return f"its job did not start within {jobs.start_timeout_s:.0f} s of submission"


def _stop_quietly(jobs: RayJobs, job_id: str) -> None:
    try:
        jobs.stop(job_id)
    except ServiceUnavailable:  # the row ends anyway: a job never starts a row that has ended
        log.warning("could not stop Ray job %s", job_id)


def end_row(session: Session, row: Any, status: str, reason: str) -> Any:
    """A job's row ended (``failed`` or ``cancelled``) with its reason, stamped now: one way for every
    path that ends a row its worker could not (reconciliation, a lapsed lease, a dead replica)."""
    row.status, row.stage, row.error = status, status, reason[:2000]
    now = utcnow()
    for stamp in ("updated_at", "modified_at", "finished_at"):
        if hasattr(row, stamp):
            setattr(row, stamp, now)
    session.add(row)
    session.flush()
    if isinstance(row, TrainingRun):
        lifecycle.run_ended(session, row)
    return row


def lapse(session: Session, row: Any, lease_s: float = LEASE_S) -> Any:
    """End a leased row (no Ray job: its worker renews ``updated_at``) whose lease has run out."""
    if row.status in FINAL or row.ray_job_id:
        return row
    if (utcnow() - row.updated_at).total_seconds() < lease_s:
        return row
    reason = f"its worker stopped reporting for {lease_s:.0f} s (the model replica running it ended)"
    return end_row(session, row, JobStatus.FAILED, reason)
