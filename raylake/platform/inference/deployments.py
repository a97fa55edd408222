"""Dedicated deployments: a model's own Serve application, and what replicas forget when a model goes."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import event
from sqlmodel import Session, select

from raylake.platform.errors import NotFound
from raylake.platform.inference.loading import run_prefix
from raylake.platform.inference.realtime import servable_run
from raylake.platform.registry.models import ModelDeployment
from raylake.platform.tenancy import Principal, get_scoped
from raylake.platform.training.models import TrainingRun


class Gateway(Protocol):
    """How the API deploys model replicas (``gateway.py`` over Ray Serve)."""

    def deploy(self, app_name: str, replicas: int) -> None:
        """Run a model's dedicated Serve application with this many replicas."""

    def undeploy(self, app_name: str) -> None:
        """Remove a model's dedicated Serve application."""

    def forget(self, prefix: str, *, principals: bool = False) -> None:
        """Drop what replicas cached under an artifact prefix (and cached principals when asked)."""


def forget_after_commit(
    session: Session, gateway: Gateway | None, prefix: str, *, principals: bool = False
) -> None:
    """Once the session commits, every model and API replica drops what it cached under ``prefix``
    (``Gateway.forget``): only then, so a load racing the deletion finds nothing left to load."""
    if gateway is None:
        return
    event.listen(session, "after_commit", lambda _: gateway.forget(prefix, principals=principals), once=True)


def app_name(run: TrainingRun) -> str:
    """Serve application names are cluster-wide: the tenant's id keeps two installations apart."""
    return f"raylake-model-{run.tenant_id[:8]}-{run.id}"


def deploy(
    *, session: Session, gateway: Gateway, principal: Principal, train_id: int, replicas: int
) -> ModelDeployment:
    """Give a servable model its own Serve application with ``replicas`` replicas (or rescale it)."""
    run, _ = servable_run(session=session, principal=principal, train_id=train_id)
    deployment = session.exec(select(ModelDeployment).where(ModelDeployment.train_id == run.id)).first()
    if deployment is None:
        deployment = ModelDeployment(
            tenant_id=run.tenant_id,
            model_id=run.predictor_id,
            train_id=run.id,  # type: ignore[arg-type]
            version=f"v{run.version}",
            app_name=app_name(run),
            replicas=replicas,
            created_by=principal.username,
        )
    deployment.replicas = replicas
    gateway.deploy(deployment.app_name, replicas)
    session.add(deployment)
    session.flush()
    return deployment


def undeploy(*, session: Session, gateway: Gateway, principal: Principal, train_id: int) -> str:
    """Remove a model's own Serve application (the shared pool serves it again); its application name."""
    run = get_scoped(session, TrainingRun, train_id, principal, "Model")
    name = undeploy_run(session=session, gateway=gateway, run=run)
    if name is None:
        raise NotFound(f"model {train_id} has no dedicated deployment")
    forget_after_commit(session, gateway, run_prefix(run.tenant_id, run.id))  # type: ignore[arg-type]
    return name


def undeploy_run(*, session: Session, gateway: Gateway | None, run: TrainingRun) -> str | None:
    """Remove the run's dedicated deployment, if it has one (also called when a run is deleted)."""
    deployment = session.exec(select(ModelDeployment).where(ModelDeployment.train_id == run.id)).first()
    if deployment is None:
        return None
    if gateway is not None:
        gateway.undeploy(deployment.app_name)
    session.delete(deployment)
    session.flush()
    return deployment.app_name
