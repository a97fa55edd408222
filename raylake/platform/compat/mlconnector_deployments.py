"""Reference document 002 (MLConnector)'s deployments at ``/compat/mlconnector/deployment/...``: the
native dedicated deployments (``deployment_id`` is the native id) with the document's placement, status
and predict (values by position or by name, ``explain``), and its operations log (the authenticated
caller is the owner). Included by ``mlconnector.py``'s router."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from raylake.platform.deployments import operations, predict
from raylake.platform.deployments import service as deployments
from raylake.platform.deployments.deps import DeploymentRef, OperationLogDep, PredictCall
from raylake.platform.deps import (
    TOTAL_COUNT,
    TOTAL_HEADER,
    ForgetServables,
    InferenceRead,
    InferenceRun,
    Limit,
    SessionDep,
    SettingsDep,
    Skip,
)
from raylake.platform.errors import Invalid
from raylake.platform.inference.deps import GatewayDep
from raylake.platform.registry import service
from raylake.schemas.deployments import DeploymentCreate, DeploymentPredict, DeploymentPublic, PlacementIn

from .mlconnector_schemas import (
    PREFIX,
    DeploymentStatusOut,
    MLDeployment,
    MLDeploymentCreate,
    MLDeploymentOposCreate,
    MLDeploymentOposReturn,
    Placement,
    PredictBody,
)

router = APIRouter()


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
    """The tenant's deployments with their status from Serve, a page at a time (X-Total-Count)."""
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
    """A deployment's status as the document names it, from Serve."""
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
    """Remove a deployment and its replicas."""
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
