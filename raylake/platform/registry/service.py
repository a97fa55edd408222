"""Registered models: create (a draft), find, list with filters, change, and delete.

A model is a ``predictors`` row; ``POST /train/`` makes and reuses them by name in the tenant's default
project, and this module makes them directly, with the rest of what a registry records about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select

from raylake.core.layout import artifacts_prefix
from raylake.core.vocabulary import MAX_ID, ModelStatus, ModelType, Task
from raylake.ml import algorithms
from raylake.platform.clock import utcnow
from raylake.platform.datasets.models import Dataset
from raylake.platform.errors import Conflict, Invalid, NotFound
from raylake.platform.jobs import RayJobs
from raylake.platform.lake import Lake
from raylake.platform.monitoring import capture, feedback_settings
from raylake.platform.registry import lifecycle, projects
from raylake.platform.registry.models import ModelAlias, ModelTag, Predictor, Project
from raylake.platform.templates.models import Template
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.platform.training import service as training
from raylake.platform.training.models import PreprocessState, TrainingRun
from raylake.schemas.factory import ColumnsSchemaIn, ModelSpec, unknown_columns
from raylake.schemas.registry import TRAINING_KEY, ModelCreate, ModelPublic, ModelUpdate, VersionSummary

if TYPE_CHECKING:
    from raylake.platform.inference.deployments import Gateway

# The fields ``filter`` (field:value) and ``ordering`` may name, and the columns they are.
FIELDS: dict[str, Any] = {
    "id": Predictor.id,
    "uid": Predictor.uid,
    "name": Predictor.predictor_name,
    "project_id": Predictor.project_id,
    "status": Predictor.status,
    "task": Predictor.task,
    "model_type": Predictor.model_type,
    "target": Predictor.target,
    "owner": Predictor.owner,
    "template_id": Predictor.template_id,
    "dataset_id": Predictor.dataset_id,
    "created_by": Predictor.created_by,
    "updated_by": Predictor.updated_by,
    "created_at": Predictor.created_at,
    "updated_at": Predictor.modified_at,
}
INT_FIELDS = frozenset({"id", "project_id", "template_id", "dataset_id"})


def get_model(*, session: Session, principal: Principal, model_id: int | str) -> Predictor:
    """A registered model the caller may see, by its id or its uid; NotFound otherwise."""
    if isinstance(model_id, int) or model_id.isdigit():
        number = int(model_id)
        if not 1 <= number <= MAX_ID:
            raise NotFound(f"Model {model_id} not found")
        return get_scoped(session, Predictor, number, principal, "Model")
    found = session.exec(
        scoped(select(Predictor), Predictor, principal).where(Predictor.uid == model_id.lower())
    ).first()
    if found is None:
        raise NotFound(f"Model {model_id} not found")
    return found


def versions_of(session: Session, model: Predictor) -> list[TrainingRun]:
    """A model's versions (its runs), newest first."""
    return list(
        session.exec(
            select(TrainingRun)
            .where(TrainingRun.predictor_id == model.id)
            .order_by(col(TrainingRun.version).desc())
        ).all()
    )


def check_model_type(task: Task, model_type: ModelType) -> None:
    """A forecasting model is a forecaster (or ``auto``); a tabular one is one of the tabular families."""
    forecast = task is Task.FORECASTING
    if model_type is ModelType.AUTO or (model_type is ModelType.FORECASTER) == forecast:
        return
    valid = (
        [ModelType.AUTO, ModelType.FORECASTER]
        if forecast
        else [ModelType.AUTO, *algorithms.TABULAR_MODEL_TYPES]
    )
    raise Invalid(f"model_type {model_type} does not do {task}; valid: {', '.join(valid)}")


def _name_free(session: Session, project_id: int, name: str, keep: int | None = None) -> None:
    clash = session.exec(
        select(Predictor.id).where(Predictor.project_id == project_id, Predictor.predictor_name == name)
    ).first()
    if clash is not None and clash != keep:
        raise Conflict(f"a model named {name!r} already exists in project {project_id}")


def _set_tags(session: Session, model: Predictor, tags: Sequence[str]) -> None:
    assert model.id is not None
    for old in session.exec(select(ModelTag).where(ModelTag.model_id == model.id)).all():
        session.delete(old)
    session.flush()
    for tag in dict.fromkeys(tags):  # in order, once each
        session.add(ModelTag(tenant_id=model.tenant_id, model_id=model.id, tag=tag))


def create_model(*, session: Session, principal: Principal, data: ModelCreate) -> Predictor:
    """A draft model: named, described and configured, not trained."""
    if data.project_id is None:
        project = projects.default_project(session, principal.tenant_id, principal.username)
    else:
        project = get_scoped(session, Project, data.project_id, principal, "Project")
    assert project.id is not None
    check_model_type(data.task, data.model_type)
    if data.template_id is not None:
        get_scoped(session, Template, data.template_id, principal, "Template")
    if data.dataset_id is not None:
        get_scoped(session, Dataset, data.dataset_id, principal, "Dataset")
    _name_free(session, project.id, data.name)
    check_spec(data.columns_schema, data.spec)
    config = data.training_config.model_dump(exclude_none=True)
    model = Predictor(
        tenant_id=project.tenant_id,
        project_id=project.id,
        predictor_name=data.name,
        description=data.description,
        domain=config.get("domain", data.name),
        problem_type=data.task.problem_type,
        task=data.task,
        model_type=data.model_type,
        template_id=data.template_id,
        dataset_id=data.dataset_id,
        target=data.target,
        training_config=config,
        model_metadata=data.metadata,
        columns_schema=_json(data.columns_schema),
        spec=_json(data.spec),
        capture_predictions=data.capture_predictions,
        owner=data.owner or principal.username,
        status=ModelStatus.DRAFT,
        created_by=principal.username,
        updated_by=principal.username,
    )
    session.add(model)
    session.flush()
    _set_tags(session, model, data.tags)
    session.flush()
    return model


def _filters(raw: Sequence[str]) -> list[ColumnElement[bool]]:
    """``field:value`` pairs as conditions (422 naming unknown fields)."""
    conditions: list[ColumnElement[bool]] = []
    unknown: list[str] = []
    for item in raw:
        field, sep, value = item.partition(":")
        field = field.strip()
        if not sep or field not in FIELDS:
            unknown.append(field or item)
            continue
        if field in INT_FIELDS:
            try:
                conditions.append(FIELDS[field] == int(value))
            except ValueError:
                raise Invalid(f"filter {field} needs an integer, not {value!r}") from None
        else:
            conditions.append(FIELDS[field] == value)
    if unknown:
        raise Invalid(f"unknown filter fields: {', '.join(unknown)}; valid: {', '.join(FIELDS)}")
    return conditions


def _matches(session: Session, text: str, *columns: Any) -> ColumnElement[bool]:
    """Any of ``columns`` contains ``text``, ignoring case (the text's ``%`` and ``_`` are literal).
    SQLite's LIKE already ignores ASCII case and uses no function per row; elsewhere it is ILIKE."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    sqlite = session.get_bind().dialect.name == "sqlite"
    return or_(
        *(
            col(c).like(pattern, escape="\\") if sqlite else col(c).ilike(pattern, escape="\\")
            for c in columns
        )
    )


def _ordering(raw: str | None) -> list[Any]:
    """``-created_at,name`` as ORDER BY terms (422 naming unknown fields); ties broken by id."""
    terms: list[Any] = []
    unknown: list[str] = []
    for part in (raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        name = part.lstrip("-+")
        if name not in FIELDS:
            unknown.append(name)
            continue
        terms.append(col(FIELDS[name]).desc() if part.startswith("-") else col(FIELDS[name]).asc())
    if unknown:
        raise Invalid(f"unknown ordering fields: {', '.join(unknown)}; valid: {', '.join(FIELDS)}")
    return [*terms, col(Predictor.id).desc()]


def list_models(
    *,
    session: Session,
    principal: Principal,
    project_id: int | None = None,
    status: ModelStatus | None = None,
    task: Task | None = None,
    tags: Sequence[str] = (),
    search: str | None = None,
    filters: Sequence[str] = (),
    ordering: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Predictor], int]:
    """One page of the tenant's models matching every condition given, and how many match."""
    conditions = _filters(filters)
    order = _ordering(ordering)
    stmt = scoped(select(Predictor), Predictor, principal)
    if project_id is not None:
        conditions.append(col(Predictor.project_id) == project_id)
    if status is not None:
        conditions.append(col(Predictor.status) == status)
    if task is not None:
        conditions.append(col(Predictor.task) == task)
    for tag in dict.fromkeys(tags):
        tagged = select(ModelTag.model_id).where(ModelTag.tag == tag)
        conditions.append(col(Predictor.id).in_(tagged))
    if search:
        conditions.append(_matches(session, search, Predictor.predictor_name, Predictor.description))
    stmt = stmt.where(*conditions)
    total = session.exec(
        select(func.count()).select_from(stmt.with_only_columns(col(Predictor.id)).subquery())
    ).one()
    # The page's ids first: sorting narrow rows is several times cheaper than sorting whole models.
    page = stmt.with_only_columns(col(Predictor.id)).order_by(*order).offset(offset).limit(limit)
    ids = list(session.exec(page).all())  # type: ignore[call-overload]  # still sqlmodel's SelectOfScalar
    found = {m.id: m for m in session.exec(select(Predictor).where(col(Predictor.id).in_(ids))).all()}
    rows = [found[i] for i in ids]
    return list(rows), int(total)


def public_many(
    session: Session, models: Sequence[Predictor], *, latest_only: bool = False
) -> list[ModelPublic]:
    """The models as the API shows them: with their tags, aliases and versions (or only the latest)."""
    ids = [m.id for m in models]
    if not ids:
        return []
    tags: dict[int, list[str]] = {i: [] for i in ids if i is not None}
    for tag in session.exec(
        select(ModelTag).where(col(ModelTag.model_id).in_(ids)).order_by(col(ModelTag.id))
    ):
        tags[tag.model_id].append(tag.tag)
    aliases: dict[int, dict[str, str]] = {i: {} for i in ids if i is not None}
    by_run: dict[int, list[str]] = {}
    runs: dict[int, list[TrainingRun]] = {i: [] for i in ids if i is not None}
    summary_columns = (  # what a version summary and the model's metrics need, not the runs' whole rows
        TrainingRun.id,
        TrainingRun.predictor_id,
        TrainingRun.version,
        TrainingRun.status,
        TrainingRun.algorithm,
        TrainingRun.model_algorithm,
        TrainingRun.metrics,
        TrainingRun.created_at,
    )
    for run in session.exec(
        select(TrainingRun)
        .options(load_only(*summary_columns))  # type: ignore[arg-type]
        .where(col(TrainingRun.predictor_id).in_(ids))
        .order_by(col(TrainingRun.version).desc())
    ):
        runs[run.predictor_id].append(run)
    versions = {run.id: run for group in runs.values() for run in group}
    for alias in session.exec(select(ModelAlias).where(col(ModelAlias.model_id).in_(ids))):
        aliased = versions.get(alias.train_id)
        if aliased is not None:
            aliases[alias.model_id][alias.alias] = lifecycle.version_name(aliased)
            by_run.setdefault(alias.train_id, []).append(alias.alias)
    out = []
    for model in models:
        assert model.id is not None
        shown = runs[model.id][:1] if latest_only else runs[model.id]
        metrics = model.metrics if model.metrics is not None else _latest_metrics(runs[model.id])
        out.append(
            ModelPublic(
                id=model.id,
                uid=model.uid,
                name=model.predictor_name,
                description=model.description,
                project_id=model.project_id,
                task=Task(model.task),
                model_type=model.model_type,
                template_id=model.template_id,
                ontology_id=model.template_id,
                dataset_id=model.dataset_id,
                target=model.target,
                training_config=model.training_config,
                metadata=model.model_metadata,
                metrics=metrics,
                performance_metrics=performance_part(metrics),
                training_metrics=training_part(metrics),
                tags=tags[model.id],
                owner=model.owner,
                status=ModelStatus(model.status),
                aliases=aliases[model.id],
                versions=[
                    VersionSummary(
                        version=lifecycle.version_name(run),
                        train_id=run.id,
                        status=run.status,
                        algorithm=run.model_algorithm or run.algorithm,
                        aliases=sorted(by_run.get(run.id, [])),  # type: ignore[arg-type]
                        created_at=run.created_at,
                    )
                    for run in shown
                ],
                created_by=model.created_by,
                updated_by=model.updated_by,
                created_at=model.created_at,
                updated_at=model.modified_at,
                columns_schema=model.columns_schema,
                spec=model.spec,
                capture_predictions=model.capture_predictions,
                drift=model.drift_settings,
                feedback=model.feedback_settings,
            )
        )
    return out


def check_spec(schema: ColumnsSchemaIn | None, spec: ModelSpec | None) -> None:
    """A spec names only the schema's columns as inputs, targets and metadata (when both are set)."""
    if schema is None or spec is None:
        return
    unknown = unknown_columns(spec, [c.name for c in schema.columns])
    if unknown:
        raise Invalid(f"the spec names columns the schema lacks: {', '.join(unknown)}")


def _json(value: ColumnsSchemaIn | ModelSpec | None) -> dict[str, Any] | None:
    return value.model_dump(mode="json") if value is not None else None


def performance_part(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The reference's ``performance_metrics``: a model's metrics but their training part."""
    if metrics is None:
        return None
    return {k: v for k, v in metrics.items() if k != TRAINING_KEY}


def training_part(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The reference's ``training_metrics``: what was reported about training, kept in the metrics."""
    found = (metrics or {}).get(TRAINING_KEY)
    return found if isinstance(found, dict) else None


def _metrics(session: Session, model: Predictor, data: ModelUpdate) -> dict[str, Any] | None:
    """The model's metrics after an update: ``metrics`` replaces them; ``performance_metrics`` and
    ``training_metrics`` each replace their part (of the stored ones, else the latest version's)."""
    if data.metrics is not None:
        return data.metrics
    if data.performance_metrics is None and data.training_metrics is None:
        return model.metrics
    current = model.metrics
    if current is None:
        current = _latest_metrics(versions_of(session, model))
    training = data.training_metrics if data.training_metrics is not None else training_part(current)
    sent = data.performance_metrics
    performance = performance_part(sent if sent is not None else current) or {}
    return {**performance, **({TRAINING_KEY: training} if training is not None else {})}


def _latest_metrics(runs: list[TrainingRun]) -> dict[str, Any] | None:
    """The newest completed version's metrics (runs come newest first)."""
    return next((run.metrics for run in runs if run.metrics is not None), None)


def public(session: Session, model: Predictor) -> ModelPublic:
    """A registered model as the API shows it."""
    return public_many(session, [model])[0]


def update_model(
    *, session: Session, principal: Principal, model_id: int | str, data: ModelUpdate
) -> Predictor:
    """Change any of a model's name, description, status, metrics, metadata, tags, owner, capture flag,
    drift and live-accuracy settings."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    if data.name is not None and data.name != model.predictor_name:
        _name_free(session, model.project_id, data.name, keep=model.id)
        model.predictor_name = data.name
    if data.description is not None:
        model.description = data.description
    model.metrics = _metrics(session, model, data)
    if data.metadata is not None:
        model.model_metadata = data.metadata
    if data.tags is not None:
        _set_tags(session, model, data.tags)
    if data.owner is not None:
        model.owner = data.owner
    if data.columns_schema is not None or data.spec is not None:
        # Each is checked against the other as it will be stored: the one sent, else the one stored.
        schema = data.columns_schema or (
            ColumnsSchemaIn.model_validate(model.columns_schema) if model.columns_schema is not None else None
        )
        spec = data.spec or (ModelSpec.model_validate(model.spec) if model.spec is not None else None)
        check_spec(schema, spec)
        model.columns_schema, model.spec = _json(schema), _json(spec)
    if data.capture_predictions is not None:
        model.capture_predictions = data.capture_predictions
    if data.drift is not None:
        if data.drift.enabled and model.task == Task.FORECASTING:
            raise Invalid(f"model {model.id} forecasts: drift is checked for predictions")
        model.drift_settings = data.drift.model_dump(mode="json")
        # Due at once when enabled: the next scheduled round checks it (monitoring/drift_schedule.py).
        model.drift_next_at = utcnow() if data.drift.enabled else None
    if data.feedback is not None:
        feedback_settings.check_settings(model, data.feedback)
        model.feedback_settings = data.feedback.model_dump(mode="json")
    if data.status is not None and data.status != model.status:
        if data.status is ModelStatus.TRAINING:
            raise Conflict(f"model {model.id} starts training through POST /models/{model.id}/train")
        lifecycle.change_status(session, model, data.status, principal.username)
    model.updated_by, model.modified_at = principal.username, utcnow()
    session.add(model)
    session.flush()
    return model


def delete_model(
    *,
    session: Session,
    ctx: Lake,
    jobs: RayJobs,
    principal: Principal,
    model_id: int | str,
    gateway: Gateway | None = None,
) -> None:
    """Remove a model and everything it owns: each version's jobs, deployment, tables and artifacts
    (``training.delete``), its tags, aliases and captured predictions; once committed, no replica
    serves any of it."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    runs = versions_of(session, model)
    ids = [run.id for run in runs]
    # Versions may share preprocessing among themselves; only a run of another model holds one back.
    states = select(PreprocessState.id).where(col(PreprocessState.source_run_id).in_(ids))
    outside = session.exec(
        select(TrainingRun.id).where(
            col(TrainingRun.preprocess_id).in_(states), col(TrainingRun.id).not_in(ids)
        )
    ).all()
    if outside:
        raise Conflict(
            f"model {model.id}'s preprocessing is used by run(s) {', '.join(map(str, outside))} of other "
            "models: switch them to another preprocess_id first (train/update)"
        )
    for run in runs:
        run.preprocess_id = None
        session.add(run)
    session.flush()
    for run in runs:
        assert run.id is not None
        training.delete(
            session=session, ctx=ctx, jobs=jobs, principal=principal, train_id=run.id, gateway=gateway
        )
    capture.forget_table(session, model.id)  # type: ignore[arg-type]
    session.delete(model)  # its artifacts' rows go with it (foreign key); their files go here
    session.flush()
    ctx.store.delete_prefix(artifacts_prefix(model.tenant_id, model.id))  # type: ignore[arg-type]
    capture.drop_table(ctx, model.id)  # type: ignore[arg-type]
