"""A deployment's live status, read from Serve's details of its application.

Serve's application and deployment statuses map onto core's ``DeploymentStatus``; its message becomes
the reason. Replicas Serve cannot schedule keep an application ``DEPLOYING`` for good (Serve only warns
that they "have taken more than 30s to be scheduled"): that, or a placement no alive node meets now,
reads ``pending`` with the reason, never a silent ``deploying``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from raylake.core.vocabulary import DeploymentStatus

UNSCHEDULED = "to be scheduled"  # in Serve's message about replicas waiting for a node
REASON_CHARS = 2000


@dataclass(frozen=True)
class Live:
    """What Serve says of one deployment now."""

    status: DeploymentStatus
    reason: str | None
    ready: int = 0
    target: int = 0
    # One entry per node running replicas: node_id, node_ip, replicas.
    nodes: list[dict[str, Any]] = field(default_factory=list)


def _message(app: Mapping[str, Any], deployment: Mapping[str, Any]) -> str | None:
    text = (deployment.get("message") or app.get("message") or "").strip()
    return text[:REASON_CHARS] or None


def _nodes(replicas: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    nodes: dict[str, dict[str, Any]] = {}
    for replica in replicas:
        node_id = replica.get("node_id")
        if replica.get("state") != "RUNNING" or not node_id:
            continue
        entry = nodes.setdefault(node_id, {"node_id": node_id, "node_ip": replica.get("node_ip")})
        entry["replicas"] = entry.get("replicas", 0) + 1
    return sorted(nodes.values(), key=lambda n: n["node_id"])


def read(app: Mapping[str, Any] | None, *, unplaceable: str | None = None) -> Live:
    """The deployment's status from its Serve application's details (``app``; None when Serve has no
    such application); ``unplaceable`` is why no alive node meets its placement now, if so."""
    if app is None:
        return Live(
            DeploymentStatus.FAILED,
            "its Serve application is gone (was the cluster restarted?): delete the deployment and "
            "create it again",
        )
    deployments = list((app.get("deployments") or {}).values())
    deployment: Mapping[str, Any] = deployments[0] if deployments else {}
    replicas = list(deployment.get("replicas") or [])
    ready = sum(1 for replica in replicas if replica.get("state") == "RUNNING")
    target = int(deployment.get("target_num_replicas") or 0)
    counts: dict[str, Any] = {"ready": ready, "target": target, "nodes": _nodes(replicas)}
    message = _message(app, deployment)
    state = app.get("status")
    if state == "RUNNING":
        return Live(DeploymentStatus.RUNNING, None, **counts)
    if state == "UNHEALTHY":
        return Live(DeploymentStatus.UNHEALTHY, message, **counts)
    if state == "DEPLOY_FAILED":
        return Live(DeploymentStatus.FAILED, message, **counts)
    if state == "DELETING":
        return Live(DeploymentStatus.FAILED, "its Serve application is being deleted", **counts)
    if unplaceable is not None:
        return Live(DeploymentStatus.PENDING, f"waiting for a node: {unplaceable}", **counts)
    if message is not None and UNSCHEDULED in message:
        return Live(DeploymentStatus.PENDING, message, **counts)
    return Live(DeploymentStatus.DEPLOYING, message, **counts)
