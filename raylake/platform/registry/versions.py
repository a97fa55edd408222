"""A model's versions (its training runs): naming them (``v3``, ``3`` or an alias), listing them,
aliases, training the next one, and describing one.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from raylake.core.types import DataType
from raylake.core.vocabulary import ColumnAttribute, JobStatus, ModelStatus, ModelType, ProblemType
from raylake.ml import algorithms
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.errors import Conflict, Invalid, NotFound
from raylake.platform.jobs import RayJobs
from raylake.platform.lake import Lake
from raylake.platform.registry import lifecycle
from raylake.platform.registry.models import ModelAlias, Predictor
from raylake.platform.registry.service import get_model, versions_of
from raylake.platform.tenancy import Principal
from raylake.platform.training import service as training
from raylake.platform.training.models import TrainingRun
from raylake.schemas.registry import AliasPublic, Describe, ModelTrainRequest, TrainingConfig, VersionPublic
from raylake.schemas.training import ColumnRoleIn, TrainRequest

_NUMBERED = re.compile(r"^[vV]?([0-9]{1,9})$")
JSON_TYPES = {
    DataType.STRING: {"type": "string"},
    DataType.INTEGER: {"type": "integer"},
    DataType.FLOAT: {"type": "number"},
    DataType.BOOLEAN: {"type": "boolean"},
    DataType.DATE: {"type": "string", "format": "date"},
    DataType.DATETIME: {"type": "string", "format": "date-time"},
}


def resolve(session: Session, model: Predictor, version: str) -> TrainingRun:
    """The run a version names: ``v3`` or ``3``, else an alias of the model (404 when neither)."""
    numbered = _NUMBERED.match(version.strip())
    if numbered:
        run = session.exec(
            select(TrainingRun).where(
                TrainingRun.predictor_id == model.id, TrainingRun.version == int(numbered.group(1))
            )
        ).first()
    else:
        alias = session.exec(
            select(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == version.strip())
        ).first()
        run = session.get(TrainingRun, alias.train_id) if alias is not None else None
    if run is None:
        raise NotFound(f"model {model.id} has no version or alias {version!r}")
    return run


def aliases_by_version(session: Session, model: Predictor) -> dict[int, list[str]]:
    """The model's aliases by the version (train id) they point at, each list sorted: one query."""
    found: dict[int, list[str]] = {}
    rows = session.exec(
        select(ModelAlias.train_id, ModelAlias.alias)
        .where(ModelAlias.model_id == model.id)
        .order_by(col(ModelAlias.alias))
    )
    for train_id, alias in rows:
        found.setdefault(train_id, []).append(alias)
    return found


def public(model: Predictor, run: TrainingRun, aliases: dict[int, list[str]]) -> VersionPublic:
    """A model version as the API shows it, with its aliases (``aliases_by_version``)."""
    assert model.id is not None and run.id is not None
    return VersionPublic(
        model_id=model.id,
        version=lifecycle.version_name(run),
        train_id=run.id,
        status=run.status,
        stage=run.stage,
        percent=run.percent,
        error=run.error,
        algorithm=run.model_algorithm or run.algorithm,
        dataset_id=run.dataset_id,
        dataset_name=run.dataset_name,
        snapshot_id=run.snapshot_id,
        metrics=run.metrics,
        artifact_key=run.artifact_key,
        aliases=aliases.get(run.id, []),
        created_by=run.created_by,
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


def list_versions(*, session: Session, principal: Principal, model_id: int | str) -> list[VersionPublic]:
    """Every version of a model the caller may see."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    aliases = aliases_by_version(session, model)
    return [public(model, run, aliases) for run in versions_of(session, model)]


def get_version(
    *, session: Session, principal: Principal, model_id: int | str, version: str
) -> VersionPublic:
    """One version of a model, by number or alias."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    return public(model, resolve(session, model, version), aliases_by_version(session, model))


def set_alias(
    *, session: Session, principal: Principal, model_id: int | str, alias: str, version: str
) -> AliasPublic:
    """Point an alias at a version (moving it when it named another)."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    if _NUMBERED.match(alias):
        raise Invalid(f"alias {alias!r} reads as a version number: choose a name")
    run = resolve(session, model, version)
    assert model.id is not None and run.id is not None
    row = session.exec(
        select(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias)
    ).first()
    if row is None:
        row = ModelAlias(
            tenant_id=model.tenant_id,
            model_id=model.id,
            alias=alias,
            train_id=run.id,
            created_by=principal.username,
        )
    row.train_id, row.created_by, row.updated_at = run.id, principal.username, utcnow()
    session.add(row)
    session.flush()
    return AliasPublic(model_id=model.id, alias=alias, version=lifecycle.version_name(run), train_id=run.id)


def delete_alias(*, session: Session, principal: Principal, model_id: int | str, alias: str) -> None:
    """Remove an alias from a model; NotFound when it has no such alias."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    row = session.exec(
        select(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias)
    ).first()
    if row is None:
        raise NotFound(f"model {model.id} has no alias {alias!r}")
    session.delete(row)
    session.flush()


def training_dataset(body: ModelTrainRequest) -> int | None:
    """The dataset a train request names: ``dataset_id``, or the one id of the reference's
    ``storage_config_ids`` (422 for none, several, or one that disagrees with ``dataset_id``)."""
    ids = body.storage_config_ids
    if ids is None:
        return body.dataset_id
    if not ids:
        raise Invalid(
            "storage_config_ids is empty: raylake trains on a dataset of yours, never on synthetic data; "
            "give one dataset id (or leave storage_config_ids out to use the model's dataset)"
        )
    if len(set(ids)) > 1:
        raise Invalid(f"a version trains on one dataset: give one id in storage_config_ids, not {len(ids)}")
    if body.dataset_id is not None and body.dataset_id != ids[0]:
        raise Invalid("storage_config_ids and dataset_id name different datasets: give one")
    return ids[0]


def train_request(model: Predictor, body: ModelTrainRequest) -> TrainRequest:
    """What ``POST /train/`` would be asked to train this model's next version (422 when the model
    does not say enough: its dataset and target)."""
    config = {
        **model.training_config,
        **(body.training_config or TrainingConfig()).model_dump(exclude_none=True),
    }
    dataset_id = training_dataset(body) or model.dataset_id
    if dataset_id is None:
        raise Invalid(f"model {model.id} has no dataset: give dataset_id")
    columns = [ColumnRoleIn.model_validate(c) for c in config.get("columns") or []]
    if model.target and not any(c.column_name == model.target for c in columns):
        columns.append(ColumnRoleIn(column_name=model.target, attribute_name=ColumnAttribute.TARGET))
    if not any(c.attribute_name.lower() == "target" for c in columns):
        raise Invalid(f"model {model.id} has no target: set its target or a Target column in training_config")
    problem = ProblemType(model.problem_type)
    if "algorithm" in config:
        algorithm = config["algorithm"]
    elif problem is ProblemType.FORECASTING or model.model_type == ModelType.FORECASTER:
        algorithm = None
    else:
        algorithm = algorithms.algorithm_for(model.model_type, problem)
    fields = (
        "params",
        "time_budget_s",
        "seed",
        "shap_enabled",
        "forecast_horizon",
        "frequency",
        "interval_level",
    )
    try:
        return TrainRequest(
            dataset_id=dataset_id,
            predictor_name=model.predictor_name,
            domain=config.get("domain") or model.domain,
            problem_type=problem.value,
            columns=columns,
            algorithm=algorithm,
            **{k: config[k] for k in fields if k in config},
        )
    except ValueError as exc:
        raise Invalid(f"model {model.id}'s training configuration is not valid: {exc}") from None


def train(
    *,
    session: Session,
    settings: Settings,
    ctx: Lake,
    jobs: RayJobs,
    principal: Principal,
    model_id: int | str,
    body: ModelTrainRequest,
) -> TrainingRun:
    """Start the model's next version on Ray (the model becomes ``training``)."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    if body.model_id is not None and str(body.model_id).lower() not in (str(model.id), model.uid):
        raise Invalid(f"the body's model_id {body.model_id} is not the model in the path ({model.id})")
    lifecycle.check_usable(model, "trained")
    request = train_request(model, body)
    return training.create(
        session=session,
        settings=settings,
        ctx=ctx,
        jobs=jobs,
        principal=principal,
        request=request,
        model=model,
    )


def servable(session: Session, principal: Principal, model_id: int | str, version: str) -> TrainingRun:
    """The completed run a version names, for predictions (409 for a draft or archived model)."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    lifecycle.check_usable(model, "used for predictions")
    if model.status == ModelStatus.DRAFT:
        raise Conflict(f"model {model.id} is a draft: train it first (POST /models/{model.id}/train)")
    run = resolve(session, model, version)
    if run.status != JobStatus.COMPLETED:
        raise Conflict(
            f"version {lifecycle.version_name(run)} of model {model.id} is {run.status}, not completed"
        )
    return run


def _json_type(column: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(JSON_TYPES[DataType(column["data_type"])])
    except ValueError:
        return {}


def describe(*, session: Session, principal: Principal, model_id: int | str, version: str) -> Describe:
    """A version described: its features, target, test performance, and request/response JSON Schemas."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    run = resolve(session, model, version)
    inputs = [c for c in run.columns if c["attribute"] in ("Id", "Feature", "Time")]
    target = next((c for c in run.columns if c["attribute"] == "Target"), None)
    metrics = run.metrics or {}
    performance = {k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    labels = metrics.get("labels")
    output: dict[str, Any] = {"prediction": _json_type(target) if target else {}}
    if model.problem_type == ProblemType.CLASSIFICATION:
        output["probabilities"] = {
            "type": "object",
            "additionalProperties": {"type": "number"},
            **({"properties": {str(label): {"type": "number"} for label in labels}} if labels else {}),
        }
        if labels:
            output["prediction"] = {**output["prediction"], "enum": labels}
    described = model.description or (
        f"{model.task.replace('_', ' ')} of {target['name'] if target else 'its target'} "
        f"by {run.model_algorithm or run.algorithm}, version {lifecycle.version_name(run)} ({run.status}), "
        f"trained on dataset {run.dataset_name!r}"
    )
    return Describe(
        model_id=model.id,
        version=lifecycle.version_name(run),
        description=described,
        features=[c["name"] for c in inputs if c["attribute"] != "Id"],
        target=target["name"] if target else None,
        performance=performance,
        input_schema={
            "type": "object",
            "properties": {c["name"]: _json_type(c) for c in inputs},
            "required": [c["name"] for c in inputs if c["attribute"] != "Id" and c.get("default") is None],
        },
        output_schema={"type": "object", "properties": output, "required": ["prediction"]},
    )
