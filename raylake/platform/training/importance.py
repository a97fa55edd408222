"""SHAP feature importance of a completed run: a Ray job that reports through ``train/shap-result``."""

from __future__ import annotations

from sqlmodel import Session, col, select

from raylake.core.vocabulary import FINAL, EventType, JobStatus
from raylake.platform import callbacks
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.errors import Conflict, Invalid, NotFound, Unauthorized
from raylake.platform.events.outbox import emit
from raylake.platform.jobs import RayJobs, job_environment, reconcile
from raylake.platform.tenancy import Principal, get_scoped
from raylake.platform.training.models import FeatureImportanceJob, TrainingRun
from raylake.schemas.training import ShapResult

KIND = "shap"
ENTRYPOINT = "python -m raylake.train_jobs.explain --importance-id {id}"


def _jobs_of(session: Session, run_id: int) -> list[FeatureImportanceJob]:
    return list(
        session.exec(
            select(FeatureImportanceJob)
            .where(FeatureImportanceJob.training_run_id == run_id)
            .order_by(col(FeatureImportanceJob.id).desc())
        ).all()
    )


def submit(
    *, session: Session, settings: Settings, jobs: RayJobs, run: TrainingRun, created_by: str
) -> FeatureImportanceJob:
    """Start a SHAP feature-importance job for a completed, non-forecasting run."""
    if run.status != JobStatus.COMPLETED:
        raise Conflict(f"training run {run.id} is {run.status}: only a completed model can be explained")
    if run.problem_type == "Forecasting":
        raise Invalid(f"run {run.id} forecasts: SHAP feature importance is available for predictions only")
    assert run.id is not None
    earlier = _jobs_of(session, run.id)
    for job in earlier:
        reconcile(session, jobs, job)
    if any(job.status not in FINAL for job in earlier):
        raise Conflict(f"a feature-importance job for run {run.id} is already running")
    for job in earlier:
        session.delete(job)
    secret, secret_hash = callbacks.new_secret()
    row = FeatureImportanceJob(
        tenant_id=run.tenant_id,
        training_run_id=run.id,
        callback_secret_hash=secret_hash,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    row.ray_job_id = jobs.submit(
        entrypoint=ENTRYPOINT.format(id=row.id),
        metadata={"raylake_kind": "shap", "tenant_id": run.tenant_id, "train_id": str(run.id)},
        env_vars={**job_environment(settings), callbacks.ENV_VAR: secret},
        num_cpus=1,
    )
    session.add(row)
    session.flush()
    return row


def generate(
    *, session: Session, settings: Settings, jobs: RayJobs, principal: Principal, train_id: int
) -> FeatureImportanceJob:
    """Start feature importance for a run the caller may see."""
    run = get_scoped(session, TrainingRun, train_id, principal, "Training run")
    return submit(session=session, settings=settings, jobs=jobs, run=run, created_by=principal.username)


def latest(*, session: Session, jobs: RayJobs, principal: Principal, train_id: int) -> FeatureImportanceJob:
    """A run's newest feature-importance job, reconciled with Ray; NotFound when none was asked for."""
    get_scoped(session, TrainingRun, train_id, principal, "Training run")
    found = _jobs_of(session, train_id)
    if not found:
        raise NotFound(f"No feature importance was generated for training run {train_id}")
    return reconcile(session, jobs, found[0])


def record(*, session: Session, settings: Settings, token: str | None, body: ShapResult) -> None:
    """The running SHAP job of ``training_id`` reports; only its own token is accepted."""
    running = [job for job in _jobs_of(session, body.training_id) if job.status not in FINAL]
    if not running:
        raise Unauthorized("Invalid callback token")
    job = running[0]
    assert job.id is not None
    callbacks.verify(
        settings, kind=KIND, row_id=job.id, stored_hash=job.callback_secret_hash, presented=token
    )
    job.updated_at = utcnow()
    if body.error or body.result is None:
        job.status, job.stage, job.error = JobStatus.FAILED, "failed", (body.error or "no result")[:2000]
    else:
        job.result = {str(k): float(v) for k, v in body.result.items()}
        job.status, job.stage, job.percent, job.error = JobStatus.COMPLETED, "done", 100, None
    session.add(job)
    session.flush()
    if job.status == JobStatus.COMPLETED:
        emit(
            session,
            tenant_id=job.tenant_id,
            type=EventType.SHAP_COMPLETED,
            payload={"train_id": job.training_run_id, "importance_id": job.id},
        )


def delete(*, session: Session, jobs: RayJobs, principal: Principal, train_id: int) -> None:
    """Stop a run's unfinished feature-importance jobs and remove them all."""
    get_scoped(session, TrainingRun, train_id, principal, "Training run")
    found = _jobs_of(session, train_id)
    if not found:
        raise NotFound(f"No feature importance was generated for training run {train_id}")
    for job in found:
        if job.status not in FINAL and job.ray_job_id:
            jobs.stop(job.ray_job_id)
        session.delete(job)
    session.flush()
