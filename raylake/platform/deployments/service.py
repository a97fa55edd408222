"""Dedicated deployments: a model version's own Serve application, placed, read live from Serve, and
removed. ``POST /inference/deploy`` is a view of the same rows (``deploy_version``, ``undeploy_version``).

One deployment per version. Everything is checked before anything is deployed: the caller's model and
a servable version of it (``registry.versions.servable``), and the placement against the cluster's
alive nodes (``placement.problem``): a placement no node meets is a 422 naming what is missing, or with
``allow_pending`` a deployment that reads ``pending`` until a node that meets it joins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from raylake.core.vocabulary import MAX_ID, DeploymentStatus, JobStatus
from raylake.platform.clock import utcnow
from raylake.platform.db import paged
from raylake.platform.deployments import placement, status
from raylake.platform.errors import Conflict, Invalid, NotFound
from raylake.platform.inference.deployments import Gateway, app_name, forget_after_commit, undeploy_run
from raylake.platform.inference.loading import run_prefix
from raylake.platform.registry import versions
from raylake.platform.registry.lifecycle import version_name
from raylake.platform.registry.models import ModelDeployment, Predictor, new_uid
from raylake.platform.registry.service import get_model
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.platform.training.models import TrainingRun
from raylake.schemas.deployments import DeploymentCreate, DeploymentPublic, ReplicaNode


def get_deployment(*, session: Session, principal: Principal, ref: int | str) -> ModelDeployment:
    """A deployment the caller may see, by its id or its uid; NotFound otherwise."""
    query = scoped(select(ModelDeployment), ModelDeployment, principal)
    if isinstance(ref, int) or ref.isdigit():
        if not 1 <= int(ref) <= MAX_ID:
            raise NotFound(f"Deployment {ref} not found")
        query = query.where(ModelDeployment.id == int(ref))
    else:
        query = query.where(ModelDeployment.uid == ref.lower())
    found = session.exec(query).first()
    if found is None:
        raise NotFound(f"Deployment {ref} not found")
    return found


def _version(session: Session, principal: Principal, model: Predictor, version: str | None) -> TrainingRun:
    """The servable run a version names; the model's latest completed one when none is named."""
    if version is None:
        latest = session.exec(
            select(TrainingRun)
            .where(TrainingRun.predictor_id == model.id, TrainingRun.status == JobStatus.COMPLETED)
            .order_by(col(TrainingRun.version).desc())
        ).first()
        if latest is None:
            raise Conflict(f"model {model.id} has no completed version to deploy")
        version = version_name(latest)
    assert model.id is not None
    return versions.servable(session, principal, model.id, version)


def _placed(stored: dict[str, Any]) -> bool:
    return bool(stored.get("resources") or stored.get("node_labels"))


def unplaceable(gateway: Gateway, stored: dict[str, Any], replicas: int) -> str | None:
    """Why no alive node can hold the replicas of a placement now (None when they fit, or when the
    placement asks for nothing)."""
    if not _placed(stored):
        return None
    return placement.problem(
        gateway.nodes(), stored.get("resources") or {}, stored.get("node_labels") or {}, replicas
    )


def _serve(gateway: Gateway, deployment: ModelDeployment, *, wait: bool) -> None:
    bounds = None
    if deployment.min_replicas is not None and deployment.max_replicas is not None:
        bounds = (deployment.min_replicas, deployment.max_replicas)
    gateway.deploy(
        deployment.app_name,
        deployment.replicas,
        autoscaling=bounds,
        actor_options=placement.actor_options(deployment.placement),
        wait=wait,
    )


def create(
    *, session: Session, gateway: Gateway, principal: Principal, body: DeploymentCreate, wait: bool = False
) -> ModelDeployment:
    """Give a servable version its own Serve application, placed as asked: ``deploying`` (``running``
    once Serve says so), or ``pending`` when no node meets the placement and that is allowed. With
    ``wait``, answers once it runs (a placement that fits only)."""
    model = get_model(session=session, principal=principal, model_id=body.model_id)
    run = _version(session, principal, model, body.version)
    existing = session.exec(select(ModelDeployment).where(ModelDeployment.train_id == run.id)).first()
    if existing is not None:
        raise Conflict(
            f"version {version_name(run)} of model {model.id} is already deployed: deployment "
            f"{existing.id} ({existing.uid})"
        )
    stored = body.placement.model_dump()
    replicas = body.autoscaling.min_replicas if body.autoscaling else body.replicas
    problem = unplaceable(gateway, stored, replicas)
    if problem is not None and not body.placement.allow_pending:
        raise Invalid(
            f"the placement cannot be met: {problem} (allow_pending deploys it anyway, pending until "
            "such a node joins)"
        )
    assert model.id is not None and run.id is not None
    uid = new_uid()
    deployment = ModelDeployment(
        uid=uid,
        tenant_id=run.tenant_id,
        model_id=model.id,
        train_id=run.id,
        version=body.version or version_name(run),
        app_name=app_name(run, uid),
        replicas=replicas,
        min_replicas=body.autoscaling.min_replicas if body.autoscaling else None,
        max_replicas=body.autoscaling.max_replicas if body.autoscaling else None,
        placement=stored,
        status=DeploymentStatus.PENDING if problem else DeploymentStatus.DEPLOYING,
        reason=f"waiting for a node: {problem}" if problem else None,
        created_by=principal.username,
    )
    session.add(deployment)
    try:
        session.flush()  # claims the version (train_id is unique) before Serve is asked
    except IntegrityError:
        raise Conflict(f"version {version_name(run)} of model {model.id} is already deployed") from None
    waiting = wait and problem is None
    _serve(gateway, deployment, wait=waiting)
    if waiting:
        _seen(deployment, DeploymentStatus.RUNNING, None)
    return deployment


def _seen(deployment: ModelDeployment, state: DeploymentStatus, reason: str | None) -> None:
    if (deployment.status, deployment.reason) != (state, reason):
        deployment.status, deployment.reason, deployment.updated_at = state, reason, utcnow()


def list_deployments(
    *, session: Session, principal: Principal, model_id: int | str | None, limit: int, offset: int
) -> tuple[list[ModelDeployment], int]:
    """The caller's deployments, newest first (of one model when ``model_id`` names one)."""
    query = scoped(select(ModelDeployment), ModelDeployment, principal)
    if model_id is not None:
        model = get_model(session=session, principal=principal, model_id=model_id)
        query = query.where(ModelDeployment.model_id == model.id)
    return paged(session, query.order_by(col(ModelDeployment.id).desc()), skip=offset, limit=limit)


def refresh(
    *, session: Session, gateway: Gateway, deployments: Sequence[ModelDeployment]
) -> dict[int, status.Live]:
    """Each deployment's live status from Serve (one read of Serve's details for all of them), kept on
    its row as the last seen status and reason."""
    if not deployments:
        return {}
    applications = gateway.applications()
    nodes: list[dict[str, Any]] | None = None
    found: dict[int, status.Live] = {}
    for deployment in deployments:
        app = applications.get(deployment.app_name)
        problem = None
        if (
            app is not None
            and app.get("status") in ("NOT_STARTED", "DEPLOYING")
            and _placed(deployment.placement)
        ):
            nodes = gateway.nodes() if nodes is None else nodes
            problem = placement.problem(
                nodes,
                deployment.placement.get("resources") or {},
                deployment.placement.get("node_labels") or {},
                deployment.replicas,
            )
        live = status.read(app, unplaceable=problem)
        _seen(deployment, live.status, live.reason)
        session.add(deployment)
        assert deployment.id is not None
        found[deployment.id] = live
    session.flush()
    return found


def public(deployment: ModelDeployment, live: status.Live | None = None) -> DeploymentPublic:
    """A deployment as the API shows it, with what Serve says of it now (``live``; without it, as last
    seen)."""
    live = live or status.Live(
        DeploymentStatus(deployment.status), deployment.reason, target=deployment.replicas
    )
    assert deployment.id is not None
    return DeploymentPublic(
        id=deployment.id,
        uid=deployment.uid,
        model_id=deployment.model_id,
        version=deployment.version,
        train_id=deployment.train_id,
        app_name=deployment.app_name,
        replicas=deployment.replicas,
        min_replicas=deployment.min_replicas,
        max_replicas=deployment.max_replicas,
        placement=deployment.placement,
        status=live.status,
        reason=live.reason,
        ready_replicas=live.ready,
        target_replicas=live.target,
        nodes=[ReplicaNode(**node) for node in live.nodes],
        created_by=deployment.created_by,
        created_at=deployment.created_at,
        updated_at=deployment.updated_at,
    )


def _remove(session: Session, gateway: Gateway | None, deployment: ModelDeployment) -> str:
    """Remove a deployment's Serve application, its row and operations; once committed, every replica
    forgets the version."""
    run = session.get(TrainingRun, deployment.train_id)
    assert run is not None and run.id is not None  # a run's deletion takes its deployment first
    name = undeploy_run(session=session, gateway=gateway, run=run)
    assert name is not None
    forget_after_commit(session, gateway, run_prefix(run.tenant_id, run.id))
    return name


def delete(*, session: Session, gateway: Gateway | None, principal: Principal, ref: int | str) -> None:
    """Remove a deployment (its version is served by the shared pool again)."""
    _remove(session, gateway, get_deployment(session=session, principal=principal, ref=ref))


def deploy_version(
    *, session: Session, gateway: Gateway, principal: Principal, train_id: int, replicas: int
) -> ModelDeployment:
    """``POST /inference/deploy``: the version's deployment with ``replicas`` replicas, created (once it
    runs) or rescaled (autoscaling off)."""
    run = get_scoped(session, TrainingRun, train_id, principal, "Model")
    deployment = session.exec(select(ModelDeployment).where(ModelDeployment.train_id == run.id)).first()
    if deployment is None:
        body = DeploymentCreate(model_id=run.predictor_id, version=version_name(run), replicas=replicas)
        return create(session=session, gateway=gateway, principal=principal, body=body, wait=True)
    versions.servable(session, principal, run.predictor_id, version_name(run))  # archived: 409
    deployment.replicas, deployment.min_replicas, deployment.max_replicas = replicas, None, None
    deployment.updated_at = utcnow()
    fits = unplaceable(gateway, deployment.placement, replicas) is None
    _serve(gateway, deployment, wait=fits)
    session.add(deployment)
    session.flush()
    return deployment


def undeploy_version(*, session: Session, gateway: Gateway, principal: Principal, train_id: int) -> str:
    """``DELETE /inference/deploy``: remove the version's deployment; its application name."""
    run = get_scoped(session, TrainingRun, train_id, principal, "Model")
    deployment = session.exec(select(ModelDeployment).where(ModelDeployment.train_id == run.id)).first()
    if deployment is None:
        raise NotFound(f"model {train_id} has no dedicated deployment")
    return _remove(session, gateway, deployment)
