"""Reference document 002 (MLConnector) at ``/compat/mlconnector``: its own paths, fields, envelopes
and status codes, mapped onto raylake's native services.

Models are registry models (``modelid`` is the native id; a uid works too), uploads are artifacts (a
model file is registered as the next version, pickles refused), training is ``POST /models/{id}/train``,
deployments are the native dedicated deployments (``deployment_id`` is the native id) and their calls
its operations log. Errors answer in the document's ``HTTPValidationError`` shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from raylake.core.types import DataType
from raylake.core.vocabulary import ArtifactKind, DriftMethod, Task
from raylake.platform.deps import (
    TOTAL_COUNT,
    TOTAL_HEADER,
    ForgetServables,
    JobsDep,
    LakeDep,
    Limit,
    SessionDep,
    SettingsDep,
    Skip,
    TrainRead,
    TrainRun,
)
from raylake.platform.errors import Invalid, error_shape
from raylake.platform.inference.deps import GatewayDep
from raylake.platform.registry import artifacts, external, service, versions
from raylake.platform.registry.paths import ModelRef
from raylake.platform.uploads import staged_uploads
from raylake.schemas.artifacts import ExternalVersionCreate, SignatureInput
from raylake.schemas.drift import DriftSettings
from raylake.schemas.registry import ModelCreate, ModelPublic, ModelTrainRequest, ModelUpdate

from . import mlconnector_deployments
from .mlconnector_schemas import (
    PREFIX,
    DriftDetection,
    FileSchema,
    MLModel,
    MLModelCreate,
    MLModelUpdate,
    MLTrain,
    MLTrainCreate,
)

router = APIRouter(prefix=PREFIX, tags=["compat: MLConnector"])

# The document's drift method numbers, in order.
DRIFT_METHODS = [DriftMethod.PSI, DriftMethod.KS, DriftMethod.JS, DriftMethod.CHI2]
# The document's model kinds (and native task names) to native tasks.
KINDS: dict[str, list[Task]] = {
    "classification": [Task.BINARY_CLASSIFICATION, Task.MULTICLASS_CLASSIFICATION],
    "classifier": [Task.BINARY_CLASSIFICATION, Task.MULTICLASS_CLASSIFICATION],
    "regression": [Task.REGRESSION],
    "regressor": [Task.REGRESSION],
    "clustering": [],
    **{task.value: [task] for task in Task if task is not Task.FORECASTING},
}
# A featurelist item's type to a column data type.
TYPES = {
    "num": DataType.FLOAT,
    "numeric": DataType.FLOAT,
    "number": DataType.FLOAT,
    "float": DataType.FLOAT,
    "double": DataType.FLOAT,
    "int": DataType.INTEGER,
    "integer": DataType.INTEGER,
    "cat": DataType.STRING,
    "categorical": DataType.STRING,
    "category": DataType.STRING,
    "str": DataType.STRING,
    "string": DataType.STRING,
    "text": DataType.STRING,
    "bool": DataType.BOOLEAN,
    "boolean": DataType.BOOLEAN,
    "date": DataType.DATE,
    "datetime": DataType.DATETIME,
}
DOC_FIELDS = (
    "hyperparameter",
    "modelperformance",
    "trainingresource",
    "runresource",
    "featurelist",
    "inference",
)


def http_validation_error(status: int, kind: str, detail: Any, fields: list[dict[str, Any]] | None) -> dict:
    """The document's ``HTTPValidationError`` for 422s (``detail``: a list of ``loc``, ``msg``, ``type``);
    raylake's ``{"error", "detail"}`` otherwise. ``error`` names the kind in both."""
    if fields is not None:
        items = [{"loc": f["loc"], "msg": f["msg"], "type": "value_error"} for f in fields]
        return {"detail": items, "error": kind}
    if status == 422:
        return {"detail": [{"loc": ["body"], "msg": str(detail), "type": "value_error"}], "error": kind}
    return {"error": kind, "detail": detail}


error_shape(PREFIX, http_validation_error)


# --------------------------------------------------------------------------------------------- models


def _task(kind: str) -> Task:
    tasks = KINDS.get(kind.strip().lower())
    if not tasks:
        raise Invalid(f"modelkind {kind!r} is not served here; valid: classification, regression")
    return tasks[0]


def _drift(items: list[DriftDetection], stored: dict[str, Any] | None) -> DriftSettings:
    """The document's drift switch and method number over the model's other drift settings."""
    settings = DriftSettings.model_validate(stored or {})
    if not items:
        return settings
    return settings.model_copy(
        update={"enabled": bool(items[0].is_true), "method": DRIFT_METHODS[items[0].method]}
    )


def _mlmodel(model: ModelPublic) -> MLModel:
    kept = model.metadata.get("mlconnector", {})
    drift = model.drift or DriftSettings()
    return MLModel(
        modelid=str(model.id),
        modelname=model.name,
        modelkind=kept.get("modelkind", model.task),
        **{name: kept.get(name, []) for name in DOC_FIELDS},
        modeltags=model.tags,
        drift_detection=[
            DriftDetection(is_true=int(drift.enabled), method=DRIFT_METHODS.index(drift.method))
        ],
        status=model.status,
        versions=[v.version for v in model.versions],
        dataset_id=model.dataset_id,
        target=model.target,
        created_at=model.created_at,
    )


def _kept(body: MLModelUpdate, before: dict[str, Any]) -> dict[str, Any]:
    """The document's fields raylake has no column for, kept in the model's metadata."""
    sent = body.model_dump(include={*DOC_FIELDS, "modelkind"}, exclude_none=True)
    return {**before, "mlconnector": {**before.get("mlconnector", {}), **sent}}


@router.post("/model/add", response_model=MLModel, status_code=201)
def add_model(session: SessionDep, principal: TrainRun, body: MLModelCreate) -> MLModel:
    """Register a model's metadata (a draft until trained or given a model file)."""
    data = ModelCreate(
        name=body.modelname,
        task=_task(body.modelkind),
        model_type=body.model_type,
        dataset_id=body.dataset_id,
        target=body.target,
        tags=body.modeltags or [],
        metadata=_kept(body, {"class_order": body.class_order} if body.class_order else {}),
    )
    model = service.create_model(session=session, principal=principal, data=data)
    if body.drift_detection:
        drift = _drift(body.drift_detection, None)
        model = service.update_model(
            session=session, principal=principal, model_id=model.uid, data=ModelUpdate(drift=drift)
        )
    return _mlmodel(service.public(session, model))


@router.get("/model/all", response_model=list[MLModel], responses=TOTAL_HEADER)
def all_models(
    session: SessionDep, principal: TrainRead, response: Response, skip: Skip = 0, limit: Limit = 100
) -> list[MLModel]:
    """The tenant's models as the document lists them, a page at a time (the total in X-Total-Count)."""
    rows, total = service.list_models(session=session, principal=principal, offset=skip, limit=limit)
    response.headers[TOTAL_COUNT] = str(total)
    return [_mlmodel(m) for m in service.public_many(session, rows)]


@router.get("/model/getkind/{modelkind}", response_model=list[MLModel])
def models_of_kind(session: SessionDep, principal: TrainRead, modelkind: str) -> list[MLModel]:
    """The models of one kind (classification, regression; clustering has none), oldest first."""
    tasks = KINDS.get(modelkind.strip().lower())
    if tasks is None:
        raise Invalid(f"modelkind {modelkind!r}: valid: classification, regression, clustering")
    found = []
    for task in tasks:
        rows, _ = service.list_models(session=session, principal=principal, task=task, limit=1000)
        found.extend(service.public_many(session, rows))
    return [_mlmodel(m) for m in sorted(found, key=lambda m: m.id)]


@router.get("/model/search", response_model=list[MLModel], responses=TOTAL_HEADER)
def search_models(
    session: SessionDep,
    principal: TrainRead,
    response: Response,
    tags: Annotated[list[str] | None, Query(max_length=20)] = None,
    skip: Skip = 0,
    limit: Limit = 100,
) -> list[MLModel]:
    """Models carrying every tag given."""
    rows, total = service.list_models(
        session=session, principal=principal, tags=tags or (), offset=skip, limit=limit
    )
    response.headers[TOTAL_COUNT] = str(total)
    return [_mlmodel(m) for m in service.public_many(session, rows)]


@router.patch("/model/{model_id}", dependencies=[ForgetServables])
def update_model(
    session: SessionDep, principal: TrainRun, model_id: ModelRef, body: MLModelUpdate
) -> Response:
    """Change a model's name, tags, drift detection or the document's other fields (kept in its metadata)."""
    model = service.get_model(session=session, principal=principal, model_id=model_id)
    data = ModelUpdate(
        name=body.modelname,
        tags=body.modeltags,
        metadata=_kept(body, model.model_metadata),
        drift=_drift(body.drift_detection, model.drift_settings) if body.drift_detection else None,
    )
    service.update_model(session=session, principal=principal, model_id=model_id, data=data)
    return Response(status_code=200)


@router.delete("/model/{model_id}", dependencies=[ForgetServables])
def delete_model(
    session: SessionDep,
    ctx: LakeDep,
    jobs: JobsDep,
    gateway: GatewayDep,
    principal: TrainRun,
    model_id: ModelRef,
) -> Response:
    """Delete a model with everything it owns (versions, deployments, files, lake tables)."""
    service.delete_model(
        session=session, ctx=ctx, jobs=jobs, principal=principal, model_id=model_id, gateway=gateway
    )
    return Response(status_code=200)


def _signature(model: ModelPublic) -> list[SignatureInput] | None:
    """The inputs a featurelist names (``feature_name`` or ``name``, and ``type``), in its order."""
    items = model.metadata.get("mlconnector", {}).get("featurelist") or []
    inputs = []
    for item in items:
        name = item.get("feature_name") or item.get("name")
        if not name or name == model.target:
            continue
        kind = str(item.get("type", "num")).strip().lower()
        if kind not in TYPES:
            raise Invalid(f"featurelist: {name!r} has type {kind!r}; valid: {', '.join(TYPES)}")
        inputs.append(SignatureInput(name=name, data_type=TYPES[kind]))
    return inputs or None


@router.post(
    "/model/{model_id}/upload", response_model=FileSchema, status_code=201, dependencies=[ForgetServables]
)
def upload(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    principal: TrainRun,
    model_id: ModelRef,
    file: Annotated[UploadFile, File()],
    file_kind: Annotated[ArtifactKind, Form()],
) -> FileSchema:
    """Store a file with the model; a model file is registered as its next version at once, with the
    featurelist as its inputs (422 for a pickle, advising ONNX or skops; nothing is kept then)."""
    model = service.get_model(session=session, principal=principal, model_id=model_id)
    with staged_uploads(settings, [file]) as staged:
        artifact = artifacts.upload(
            session=session,
            ctx=ctx,
            principal=principal,
            model_id=model.uid,
            file_kind=file_kind,
            staged=staged[0],
        )
    version = None
    if file_kind is ArtifactKind.MODEL:
        public = service.public(session, model)
        body = ExternalVersionCreate(
            artifact_id=artifact.uid,
            inputs=_signature(public),
            class_order=model.model_metadata.get("class_order"),
            target=model.target,
        )
        run = external.register(session=session, ctx=ctx, principal=principal, model_id=model.uid, body=body)
        version = f"v{run.version}"
    return FileSchema(
        fileid=str(artifact.id),
        modelid=str(model.id),
        filename=artifact.filename,
        file_kind=artifact.file_kind,
        format=artifact.format,
        size=artifact.size,
        sha256=artifact.sha256,
        created_at=artifact.created_at,
        version=version,
    )


# ------------------------------------------------------------------------------------------- training


@router.post("/mltraining/add", response_model=MLTrain, status_code=201)
def add_training(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    jobs: JobsDep,
    principal: TrainRun,
    body: MLTrainCreate,
) -> MLTrain:
    """Train the model's next version on its dataset (``dataset_id`` on the model, or here)."""
    if (body.placement.clusterID, body.placement.node) != ("*", "*"):
        raise Invalid("training runs where Ray schedules it: give placement clusterID and node as '*'")
    run = versions.train(
        session=session,
        settings=settings,
        ctx=ctx,
        jobs=jobs,
        principal=principal,
        model_id=str(body.modelid),
        body=ModelTrainRequest(dataset_id=body.dataset_id),
    )
    return MLTrain(
        modelid=str(run.predictor_id),
        trainid=str(run.id),
        version=f"v{run.version}",
        status=run.status,
        placement=body.placement,
    )


# ---------------------------------------------------------------------------------------- deployments


# The document's deployment routes, under this router's prefix, tag and error shape.
router.include_router(mlconnector_deployments.router)
