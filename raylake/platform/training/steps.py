"""The steps of ``service.create``: the dataset and model a new training version is checked against,
what it continues, what it trains with, and the rows that record it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from raylake.core.vocabulary import JobStatus, ModelType, ProblemType, Task
from raylake.ml import algorithms
from raylake.platform.config import Settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.errors import Conflict, Invalid
from raylake.platform.lake import Lake
from raylake.platform.registry import lifecycle
from raylake.platform.registry.models import Predictor, Project
from raylake.platform.tenancy import Principal, scoped
from raylake.platform.training import forecasting, validation
from raylake.platform.training.models import TrainingRun
from raylake.schemas.training import TrainRequest


def requested_dataset(session: Session, principal: Principal, dataset_id: int) -> Dataset:
    """The dataset a request names in its body: one it cannot see is a 422 like one that does not exist."""
    found = session.exec(scoped(select(Dataset), Dataset, principal).where(Dataset.id == dataset_id)).first()
    if found is None:
        raise Invalid(f"dataset {dataset_id} does not exist")
    return found


def check_trainable(dataset: Dataset) -> None:
    """Refuse a dataset kept for prediction, or one without validated rows."""
    if dataset.usage != "t":
        raise Invalid(f"dataset {dataset.dataset_name!r} is for prediction, not training (usage 'p')")
    if not dataset.is_valid or dataset.snapshot_id is None or not dataset.iceberg_table_name:
        raise Invalid(f"dataset {dataset.dataset_name!r} has no validated rows to train on")


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
        """The name, attribute and data type of each Target, Feature and Time column."""
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
class Plan:
    """What a new version trains with: its algorithm and parameters, and the version it continues."""

    algorithm: str
    params: dict[str, Any]
    parent: TrainingRun | None = None
    base_snapshot: int | None = None


def existing_model(
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


def parent_to_continue(
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


def choose_plan(
    *,
    settings: Settings,
    ctx: Lake,
    request: TrainRequest,
    kind: ProblemType,
    dataset: Dataset,
    roles: list[dict[str, Any]],
    parent: TrainingRun | None,
) -> Plan:
    """The algorithm and parameters, checked: those requested, or those of the ``parent`` a run continues."""
    if kind == ProblemType.FORECASTING:
        # A forecaster is refitted on the whole new snapshot: it forecasts from each series' last points.
        chosen = (request.algorithm or parent.algorithm) if parent else request.algorithm
        algorithm = forecasting.algorithm(chosen)
        params = forecasting.check(ctx=ctx, settings=settings, dataset=dataset, roles=roles, request=request)
        return Plan(algorithm, params, parent)
    if parent is None:
        algorithm = validation.algorithm(request.algorithm, kind)
        return Plan(algorithm, validation.params(algorithm, request.params))
    name = parent.model_algorithm or parent.algorithm
    if request.algorithm and validation.algorithm(request.algorithm, kind) not in (name, algorithms.AUTO):
        raise Invalid(f"incremental training continues {name}; algorithm {request.algorithm!r} differs")
    base_snapshot = parent.snapshot_id if parent.dataset_id == dataset.id else None
    return Plan(name, dict(parent.model_params or {}), parent, base_snapshot)


def target_and_task(
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


def model_to_train(
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


def new_run(
    session: Session,
    *,
    principal: Principal,
    request: TrainRequest,
    predictor: Predictor,
    dataset: Dataset,
    roles: list[dict[str, Any]],
    kind: ProblemType,
    plan: Plan,
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
        ray_job_id=request.ray_job_id,  # a notebook's job that trains it (handoff.py), else set at launch
        created_by=principal.username,
    )
    session.add(run)
    session.flush()
    return run


def _config(request: TrainRequest) -> dict[str, Any]:
    """What a model made by ``POST /train/`` keeps as its training configuration, so the registry's
    ``POST /models/{id}/train`` trains its next version the same way."""
    return request.model_dump(
        mode="json",
        exclude_none=True,
        exclude={"dataset_id", "predictor_name", "problem_type", "is_incremental", "ray_job_id"},
    )
