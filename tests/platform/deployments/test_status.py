"""A deployment's live status from Serve's details of its application (the Serve REST API's shape):
a pure mapping, no Ray."""

from __future__ import annotations

from raylake.core.vocabulary import DeploymentStatus
from raylake.platform.deployments.status import read

WAITING = (
    "Deployment 'models' in application 'raylake-model-x-1' has 1 replicas that have taken more than 30s "
    "to be scheduled. This may be due to waiting for the cluster to auto-scale."
)


def app(status: str, message: str = "", replicas: list[dict] | None = None, target: int = 2) -> dict:
    deployment = {"status": "UPDATING", "message": message, "target_num_replicas": target}
    return {
        "status": status,
        "message": "",
        "deployments": {"models": {**deployment, "replicas": replicas or []}},
    }


def test_serve_statuses_map_onto_core_words_with_the_reason():
    running = [
        {"state": "RUNNING", "node_id": "n1", "node_ip": "10.0.0.1"},
        {"state": "RUNNING", "node_id": "n1", "node_ip": "10.0.0.1"},
        {"state": "STARTING", "node_id": None, "node_ip": None},
    ]
    live = read(app("RUNNING", replicas=running, target=3))
    assert (live.status, live.reason, live.ready, live.target) == (DeploymentStatus.RUNNING, None, 2, 3)
    assert live.nodes == [{"node_id": "n1", "node_ip": "10.0.0.1", "replicas": 2}]
    assert read(app("DEPLOYING")).status == DeploymentStatus.DEPLOYING
    failed = read(app("DEPLOY_FAILED", message="replica constructor raised ValueError"))
    assert (failed.status, failed.reason) == (
        DeploymentStatus.FAILED,
        "replica constructor raised ValueError",
    )
    sick = read(app("UNHEALTHY", message="health check failed"))
    assert (sick.status, sick.reason) == (DeploymentStatus.UNHEALTHY, "health check failed")
    gone = read(None)
    assert gone.status == DeploymentStatus.FAILED and "gone" in (gone.reason or "")


def test_replicas_no_node_holds_read_pending_never_a_silent_deploying():
    unplaced = read(app("DEPLOYING"), unplaceable="no alive node has resource gpu_zone_x: 1")
    assert unplaced.status == DeploymentStatus.PENDING
    assert unplaced.reason == "waiting for a node: no alive node has resource gpu_zone_x: 1"
    # the placement fits, but the nodes are full: Serve's own message says so
    waiting = read(app("DEPLOYING", message=WAITING))
    assert (waiting.status, waiting.reason) == (DeploymentStatus.PENDING, WAITING)
    # once running, a placement problem is moot
    assert read(app("RUNNING"), unplaceable="x").status == DeploymentStatus.RUNNING
