"""Reference document 002 (MLConnector) at ``/compat/mlconnector``: its own paths, fields, envelopes
and status codes, mapped onto raylake's native services.

Models are registry models (``modelid`` is the native id; a uid works too), uploads are artifacts (a
model file is registered as the next version, pickles refused), training is ``POST /models/{id}/train``,
deployments are the native dedicated deployments (``deployment_id`` is the native id) and their calls
its operations log. Errors answer in the document's ``HTTPValidationError`` shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from raylake.core.types import DataType
from raylake.core.vocabulary import ArtifactKind, DriftMethod, Task
from raylake.platform.deployments import operations, predict
from raylake.platform.deployments import service as deployments
from raylake.platform.deployments.deps import DeploymentRef, OperationLogDep, PredictCall
from raylake.platform.deps import (
    TOTAL_COUNT,
    TOTAL_HEADER,
    ForgetServables,
    InferenceRead,
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
from raylake.platform.errors import Invalid, error_shape
from raylake.platform.inference.deps import GatewayDep
from raylake.platform.registry import artifacts, external, service, versions
from raylake.platform.registry.paths import ModelRef
from raylake.platform.uploads import staged_uploads
from raylake.schemas.artifacts import ExternalVersionCreate, SignatureInput
from raylake.schemas.deployments import DeploymentCreate, DeploymentPredict, DeploymentPublic, PlacementIn
from raylake.schemas.drift import DriftSettings
from raylake.schemas.registry import ModelCreate, ModelPublic, ModelTrainRequest, ModelUpdate

from .mlconnector_schemas import (
    DeploymentStatusOut,
    DriftDetection,
    FileSchema,
    MLDeployment,
    MLDeploymentCreate,
    MLDeploymentOposCreate,
    MLDeploymentOposReturn,
    MLModel,
    MLModelCreate,
    MLModelUpdate,
    MLTrain,
    MLTrainCreate,
    Placement,
    PredictBody,
)

PREFIX = "/compat/mlconnector"
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
    rows, total = service.list_models(session=session, principal=principal, offset=skip, limit=limit)
    response.headers[TOTAL_COUNT] = str(total)
    return [_mlmodel(m) for m in service.public_many(session, rows)]


@router.get("/model/getkind/{modelkind}", response_model=list[MLModel])
def models_of_kind(session: SessionDep, principal: TrainRead, modelkind: str) -> list[MLModel]:
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


def _placement(placement: Placement) -> PlacementIn:
    """``clusterID``: nodes labelled ``raylake.io/cluster``; ``node``: a Ray node id or a node's address."""
    labels: dict[str, str] = {}
    resources: dict[str, float] = {}
    if placement.clusterID != "*":
        labels["raylake.io/cluster"] = placement.clusterID
    if placement.node != "*":
        if len(placement.node) == 56 and all(c in "0123456789abcdef" for c in placement.node.lower()):
            labels["ray.io/node-id"] = placement.node
        else:
            resources[f"node:{placement.node}"] = 0.001
    try:
        return PlacementIn(resources=resources, node_labels=labels)
    except ValueError as exc:
        raise Invalid(f"placement: {exc}") from None


def _deployment(row: DeploymentPublic, placement: dict[str, Any] | None = None) -> MLDeployment:
    return MLDeployment(
        deployment_id=str(row.id),
        modelid=str(row.model_id),
        ownerid=row.created_by,
        placement=placement or row.placement,
        status=row.status,
        version=row.version,
        endpoint=f"{PREFIX}/deployment/{row.id}/predict",
        reason=row.reason,
        created_at=row.created_at,
    )


@router.get("/deployment/all", response_model=list[MLDeployment], responses=TOTAL_HEADER)
def all_deployments(
    session: SessionDep,
    gateway: GatewayDep,
    principal: InferenceRead,
    response: Response,
    skip: Skip = 0,
    limit: Limit = 100,
) -> list[MLDeployment]:
    rows, total = deployments.list_deployments(
        session=session, principal=principal, model_id=None, limit=limit, offset=skip
    )
    response.headers[TOTAL_COUNT] = str(total)
    live = deployments.refresh(session=session, gateway=gateway, deployments=rows)
    return [_deployment(deployments.public(row, live.get(row.id or 0))) for row in rows]


@router.post("/deployment/add", response_model=MLDeployment, status_code=201, dependencies=[ForgetServables])
def add_deployment(
    session: SessionDep, gateway: GatewayDep, principal: InferenceRun, body: MLDeploymentCreate
) -> MLDeployment:
    """Deploy the model's latest completed version (or ``version``) on its own Serve application; the
    deployment's id is raylake's (a ``deployment_id`` sent is not used) and its owner the caller."""
    create = DeploymentCreate(
        model_id=str(body.modelid), version=body.version, placement=_placement(body.placement)
    )
    row = deployments.create(session=session, gateway=gateway, principal=principal, body=create)
    return _deployment(deployments.public(row), body.placement.model_dump())


@router.post("/deployment/add/operation", response_model=MLDeploymentOposReturn, status_code=201)
def add_operation(
    session: SessionDep, log: OperationLogDep, principal: InferenceRun, body: MLDeploymentOposCreate
) -> MLDeploymentOposReturn:
    """Record a call of a deployment in its operations log, under the caller's own name."""
    row = deployments.get_deployment(session=session, principal=principal, ref=str(body.deploymentid))
    assert row.id is not None
    model = service.get_model(session=session, principal=principal, model_id=str(body.modelid))
    if model.id != row.model_id:
        raise Invalid(f"deployment {row.id} serves model {row.model_id}, not {body.modelid}")
    log.record(
        tenant_id=row.tenant_id,
        deployment_id=row.id,
        caller=principal.username,
        status_code=200,
        latency_ms=0,
        rows=1,
    )
    return MLDeploymentOposReturn(
        ownerid=principal.username,
        deploymentid=str(row.id),
        modelid=str(row.model_id),
        status_code=200,
        rows=1,
    )


@router.get("/deployment/get/status/{deployment_id}", response_model=DeploymentStatusOut)
def deployment_status(
    session: SessionDep, gateway: GatewayDep, principal: InferenceRead, deployment_id: DeploymentRef
) -> DeploymentStatusOut:
    row = deployments.get_deployment(session=session, principal=principal, ref=deployment_id)
    public = deployments.public(
        row, deployments.refresh(session=session, gateway=gateway, deployments=[row])[row.id or 0]
    )
    return DeploymentStatusOut(
        deployment_id=str(public.id),
        status=public.status,
        reason=public.reason,
        ready_replicas=public.ready_replicas,
        target_replicas=public.target_replicas,
    )


@router.get("/deployment/get/opos/{ownerid}", response_model=list[MLDeploymentOposReturn])
def operations_of(
    session: SessionDep,
    log: OperationLogDep,
    principal: InferenceRead,
    ownerid: str,
    skip: Skip = 0,
    limit: Limit = 100,
) -> list[MLDeploymentOposReturn]:
    """The calls of the tenant's deployments made by one user (``ownerid`` is a username), newest first."""
    log.flush()
    rows, _ = operations.list_operations(
        session=session, principal=principal, caller=ownerid, limit=limit, offset=skip
    )
    models = {
        ref: str(deployments.get_deployment(session=session, principal=principal, ref=ref).model_id)
        for ref in {row.deployment_id for row in rows}
    }
    return [
        MLDeploymentOposReturn(
            operationid=str(row.id),
            ownerid=row.caller,
            deploymentid=str(row.deployment_id),
            modelid=models[row.deployment_id],
            status_code=row.status_code,
            rows=row.rows,
            latency_ms=row.latency_ms,
            error=row.error,
            timestamp=row.created_at,
        )
        for row in rows
    ]


@router.delete("/deployment/{deployment_id}", dependencies=[ForgetServables])
def delete_deployment(
    session: SessionDep, gateway: GatewayDep, principal: InferenceRun, deployment_id: DeploymentRef
) -> Response:
    deployments.delete(session=session, gateway=gateway, principal=principal, ref=deployment_id)
    return Response(status_code=200)


def _rows(call: predict.Call, data: Any) -> list[dict[str, Any]]:
    """Named rows as they are; rows by position named in the version's feature order."""
    many = isinstance(data, list) and bool(data) and isinstance(data[0], dict | list)
    rows = data if many else [data]
    features = [c["name"] for c in call.target.run.columns if c["attribute"] in ("Feature", "Time")]
    named = []
    for row in rows:
        if isinstance(row, list):
            if len(row) != len(features):
                raise Invalid(f"data: {len(row)} values for {len(features)} features ({', '.join(features)})")
            row = dict(zip(features, row, strict=True))
        named.append(row)
    return named


@router.post("/deployment/{deployment_id}/predict")
async def predict_deployment(
    request: Request, settings: SettingsDep, gateway: GatewayDep, call: PredictCall, body: PredictBody
) -> dict[str, Any]:
    """``prediction`` (one per row) and, with ``explain``, ``explanation``: each feature's contribution
    in feature order (``feature_importance``), the features' names and the method."""
    native = DeploymentPredict(rows=_rows(call, body.data), explain=body.explain)
    answer = await predict.predict(
        settings=settings, gateway=gateway, capture=request.app.state.capture, call=call, body=native
    )
    results = answer.predictions
    out: dict[str, Any] = {"prediction": [r["prediction"] for r in results]}
    if body.explain:
        features = list(results[0].get("explanation") or {})
        importance = [[r.get("explanation", {}).get(f) for f in features] for r in results]
        out["explanation"] = {
            "feature_importance": importance[0] if len(results) == 1 else importance,
            "features": features,
            "method": results[0].get("explanation_method", "shap"),
        }
    return out
