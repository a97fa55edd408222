"""Reference document 003 (models by name and version) at ``/compat/plexe``: its own paths, fields, envelopes
and status codes, mapped onto raylake's native services.

A model is addressed by its registry name; a version is the native one (``v1``, ``v2``, or an alias).
``POST /models/{name}`` creates the model (first time) and trains its next version on the upload (a
dataset id); the intent's words pick the target column (``raylake/ml/intent.py``). The native search
optimises a fixed objective per task; ``metric`` chooses the test figure reported as ``metric_value``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Body, Path, Request, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from raylake.core.vocabulary import JobStatus, ProblemType
from raylake.ml import intent as intents
from raylake.ml import recommend
from raylake.platform import lake
from raylake.platform.datasets import service as datasets
from raylake.platform.datasets.models import Dataset
from raylake.platform.db import session_scope
from raylake.platform.deps import (
    MAX_PAGE,
    TOTAL_COUNT,
    TOTAL_HEADER,
    InferenceRun,
    JobsDep,
    LakeDep,
    Limit,
    SessionDep,
    SettingsDep,
    Skip,
    TrainRead,
    TrainRun,
)
from raylake.platform.errors import Conflict, Invalid, NotFound
from raylake.platform.registry import router as registry_routes
from raylake.platform.registry import service, versions
from raylake.platform.registry.models import Predictor
from raylake.platform.tenancy import Principal
from raylake.schemas.registry import (
    Describe,
    InferRequest,
    ModelCreate,
    ModelPublic,
    ModelTrainRequest,
    ModelUpdate,
    TrainingConfig,
    VersionPublic,
)

from .plexe_schemas import DescribeOut, ModelCreateBody, ModelDetail, ModelOut, StatusOut

PREFIX = "/compat/plexe"
router = APIRouter(prefix=PREFIX, tags=["compat: models by name"])

ModelName = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f/\\]+$")]
ModelVersion = Annotated[str, Path(min_length=1, max_length=64)]
# The document's run statuses for raylake's.
STATUS = {
    JobStatus.SUBMITTED: "pending",
    JobStatus.SUBMITTED_TO_RAY: "pending",
    JobStatus.RUNNING: "processing",
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "failed",
}
# Metric names a client may send, to the test figures native training reports (ml/metrics.py).
METRICS = {
    ProblemType.CLASSIFICATION: {
        "accuracy": "accuracy",
        "precision": "precision",
        "recall": "recall",
        "f1": "f1_score",
        "f1_score": "f1_score",
        "roc_auc": "roc_auc",
        "auc": "roc_auc",
        "log_loss": "log_loss",
        "logloss": "log_loss",
        "cross_entropy": "log_loss",
    },
    ProblemType.REGRESSION: {
        "r2": "r2",
        "r_squared": "r2",
        "rmse": "rmse",
        "mse": "rmse",
        "root_mean_squared_error": "rmse",
        "mae": "mae",
        "mean_absolute_error": "mae",
        "mape": "mape",
    },
}
DEFAULT_METRIC = {ProblemType.CLASSIFICATION: "accuracy", ProblemType.REGRESSION: "r2"}


def metric_key(problem: ProblemType, metric: str | None) -> str:
    """The native test figure a metric name means for a problem (422 naming the valid names)."""
    if metric is None:
        return DEFAULT_METRIC[problem]
    names = METRICS[problem]
    key = re.sub(r"[^a-z0-9]+", "_", metric.lower().replace("²", "2")).strip("_")
    if key not in names:
        raise Invalid(f"metric {metric!r} is not reported for {problem.lower()}; valid: {', '.join(names)}")
    return names[key]


def _find(session: Session, principal: Principal, name: str) -> Predictor | None:
    """The caller's tenant's model of that name (409 when several projects have one)."""
    rows, _ = service.list_models(session=session, principal=principal, filters=[f"name:{name}"], limit=2)
    if len(rows) > 1:
        raise Conflict(f"several projects have a model named {name!r}: use /api/v1/models by id")
    return rows[0] if rows else None


def _model(session: Session, principal: Principal, name: str) -> Predictor:
    found = _find(session, principal, name)
    if found is None:
        raise NotFound(f"Model {name!r} not found")
    return found


def _target(dataset: Dataset, intent: str) -> str:
    columns = [spec["name"] for spec in dataset.column_specs]
    try:
        return intents.target_from_intent(intent, columns)
    except intents.AmbiguousIntent as exc:
        raise Invalid(f"{exc}: candidate columns: {', '.join(exc.candidates)}") from None


def _task(ctx: lake.Lake, dataset: Dataset, target: str) -> Any:
    """The task the target's values suggest (``ml/recommend.infer_task``)."""
    if not dataset.is_valid or dataset.snapshot_id is None or not dataset.iceberg_table_name:
        raise Invalid(f"upload {dataset.id} has no validated rows to train on")
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    series = pl.scan_iceberg(table, snapshot_id=dataset.snapshot_id).select(target).collect()[target]
    declared = {spec["name"]: spec["data_type"] for spec in dataset.column_specs}
    try:
        return recommend.infer_task(series, declared[target])
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _out(model: ModelPublic, version: VersionPublic | None) -> dict[str, Any]:
    """A model (and one version of it) in the document's fields."""
    meta = model.metadata
    problem = model.task.problem_type
    key = meta.get("metric") or DEFAULT_METRIC.get(problem)
    out: dict[str, Any] = {
        "model_id": model.uid,
        "model_name": model.name,
        "model_version": version.version if version else None,
        "status": STATUS[JobStatus(version.status)] if version else "pending",
        "created_at": model.created_at,
        "intent": meta.get("intent"),
        "provider": model.model_type,
        "upload_id": str(version.dataset_id) if version and version.dataset_id else None,
    }
    metrics = version.metrics if version else None
    if key and metrics and isinstance(metrics.get(key), int | float):
        out |= {"metric_name": key, "metric_value": metrics[key]}
    return out


def _latest(session: Session, principal: Principal, model: Predictor) -> VersionPublic | None:
    found = versions.list_versions(session=session, principal=principal, model_id=model.uid)
    return found[0] if found else None


@router.get(
    "/models", response_model=list[ModelOut], response_model_exclude_none=True, responses=TOTAL_HEADER
)
def list_models(
    session: SessionDep, principal: TrainRead, response: Response, skip: Skip = 0, limit: Limit = MAX_PAGE
) -> list[dict[str, Any]]:
    """The caller's tenant's models (all of them up to ``limit``), each with its latest version."""
    rows, total = service.list_models(session=session, principal=principal, limit=limit, offset=skip)
    response.headers[TOTAL_COUNT] = str(total)
    return [_out(service.public(session, model), _latest(session, principal, model)) for model in rows]


@router.post(
    "/models/{model_name}", response_model=ModelOut, status_code=201, response_model_exclude_none=True
)
def create_model(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    jobs: JobsDep,
    principal: TrainRun,
    model_name: ModelName,
    body: ModelCreateBody,
) -> dict[str, Any]:
    """Create the model (or find it by name) and start its next version on the upload."""
    dataset = datasets.get_dataset(session=session, principal=principal, dataset_id=int(body.upload_id))
    target = _target(dataset, body.intent)
    model = _find(session, principal, model_name)
    if model is None:
        task = _task(ctx, dataset, target)
        meta = {"intent": body.intent, "metric": metric_key(task.problem_type, body.metric)}
        data = ModelCreate(
            name=model_name,
            task=task,
            model_type=body.provider,
            dataset_id=dataset.id,
            target=target,
            metadata=meta,
            training_config=TrainingConfig(),
        )
        model = service.create_model(session=session, principal=principal, data=data)
    else:
        if model.target != target:
            raise Conflict(f"model {model_name!r} predicts {model.target}; the intent names {target}")
        meta = {**model.model_metadata, "intent": body.intent}
        if body.metric is not None:
            meta["metric"] = metric_key(ProblemType(model.problem_type), body.metric)
        update = ModelUpdate(metadata=meta)
        model = service.update_model(session=session, principal=principal, model_id=model.uid, data=update)
    assert model.id is not None
    run = versions.train(
        session=session,
        settings=settings,
        ctx=ctx,
        jobs=jobs,
        principal=principal,
        model_id=model.id,
        body=ModelTrainRequest(dataset_id=dataset.id),
    )
    version = versions.get_version(
        session=session, principal=principal, model_id=model.id, version=f"v{run.version}"
    )
    return _out(service.public(session, model), version) | {"upload_id": str(dataset.id)}


def _output_schema(described: Describe) -> dict[str, Any]:
    """The flat outputs ``infer`` answers, as a JSON Schema (see ``flat_outputs``)."""
    target = described.target or "prediction"
    native = described.output_schema["properties"]
    properties: dict[str, Any] = {target: native["prediction"]}
    labels = list(native.get("probabilities", {}).get("properties", {}))
    if len(labels) == 2:
        properties[f"{target}_probability"] = {"type": "number"}
    for label in labels if len(labels) > 2 else []:
        properties[f"{target}_probability_{label}"] = {"type": "number"}
    return {"type": "object", "properties": properties}


@router.get(
    "/models/{model_name}/{model_version}", response_model=ModelDetail, response_model_exclude_none=True
)
def read_model(
    session: SessionDep, principal: TrainRead, model_name: ModelName, model_version: ModelVersion
) -> dict[str, Any]:
    """One version of a model with its input and output JSON Schemas."""
    model = _model(session, principal, model_name)
    version = versions.get_version(
        session=session, principal=principal, model_id=model.uid, version=model_version
    )
    described = versions.describe(
        session=session, principal=principal, model_id=model.uid, version=model_version
    )
    return _out(service.public(session, model), version) | {
        "input_schema": described.input_schema,
        "output_schema": _output_schema(described),
    }


@router.get("/models/{model_name}/{model_version}/status", response_model=StatusOut)
def read_status(
    session: SessionDep, principal: TrainRead, model_name: ModelName, model_version: ModelVersion
) -> StatusOut:
    """A version's training status; its metric once completed, its error once failed."""
    model = _model(session, principal, model_name)
    version = versions.get_version(
        session=session, principal=principal, model_id=model.uid, version=model_version
    )
    out = _out(service.public(session, model), version)
    status = out["status"]
    result = {k: out[k] for k in ("metric_name", "metric_value") if k in out} or None
    return StatusOut(status=status, result=result, error=version.error if status == "failed" else None)


@router.get("/models/{model_name}/{model_version}/describe", response_model=DescribeOut)
def describe(
    session: SessionDep, principal: TrainRead, model_name: ModelName, model_version: ModelVersion
) -> DescribeOut:
    """A version described: features, target and test performance."""
    model = _model(session, principal, model_name)
    described = versions.describe(
        session=session, principal=principal, model_id=model.uid, version=model_version
    )
    return DescribeOut.model_validate(described.model_dump(include=set(DescribeOut.model_fields)))


def flat_outputs(target: str, result: dict[str, Any]) -> dict[str, Any]:
    """A native answer (``prediction``, ``probabilities``) named after the target: ``<target>``, and
    ``<target>_probability`` (of the second class, the positive one) or ``<target>_probability_<label>``."""
    out = {k: v for k, v in result.items() if k not in ("prediction", "probabilities")}
    out[target] = result["prediction"]
    probabilities = result.get("probabilities") or {}
    if len(probabilities) == 2:
        out[f"{target}_probability"] = list(probabilities.values())[1]
    elif probabilities:
        out |= {f"{target}_probability_{label}": p for label, p in probabilities.items()}
    return out


def _addressed(request: Request, principal: Principal, name: str, version: str) -> tuple[int, str]:
    """The model's id and its version's target, for the native ``infer``."""
    with session_scope(request.app.state.engine) as session:
        model = _model(session, principal, name)
        assert model.id is not None
        described = versions.describe(
            session=session, principal=principal, model_id=model.id, version=version
        )
        return model.id, described.target or "prediction"


@router.post("/models/{model_name}/{model_version}/infer")
async def infer(
    request: Request,
    principal: InferenceRun,
    model_name: ModelName,
    model_version: ModelVersion,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """Flat named fields in, flat outputs back (``{"instances": [...]}`` for many rows)."""
    model_id, target = await run_in_threadpool(_addressed, request, principal, model_name, model_version)
    try:
        native = InferRequest.model_validate(body)
    except ValidationError as exc:
        raise Invalid(f"instances: {exc.errors()[0]['msg']}") from None
    answer = await registry_routes.infer(request, principal, str(model_id), model_version, native)
    if "predictions" in answer:
        return {"predictions": [flat_outputs(target, row) for row in answer["predictions"]]}
    return flat_outputs(target, answer)
