"""Surrogates of external versions: a Ray job predicts a dataset with the version, fits a LightGBM
surrogate on those predictions, measures its fidelity on held-out rows and reports through
``models/surrogate-result``; the version then explains its predictions by TreeSHAP on the surrogate."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from raylake.core.vocabulary import FINAL, JobStatus
from raylake.platform import callbacks
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.errors import Conflict, Invalid, NotFound, Unauthorized
from raylake.platform.inference.realtime import readable_dataset
from raylake.platform.jobs import RayJobs, job_environment, reconcile
from raylake.platform.registry import lifecycle
from raylake.platform.registry.external_files import is_external
from raylake.platform.registry.models import SurrogateJob
from raylake.platform.registry.service import get_model
from raylake.platform.registry.versions import resolve
from raylake.platform.storage import FileStore
from raylake.platform.tenancy import Principal
from raylake.platform.training.models import TrainingRun
from raylake.schemas.artifacts import SurrogateResult

KIND = "surrogate"
ENTRYPOINT = "python -m raylake.train_jobs.surrogate --surrogate-id {id}"


def _jobs_of(session: Session, run_id: int) -> list[SurrogateJob]:
    return list(
        session.exec(
            select(SurrogateJob)
            .where(SurrogateJob.training_run_id == run_id)
            .order_by(col(SurrogateJob.id).desc())
        ).all()
    )


def submit(
    *,
    session: Session,
    settings: Settings,
    jobs: RayJobs,
    principal: Principal,
    model_id: int | str,
    version: str | None,
    dataset_id: int,
    replace: bool,
) -> tuple[TrainingRun, SurrogateJob]:
    """Start fitting a surrogate for an external version (its newest by default) on a dataset; 409 when
    one exists and ``replace`` is off (PUT replaces), or one is being fitted."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    lifecycle.check_usable(model, "given a surrogate")
    run = resolve(session, model, version) if version else _newest_external(session, model.id)
    if not is_external(run):
        raise Invalid(
            f"version {lifecycle.version_name(run)} was trained by raylake: it is explained directly "
            "(TreeSHAP or permutation SHAP); surrogates are for external models"
        )
    if run.status != JobStatus.COMPLETED:
        raise Conflict(f"version {lifecycle.version_name(run)} is {run.status}")
    dataset = readable_dataset(session, principal, dataset_id)
    present = {spec["name"] for spec in dataset.column_specs}
    missing = [c["name"] for c in run.columns if c["attribute"] == "Feature" and c["name"] not in present]
    if missing:
        raise Invalid(f"dataset {dataset.dataset_name!r} lacks the model's inputs: {', '.join(missing)}")
    assert run.id is not None
    earlier = _jobs_of(session, run.id)
    for job in earlier:
        reconcile(session, jobs, job)
    if any(job.status not in FINAL for job in earlier):
        raise Conflict(f"a surrogate for version {lifecycle.version_name(run)} is being fitted")
    if run.surrogate and not replace:
        raise Conflict(f"version {lifecycle.version_name(run)} has a surrogate: PUT replaces it")
    for job in earlier:
        session.delete(job)
    secret, secret_hash = callbacks.new_secret()
    row = SurrogateJob(
        tenant_id=run.tenant_id,
        training_run_id=run.id,
        dataset_id=dataset.id,
        callback_secret_hash=secret_hash,
        created_by=principal.username,
    )
    session.add(row)
    session.flush()
    row.ray_job_id = jobs.submit(
        entrypoint=ENTRYPOINT.format(id=row.id),
        metadata={"raylake_kind": KIND, "tenant_id": run.tenant_id, "train_id": str(run.id)},
        env_vars={**job_environment(settings), callbacks.ENV_VAR: secret},
        num_cpus=1,
    )
    session.add(row)
    session.flush()
    return run, row


def _newest_external(session: Session, model_id: int | None) -> TrainingRun:
    run = session.exec(
        select(TrainingRun)
        .where(TrainingRun.predictor_id == model_id, TrainingRun.status == JobStatus.COMPLETED)
        .order_by(col(TrainingRun.version).desc())
    ).first()
    if run is None:
        raise Conflict(f"model {model_id} has no completed version")
    return run


def latest(
    *, session: Session, jobs: RayJobs, principal: Principal, model_id: int | str, version: str | None
) -> tuple[TrainingRun, SurrogateJob]:
    """A version's newest surrogate job, reconciled with Ray; NotFound when none was asked for."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    run = resolve(session, model, version) if version else _newest_external(session, model.id)
    assert run.id is not None
    found = _jobs_of(session, run.id)
    if not found:
        raise NotFound(f"no surrogate was asked for version {lifecycle.version_name(run)}")
    return run, reconcile(session, jobs, found[0])


def record(
    *, session: Session, settings: Settings, store: FileStore, token: str | None, body: SurrogateResult
) -> TrainingRun:
    """The running surrogate job of ``surrogate_id`` reports; only its own token is accepted. On success
    the version's ``surrogate`` names the new one and the one it replaces is deleted (the caller makes
    replicas forget it)."""
    job = session.get(SurrogateJob, body.surrogate_id)
    if job is None or job.status in FINAL:
        raise Unauthorized("Invalid callback token")
    assert job.id is not None
    callbacks.verify(
        settings, kind=KIND, row_id=job.id, stored_hash=job.callback_secret_hash, presented=token
    )
    run = session.get(TrainingRun, job.training_run_id)
    assert run is not None
    job.updated_at = utcnow()
    if body.error or body.result is None:
        job.status, job.stage, job.error = JobStatus.FAILED, "failed", (body.error or "no result")[:2000]
    else:
        result: dict[str, Any] = {
            **body.result.model_dump(),
            "job_id": job.id,
            "dataset_id": job.dataset_id,
            "created_at": utcnow().isoformat(),
        }
        job.result = result
        job.status, job.stage, job.percent, job.error = JobStatus.COMPLETED, "done", 100, None
        replaced = (run.surrogate or {}).get("key")
        run.surrogate = result
        session.add(run)
        if replaced and replaced != result["key"]:
            store.delete(replaced)
    session.add(job)
    session.flush()
    return run
