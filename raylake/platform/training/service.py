"""Training runs: create (validate, record, submit), list, reconcile, delete, switch preprocessing.

A run is recorded and its Ray job submitted in one transaction: if Ray refuses the job the request
fails and nothing is left behind. The job waits for the committed row, reports progress on it, and
posts its result to ``train/result`` (``results.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from raylake.core.layout import model_prefix
from raylake.core.vocabulary import FINAL, ColumnAttribute, JobStatus, ModelType, ProblemType, Task
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
from raylake.platform.jobs import RayJobs, job_environment, reconcile
from raylake.platform.lake import Lake
from raylake.platform.registry import lifecycle, projects
from raylake.platform.registry.models import Predictor, Project
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.platform.training import forecasting, validation
from raylake.platform.training.models import FeatureImportanceJob, PreprocessState, TrainingRun
from raylake.platform.training.runs import job_cpus
from raylake.schemas.training import DetailsRequest, TrainRequest

log = logging.getLogger(__name__)
ENTRYPOINT = "python -m raylake.train_jobs.train --train-id {id}"


def _dataset(session: Session, principal: Principal, dataset_id: int) -> Dataset:
    """The dataset a request names in its body: one it cannot see is a 422 like one that does not exist."""
    found = session.exec(scoped(select(Dataset), Dataset, principal).where(Dataset.id == dataset_id)).first()
    if found is None:
        raise Invalid(f"dataset {dataset_id} does not exist")
    return found


def _trainable(dataset: Dataset) -> None:
    """Refuse a dataset kept for prediction, or one without validated rows."""
    if dataset.usage != "t":
        raise Invalid(f"dataset {dataset.dataset_name!r} is for prediction, not training (usage 'p')")
    if not dataset.is_valid or dataset.snapshot_id is None or not dataset.iceberg_table_name:
        raise Invalid(f"dataset {dataset.dataset_name!r} has no validated rows to train on")


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


def latest_run(session: Session, predictor: Predictor) -> TrainingRun | None:
    """The model's newest version, whatever its status."""
    return session.exec(
        select(TrainingRun)
        .where(TrainingRun.predictor_id == predictor.id)
        .order_by(col(TrainingRun.version).desc())
    ).first()


def latest_completed(session: Session, predictor: Predictor) -> TrainingRun | None:
    """The model's newest completed version, the one incremental training continues."""
    return session.exec(
        select(TrainingRun)
        .where(TrainingRun.predictor_id == predictor.id, TrainingRun.status == JobStatus.COMPLETED)
        .order_by(col(TrainingRun.version).desc())
    ).first()


def _same_columns(parent: TrainingRun, roles: list[dict[str, Any]]) -> None:
    """Refuse an incremental run whose used columns or roles differ from the version it continues."""

    def used(rows: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
        return {
            r["name"]: (r["attribute"], r["data_type"])
            for r in rows
            if r["attribute"] in ("Target", "Feature", "Time")
        }

    before, now = used(parent.columns), used(roles)
    if before != now:
        changed = sorted(set(before.items()) ^ set(now.items()))
        names = ", ".join(sorted({name for name, _ in changed}))
        raise Invalid(
            f"incremental training keeps version {parent.version}'s columns and roles; these differ: {names}"
        )


@dataclass(frozen=True)
class _Plan:
    """What a new version trains with: its algorithm and parameters, and the version it continues."""

    algorithm: str
    params: dict[str, Any]
    parent: TrainingRun | None = None
    base_snapshot: int | None = None


def _existing_model(
    session: Session, project: Project, request: TrainRequest, kind: ProblemType, model: Predictor | None
) -> Predictor | None:
    """``model`` or the project's model of that name, if any; refused when archived or of another type."""
    predictor = (
        model
        or session.exec(
            select(Predictor).where(
                Predictor.project_id == project.id, Predictor.predictor_name == request.predictor_name
            )
        ).first()
    )
    if predictor is not None:
        lifecycle.check_usable(predictor, "trained")
        if predictor.problem_type != kind:
            raise Invalid(f"model {predictor.predictor_name!r} is {predictor.problem_type}, not {kind}")
    return predictor


def _parent(
    session: Session,
    predictor: Predictor | None,
    request: TrainRequest,
    dataset: Dataset,
    roles: list[dict[str, Any]],
    *,
    has_versions: bool,
    named: bool,
) -> TrainingRun | None:
    """The completed version an incremental run continues, checked; None for a first version (name free)."""
    if not request.is_incremental:
        if has_versions and named:
            raise Conflict(
                f"predictor {request.predictor_name!r} already exists: choose another name, or set "
                "is_incremental to train a new version of it"
            )
        return None
    if predictor is None:
        raise Invalid(f"no predictor named {request.predictor_name!r} to continue (is_incremental)")
    parent = latest_completed(session, predictor)
    if parent is None:
        raise Invalid(f"predictor {predictor.predictor_name!r} has no completed version to continue")
    _same_columns(parent, roles)
    if parent.dataset_id == dataset.id and parent.snapshot_id == dataset.snapshot_id:
        raise Invalid(
            f"dataset {dataset.dataset_name!r} has no new data since version {parent.version} "
            f"(snapshot {parent.snapshot_id}): add files first"
        )
    return parent


def _plan(
    *,
    settings: Settings,
    ctx: Lake,
    request: TrainRequest,
    kind: ProblemType,
    dataset: Dataset,
    roles: list[dict[str, Any]],
    parent: TrainingRun | None,
) -> _Plan:
    """The algorithm and parameters, checked: those requested, or those of the ``parent`` a run continues."""
    if kind == ProblemType.FORECASTING:
        # A forecaster is refitted on the whole new snapshot: it forecasts from each series' last points.
        chosen = (request.algorithm or parent.algorithm) if parent else request.algorithm
        algorithm = forecasting.algorithm(chosen)
        params = forecasting.check(ctx=ctx, settings=settings, dataset=dataset, roles=roles, request=request)
        return _Plan(algorithm, params, parent)
    if parent is None:
        algorithm = validation.algorithm(request.algorithm, kind)
        return _Plan(algorithm, validation.params(algorithm, request.params))
    name = parent.model_algorithm or parent.algorithm
    if request.algorithm and validation.algorithm(request.algorithm, kind) not in (name, algorithms.AUTO):
        raise Invalid(f"incremental training continues {name}; algorithm {request.algorithm!r} differs")
    base_snapshot = parent.snapshot_id if parent.dataset_id == dataset.id else None
    return _Plan(name, dict(parent.model_params or {}), parent, base_snapshot)


def _target_and_task(
    ctx: Lake, dataset: Dataset, roles: list[dict[str, Any]], kind: ProblemType
) -> tuple[dict[str, Any] | None, Task]:
    """The target column's role and the task it makes (binary or multiclass from its classes), checked."""
    target = next((r for r in roles if r["attribute"] == "Target"), None)
    if kind == ProblemType.FORECASTING:
        return target, Task.FORECASTING
    assert target is not None
    read = validation.read_target(ctx, dataset, target["name"], target["data_type"])
    validation.check_target(read, kind)
    if kind == ProblemType.CLASSIFICATION:
        return target, Task.BINARY_CLASSIFICATION if read.classes <= 2 else Task.MULTICLASS_CLASSIFICATION
    return target, Task.REGRESSION


def _model_to_train(
    session: Session,
    *,
    principal: Principal,
    request: TrainRequest,
    project: Project,
    dataset: Dataset,
    predictor: Predictor | None,
    has_versions: bool,
    kind: ProblemType,
    task: Task,
    algorithm: str,
    target: dict[str, Any] | None,
) -> Predictor:
    """The registry model the run trains: a new one for a new name, a draft completed, or the model as is."""
    if predictor is None:
        assert project.id is not None
        forecast = kind == ProblemType.FORECASTING
        predictor = Predictor(
            tenant_id=dataset.tenant_id,
            project_id=project.id,
            predictor_name=request.predictor_name,
            domain=request.domain,
            problem_type=kind,
            task=task,
            model_type=ModelType.FORECASTER if forecast else algorithms.model_type_of(algorithm),
            dataset_id=dataset.id,
            template_id=dataset.template_id,
            target=target["name"] if target else None,
            training_config=_config(request),
            owner=principal.username,
            created_by=principal.username,
            updated_by=principal.username,
        )
        session.add(predictor)
        session.flush()
    elif not has_versions:
        predictor.task, predictor.dataset_id = task, predictor.dataset_id or dataset.id
        predictor.target = predictor.target or (target["name"] if target else None)
        predictor.training_config = predictor.training_config or _config(request)
    return predictor


def _new_run(
    session: Session,
    *,
    principal: Principal,
    request: TrainRequest,
    predictor: Predictor,
    dataset: Dataset,
    roles: list[dict[str, Any]],
    kind: ProblemType,
    plan: _Plan,
    secret_hash: str,
) -> TrainingRun:
    """The run row of the model's next version, flushed so it has an id."""
    version = session.exec(
        select(func.coalesce(func.max(TrainingRun.version), 0)).where(
            TrainingRun.predictor_id == predictor.id
        )
    ).one()
    assert predictor.id is not None
    run = TrainingRun(
        tenant_id=dataset.tenant_id,
        predictor_id=predictor.id,
        version=int(version) + 1,
        parent_id=plan.parent.id if plan.parent else None,
        dataset_id=dataset.id,
        dataset_name=dataset.dataset_name,
        data_source=dataset.data_source,
        snapshot_id=dataset.snapshot_id,
        base_snapshot_id=plan.base_snapshot,
        problem_type=kind,
        domain=request.domain,
        columns=roles,
        algorithm=plan.algorithm,
        params=plan.params,
        time_budget_s=request.time_budget_s,
        seed=request.seed,
        is_incremental=request.is_incremental,
        shap_enabled=request.shap_enabled,
        callback_secret_hash=secret_hash,
        created_by=principal.username,
    )
    session.add(run)
    session.flush()
    return run


def _launch(
    session: Session,
    *,
    settings: Settings,
    jobs: RayJobs,
    run: TrainingRun,
    predictor: Predictor,
    secret: str,
) -> None:
    """Give the run to a warm job (platform/standby.py) when one is ready, else submit its own."""
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
    dataset = _dataset(session, principal, request.dataset_id)
    _trainable(dataset)
    roles = validation.roles(dataset, request.columns)
    project = projects.default_project(session, dataset.tenant_id, principal.username)
    predictor = _existing_model(session, project, request, kind, model)
    # A registered model without versions (a draft) takes its first one here, like a new name.
    has_versions = predictor is not None and latest_run(session, predictor) is not None
    parent = _parent(
        session, predictor, request, dataset, roles, has_versions=has_versions, named=model is None
    )
    plan = _plan(
        settings=settings, ctx=ctx, request=request, kind=kind, dataset=dataset, roles=roles, parent=parent
    )
    target, task = _target_and_task(ctx, dataset, roles, kind)
    predictor = _model_to_train(
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
    run = _new_run(
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


def _config(request: TrainRequest) -> dict[str, Any]:
    """What a model made by ``POST /train/`` keeps as its training configuration, so the registry's
    ``POST /models/{id}/train`` trains its next version the same way."""
    return request.model_dump(
        mode="json",
        exclude_none=True,
        exclude={"dataset_id", "predictor_name", "problem_type", "is_incremental"},
    )


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
