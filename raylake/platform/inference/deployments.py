"""Dedicated deployments as the rest of inference sees them: how the API reaches Serve, a version's
application name, and what goes (and what every replica forgets) when a version goes. Creating, reading
and predicting through them is ``platform/deployments``.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import event
from sqlmodel import Session, select

from raylake.platform.registry.models import ModelDeployment
from raylake.platform.training.models import TrainingRun


class Gateway(Protocol):
    """How the API deploys model replicas (``gateway.py`` over Ray Serve)."""

    def deploy(
        self,
        app_name: str,
        replicas: int,
        *,
        autoscaling: tuple[int, int] | None = None,
        actor_options: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> None:
        """Run (or update) a model's dedicated Serve application."""

    def undeploy(self, app_name: str) -> None:
        """Remove a model's dedicated Serve application."""

    def forget(self, prefix: str, *, principals: bool = False) -> None:
        """Drop what replicas cached under an artifact prefix (and cached principals when asked)."""

    def nodes(self) -> list[dict[str, Any]]:
        """The cluster's nodes (``ray.nodes()``: Alive, Resources, Labels)."""

    def applications(self) -> dict[str, dict[str, Any]]:
        """Serve's details of every application, by name."""


def forget_after_commit(
    session: Session, gateway: Gateway | None, prefix: str, *, principals: bool = False
) -> None:
    """Once the session commits, every model and API replica drops what it cached under ``prefix``
    (``Gateway.forget``): only then, so a load racing the deletion finds nothing left to load."""
    if gateway is None:
        return
    event.listen(session, "after_commit", lambda _: gateway.forget(prefix, principals=principals), once=True)


def app_name(run: TrainingRun, uid: str) -> str:
    """Serve application names are cluster-wide: the tenant's id keeps two installations apart, and the
    deployment's uid a redeployed version apart from the application it replaces (a handle or status
    cached for the deleted one must never answer for the new one)."""
    return f"raylake-model-{run.tenant_id[:8]}-{run.id}-{uid[:8]}"


def undeploy_run(*, session: Session, gateway: Gateway | None, run: TrainingRun) -> str | None:
    """Remove the run's dedicated deployment, if it has one, with its operations log (also called when
    a run, its model or its tenant is deleted); its application name."""
    deployment = session.exec(select(ModelDeployment).where(ModelDeployment.train_id == run.id)).first()
    if deployment is None:
        return None
    if gateway is not None:
        gateway.undeploy(deployment.app_name)
    session.delete(deployment)  # its operations go with it (a foreign key ON DELETE CASCADE)
    session.flush()
    return deployment.app_name
