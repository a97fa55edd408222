"""Training runs: create (validate, record, submit), list, reconcile, delete, switch preprocessing.

A run is recorded and its Ray job submitted in one transaction: if Ray refuses the job the request
fails and nothing is left behind. The job waits for the committed row, reports progress on it, and
posts its result to ``train/result`` (``results.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, col, select

from raylake.core.layout import model_prefix
from raylake.core.vocabulary import FINAL, ColumnAttribute, JobStatus, ProblemType
from raylake.ml import algorithms
from raylake.platform import callbacks, standby
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.db import paged
from raylake.platform.errors import Conflict, Invalid, NotFound, ServiceUnavailable
from raylake.platform.inference import cleanup
from raylake.platform.inference import service as inference
from raylake.platform.inference.loading import run_prefix
from raylake.platform.jobs import JobGone, RayJobs, job_environment, reconcile
from raylake.platform.lake import Lake
from raylake.platform.registry import lifecycle, projects
from raylake.platform.registry.models import Predictor
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.platform.training import forecasting, handoff, steps, validation
from raylake.platform.training.models import FeatureImportanceJob, PreprocessState, TrainingRun
from raylake.platform.training.runs import job_cpus
from raylake.schemas.training import DetailsRequest, RunLogs, TrainRequest

log = logging.getLogger(__name__)
ENTRYPOINT = "python -m raylake.train_jobs.train --train-id {id}"


def details(*, session: Session, principal: Principal, request: DetailsRequest) -> dict[str, Any]:
    """What a training form offers for a dataset: its columns, the roles, problem types and algorithms."""
    dataset = get_scoped(session, Dataset, request.dataset_id, principal, "Dataset")
    kind = validation.problem_type(request.problem_type) if request.problem_type else None
    return {
        "dataset_id": dataset.id,
        "predictor_name": request.predictor_name,
        "domain": request.domain,
        "problem_type": kind,
        "dataset_schema": [
            {"column_name": c["name"], "data_type": c["data_type"]} for c in dataset.column_specs
        ],
        "attributes": list(ColumnAttribute),
        "problem_types": list(ProblemType),
        "algorithms": list(forecasting.ALGORITHMS)
        if kind == "Forecasting"
        else [
            name for name, spec in algorithms.ALGORITHMS.items() if kind is None or kind in spec.problem_types
        ]
        + [algorithms.AUTO],
    }


def _launch(
    session: Session,
    *,
    settings: Settings,
    jobs: RayJobs,
    run: TrainingRun,
    predictor: Predictor,
    secret: str,
) -> None:
    """Give the run to the Ray job that asked for it (``handoff.py``), else to a warm job
    (platform/standby.py) when one is ready, else submit its own."""
    if run.ray_job_id is not None:  # set from the request: a notebook's job trains it
        session.add_all([run, predictor])
        session.flush()
        assert run.id is not None
        handoff.offer(run.ray_job_id, run.id, {**job_environment(settings), callbacks.ENV_VAR: secret})
        return
    handed = standby.hand_over(session, settings, run)
    run.ray_job_id = handed or submit(settings=settings, jobs=jobs, run=run, secret=secret)
    predictor.modified_at = utcnow()
    session.add_all([run, predictor])
    session.flush()
    if handed is None:
        standby.refill(session, jobs, settings)  # warm one for the next run (train/result does too)


def create(
    *,
    session: Session,
    settings: Settings,
    ctx: Lake,
    jobs: RayJobs,
    principal: Principal,
    request: TrainRequest,
    model: Predictor | None = None,
) -> TrainingRun:
    """Train a new version of the model named ``predictor_name`` in the tenant's default project (made
    when new), or of ``model`` (the registry's ``POST /models/{id}/train``)."""
    kind = validation.problem_type(request.problem_type)
    if request.ray_job_id is not None:
        handoff.check_job(session, jobs, request.ray_job_id)
    dataset = steps.requested_dataset(session, principal, request.dataset_id)
    steps.check_trainable(dataset)
    roles = validation.roles(dataset, request.columns)
    project = projects.default_project(session, dataset.tenant_id, principal.username)
    predictor = steps.existing_model(session, project, request, kind, model)
    # A registered model without versions (a draft) takes its first one here, like a new name.
    has_versions = predictor is not None and steps.latest_run(session, predictor) is not None
    parent = steps.parent_to_continue(
        session, predictor, request, dataset, roles, has_versions=has_versions, named=model is None
    )
    plan = steps.choose_plan(
        settings=settings, ctx=ctx, request=request, kind=kind, dataset=dataset, roles=roles, parent=parent
    )
    target, task = steps.target_and_task(ctx, dataset, roles, kind)
    predictor = steps.model_to_train(
        session,
        principal=principal,
        request=request,
        project=project,
        dataset=dataset,
        predictor=predictor,
        has_versions=has_versions,
        kind=kind,
        task=task,
        algorithm=plan.algorithm,
        target=target,
    )
    lifecycle.start_training(session, predictor, principal.username)
    secret, secret_hash = callbacks.new_secret()
    run = steps.new_run(
        session,
        principal=principal,
        request=request,
        predictor=predictor,
        dataset=dataset,
        roles=roles,
        kind=kind,
        plan=plan,
        secret_hash=secret_hash,
    )
    _launch(session, settings=settings, jobs=jobs, run=run, predictor=predictor, secret=secret)
    return run


def submit(*, settings: Settings, jobs: RayJobs, run: TrainingRun, secret: str) -> str:
    """Submit a run's own Ray training job; the Ray job id."""
    return jobs.submit(
        entrypoint=ENTRYPOINT.format(id=run.id),
        metadata={"raylake_kind": "training", "tenant_id": run.tenant_id, "train_id": str(run.id)},
        env_vars={**job_environment(settings), callbacks.ENV_VAR: secret},
        num_cpus=job_cpus(settings, run),
    )


def get_run(*, session: Session, principal: Principal, train_id: int) -> TrainingRun:
    """A training run the caller may see; NotFound otherwise."""
    return get_scoped(session, TrainingRun, train_id, principal, "Training run")


def logs(*, session: Session, jobs: RayJobs, principal: Principal, train_id: int, tail: int) -> RunLogs:
    """The last ``tail`` characters of a run's Ray job log (a standby's job: its wait, then the run)."""
    run = get_run(session=session, principal=principal, train_id=train_id)
    if run.ray_job_id is None:
        return RunLogs(train_id=train_id, ray_job_id=None, status=run.status, logs="", truncated=False)
    try:
        text = jobs.logs(run.ray_job_id)
    except JobGone:
        raise NotFound(f"Ray no longer keeps the logs of job {run.ray_job_id}") from None
    return RunLogs(
        train_id=train_id,
        ray_job_id=run.ray_job_id,
        status=run.status,
        logs=text[-tail:],
        truncated=len(text) > tail,
    )


def list_runs(
    *, session: Session, principal: Principal, skip: int, limit: int
) -> tuple[list[tuple[TrainingRun, Predictor]], int]:
    """A page of runs with their predictors, newest first; and how many there are."""
    stmt = scoped(select(TrainingRun, Predictor), TrainingRun, principal).where(
        TrainingRun.predictor_id == Predictor.id
    )
    return paged(session, stmt.order_by(col(TrainingRun.id).desc()), skip=skip, limit=limit)


def refresh(
    *, session: Session, jobs: RayJobs, principal: Principal, skip: int, limit: int
) -> tuple[list[tuple[TrainingRun, Predictor]], int]:
    """Reconcile every unfinished run with Ray (not only the page's), then list a page."""
    unfinished = scoped(select(TrainingRun), TrainingRun, principal).where(
        col(TrainingRun.status).not_in(sorted(FINAL))
    )
    for run in session.exec(unfinished).all():
        reconcile(session, jobs, run)
    return list_runs(session=session, principal=principal, skip=skip, limit=limit)


def predictor_of(session: Session, run: TrainingRun) -> Predictor:
    """The registry model a run is a version of."""
    predictor = session.get(Predictor, run.predictor_id)
    assert predictor is not None
    return predictor


def _stop(jobs: RayJobs, job_id: str | None) -> None:
    if not job_id:
        return
    try:
        jobs.stop(job_id)
    except ServiceUnavailable:
        log.warning("could not stop Ray job %s", job_id)
        raise


def delete(
    *,
    session: Session,
    ctx: Lake,
    jobs: RayJobs,
    principal: Principal,
    train_id: int,
    gateway: inference.Gateway | None = None,
) -> None:
    """Stop the run's jobs and its dedicated deployment, then remove its rows, its forecast table and
    artifacts (and the predictor with its last run); once committed, no replica serves it."""
    run = get_run(session=session, principal=principal, train_id=train_id)
    own_states = session.exec(select(PreprocessState).where(PreprocessState.source_run_id == run.id)).all()
    state_ids = [s.id for s in own_states]
    if state_ids:
        users = session.exec(
            select(TrainingRun.id).where(
                col(TrainingRun.preprocess_id).in_(state_ids), TrainingRun.id != run.id
            )
        ).all()
        if users:
            raise Conflict(
                f"run {run.id}'s preprocessing is used by run(s) {', '.join(map(str, users))}: "
                "switch them to another preprocess_id first (train/update)"
            )
    if run.status not in FINAL:
        _stop(jobs, run.ray_job_id)
    for job in session.exec(
        select(FeatureImportanceJob).where(FeatureImportanceJob.training_run_id == run.id)
    ).all():
        if job.status not in FINAL:
            _stop(jobs, job.ray_job_id)
        session.delete(job)
    inference.undeploy_run(session=session, gateway=gateway, run=run)
    run.preprocess_id = None
    session.add(run)
    session.flush()
    for state in own_states:
        session.delete(state)
    cleanup.drop_run_outputs(session=session, ctx=ctx, run=run)
    predictor = predictor_of(session, run)
    session.delete(run)
    session.flush()
    lifecycle.versions_gone(session, predictor, principal.username)
    cleanup.drop_run_tables(ctx, run)
    ctx.store.delete_prefix(model_prefix(run))
    inference.forget_after_commit(session, gateway, run_prefix(run.tenant_id, run.id))  # type: ignore[arg-type]


def update_preprocess(
    *, session: Session, principal: Principal, train_id: int, preprocess_id: int
) -> TrainingRun:
    """Point a completed run at another preprocessing state that yields exactly its model's features."""
    run = get_run(session=session, principal=principal, train_id=train_id)
    state = get_scoped(session, PreprocessState, preprocess_id, principal, "Preprocessing state")
    if run.status != JobStatus.COMPLETED or run.preprocess_id is None:
        raise Conflict(
            f"training run {run.id} is {run.status}: only a completed run's preprocessing can change"
        )
    if run.problem_type == "Forecasting":
        raise Invalid(f"run {run.id} forecasts: a forecaster's state is its own (train a new version)")
    current = session.get(PreprocessState, run.preprocess_id)
    assert current is not None
    if state.tenant_id != run.tenant_id:
        raise NotFound(f"Preprocessing state {preprocess_id} not found")
    if (state.encoding, state.feature_names) != (current.encoding, current.feature_names):
        raise Invalid(
            f"preprocessing state {state.id} produces {len(state.feature_names)} {state.encoding} features "
            f"that differ from the {len(current.feature_names)} {current.encoding} features run {run.id}'s "
            "model was trained on"
        )
    run.preprocess_id = state.id
    run.modified_at = utcnow()
    session.add(run)
    session.flush()
    return run


def summary(run: TrainingRun) -> dict[str, Any]:
    """A completed run's metrics (confusion matrix and labels apart); Conflict before it completes."""
    if run.status != JobStatus.COMPLETED or not run.metrics:
        raise Conflict(f"training run {run.id} is {run.status}: its metrics are not available yet")
    metrics = dict(run.metrics)
    matrix = metrics.pop("confusion_matrix", None)
    labels = metrics.pop("labels", None)
    return {
        "train_id": run.id,
        "problem_type": run.problem_type,
        "model_summary": metrics,
        "confusion_matrix": matrix,
        "labels": labels,
        "rows": run.rows,
        "trials": len(run.trials or []),
    }
