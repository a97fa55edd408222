"""Dedicated deployments: create with placement, list, status, delete, predict, operations log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from raylake.core.vocabulary import MAX_ID
from raylake.platform.deployments import operations, predict, service
from raylake.platform.deployments.deps import REF, DeploymentRef, OperationLogDep, PredictCall
from raylake.platform.deps import ForgetServables, InferenceRead, InferenceRun, SessionDep, SettingsDep
from raylake.platform.inference.deps import GatewayDep
from raylake.platform.registry.models import DeploymentOperation
from raylake.schemas.deployments import (
    DeploymentCreate,
    DeploymentPredict,
    DeploymentPrediction,
    DeploymentPublic,
    DeploymentsPublic,
    OperationPublic,
    OperationsPublic,
)

router = APIRouter(tags=["deployments"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
Owner = Annotated[str | None, Query(min_length=1, max_length=64)]
ModelFilter = Annotated[str | None, Query(pattern=REF, description="a model's id or uid")]


def _operations(rows: list[DeploymentOperation], total: int, limit: int, offset: int) -> OperationsPublic:
    items = [OperationPublic.model_validate(row, from_attributes=True) for row in rows]
    return OperationsPublic(items=items, total=total, limit=limit, offset=offset)


@router.post("/deployments", response_model=DeploymentPublic, status_code=201, dependencies=[ForgetServables])
def create_deployment(
    session: SessionDep, gateway: GatewayDep, principal: InferenceRun, body: DeploymentCreate
) -> DeploymentPublic:
    """A version's own Serve application (201 ``deploying``, or ``pending`` with ``allow_pending``)."""
    return service.public(service.create(session=session, gateway=gateway, principal=principal, body=body))


@router.get("/deployments", response_model=DeploymentsPublic)
def list_deployments(
    session: SessionDep,
    gateway: GatewayDep,
    principal: InferenceRead,
    model_id: ModelFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DeploymentsPublic:
    """The tenant's deployments (of one model with ``model_id``), each with its live status."""
    rows, total = service.list_deployments(
        session=session, principal=principal, model_id=model_id, limit=limit, offset=offset
    )
    live = service.refresh(session=session, gateway=gateway, deployments=rows)
    items = [service.public(row, live.get(row.id or 0)) for row in rows]
    return DeploymentsPublic(items=items, total=total, limit=limit, offset=offset)


# Before /deployments/{deployment_id}: "operations" is not a deployment.
@router.get("/deployments/operations", response_model=OperationsPublic)
def operations_by_owner(
    session: SessionDep,
    log: OperationLogDep,
    principal: InferenceRead,
    owner: Owner = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OperationsPublic:
    """The tenant's deployment calls, newest first; of one caller with ``owner``."""
    log.flush()
    rows, total = operations.list_operations(
        session=session, principal=principal, caller=owner, limit=limit, offset=offset
    )
    return _operations(rows, total, limit, offset)


@router.get("/deployments/{deployment_id}", response_model=DeploymentPublic)
def read_deployment(
    session: SessionDep, gateway: GatewayDep, principal: InferenceRead, deployment_id: DeploymentRef
) -> DeploymentPublic:
    """The deployment with its live status, replicas and the nodes they run on."""
    row = service.get_deployment(session=session, principal=principal, ref=deployment_id)
    live = service.refresh(session=session, gateway=gateway, deployments=[row])
    return service.public(row, live[row.id or 0])


@router.delete("/deployments/{deployment_id}", status_code=204, dependencies=[ForgetServables])
def delete_deployment(
    session: SessionDep, gateway: GatewayDep, principal: InferenceRun, deployment_id: DeploymentRef
) -> Response:
    """The Serve application, the row and its operations log; the shared pool serves the version."""
    service.delete(session=session, gateway=gateway, principal=principal, ref=deployment_id)
    return Response(status_code=204)


@router.post("/deployments/{deployment_id}/predict", response_model=DeploymentPrediction)
async def predict_deployment(
    request: Request,
    settings: SettingsDep,
    gateway: GatewayDep,
    call: PredictCall,
    body: DeploymentPredict,
) -> DeploymentPrediction:
    """Rows (or one row as ``data``) predicted by the deployment's replicas, with ``explain`` their
    explanations; logged in its operations and captured in the lake."""
    return await predict.predict(
        settings=settings,
        gateway=gateway,
        capture=request.app.state.capture,
        call=call,
        body=body,
    )


@router.get("/deployments/{deployment_id}/operations", response_model=OperationsPublic)
def deployment_operations(
    session: SessionDep,
    log: OperationLogDep,
    principal: InferenceRead,
    deployment_id: DeploymentRef,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OperationsPublic:
    """The deployment's calls, newest first."""
    row = service.get_deployment(session=session, principal=principal, ref=deployment_id)
    log.flush()
    rows, total = operations.list_operations(
        session=session, principal=principal, deployment_id=row.id, limit=limit, offset=offset
    )
    return _operations(rows, total, limit, offset)
