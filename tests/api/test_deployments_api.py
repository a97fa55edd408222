"""Deployments over real HTTP on real Ray Serve: a version's own application placed by a custom
resource and a node label of the test head (tests/ray_cluster.py offers ``zone_a: 1``), its live status
and nodes, predict with explanations and the operations log; a placement no node meets refused, or
pending when allowed; another tenant's deployment does not exist; a delete removes the application."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import ray
from ray import serve

from tests.api.conftest import once_per_session
from tests.api.test_registry_api import wait_for_model
from tests.api.test_training_api import COLUMNS, upload
from tests.datafiles import training_csv
from tests.factories import unique

ROW = {"Tenure": 5, "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"}
URL = "/api/v1/deployments"


@dataclass
class Trained:
    client: httpx.Client
    headers: dict[str, str]
    username: str
    outsider: dict[str, str]
    model: dict


@pytest.fixture(scope="module")
def trained(api) -> Iterator[Trained]:
    once_per_session(api)
    tenant = api.new_tenant()
    user, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    body = {
        "name": unique("churn"),
        "task": "binary_classification",
        "model_type": "lightgbm",
        "dataset_id": upload(api, headers, training_csv(300)),
        "target": "Churn",
        "training_config": {"columns": [c for c in COLUMNS if c["attribute_name"] != "Target"]},
    }
    created = api.client.post("/api/v1/models", json=body, headers=headers)
    assert created.status_code == 201, created.text
    started = api.client.post(f"/api/v1/models/{created.json()['id']}/train", json={}, headers=headers)
    assert started.status_code == 202, started.text
    model = wait_for_model(api, headers, created.json()["id"])
    assert model["status"] == "trained", model
    yield Trained(api.client, headers, user["username"], outsider, model)


def wait_until(client: httpx.Client, headers, deployment_id: int, status: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = client.get(f"{URL}/{deployment_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        if resp.json()["status"] == status:
            return resp.json()
        assert time.monotonic() < deadline, resp.json()
        time.sleep(0.5)


def test_a_placed_deployment_runs_predicts_and_logs_every_call(trained: Trained):
    client, headers, outsider = trained.client, trained.headers, trained.outsider
    head = next(node for node in ray.nodes() if node["Alive"])  # the test cluster's only node
    placement = {"resources": {"zone_a": 0.1}, "node_labels": {"ray.io/node-id": head["NodeID"]}}
    body = {"model_id": trained.model["uid"], "placement": placement}
    created = client.post(URL, json=body, headers=headers, timeout=120)
    assert created.status_code == 201, created.text
    deployment = created.json()
    assert deployment["version"] == "v1" and deployment["status"] in ("deploying", "running")
    assert deployment["placement"]["resources"] == {"zone_a": 0.1}
    did, app = deployment["id"], deployment["app_name"]
    again = client.post(URL, json={**body, "version": "1"}, headers=headers)
    assert again.status_code == 409 and f"deployment {did}" in again.json()["detail"]

    running = wait_until(client, headers, did, "running")
    assert (running["ready_replicas"], running["target_replicas"]) == (1, 1)
    assert running["nodes"] == [
        {"node_id": head["NodeID"], "node_ip": head["NodeManagerAddress"], "replicas": 1}
    ]
    listed = client.get(URL, params={"model_id": trained.model["id"]}, headers=headers).json()
    assert [d["id"] for d in listed["items"]] == [did] and listed["items"][0]["status"] == "running"

    predict = f"{URL}/{deployment['uid']}/predict"
    explained = client.post(predict, json={"rows": [ROW, ROW], "explain": True}, headers=headers)
    assert explained.status_code == 200, explained.text
    out = explained.json()
    assert (out["deployment_id"], out["model_id"], out["version"]) == (did, trained.model["id"], "v1")
    assert len(out["predictions"]) == 2 and isinstance(out["predictions"][0]["prediction"], bool)
    assert set(out["predictions"][0]["explanation"]) == {"Tenure", "Monthly", "Plan", "Joined"}
    one = client.post(predict, json={"data": ROW}, headers=headers)
    assert one.status_code == 200, one.text
    assert one.json()["predictions"][0]["prediction"] == out["predictions"][0]["prediction"]
    bad = client.post(predict, json={"data": {**ROW, "Tenure": "five"}}, headers=headers)
    assert bad.status_code == 422 and "'Tenure' must be Integer" in bad.json()["detail"]
    malformed = client.post(predict, json={"data": ROW, "colour": 1}, headers=headers)
    assert malformed.status_code == 422

    ops = client.get(f"{URL}/{did}/operations", headers=headers).json()
    assert [(o["status_code"], o["rows"]) for o in ops["items"]] == [(422, 0), (422, 1), (200, 1), (200, 2)]
    assert "Tenure" in ops["items"][1]["error"] and ops["items"][3]["error"] is None
    assert all(o["caller"] == trained.username and o["latency_ms"] > 0 for o in ops["items"])
    by_owner = client.get(f"{URL}/operations", params={"owner": trained.username}, headers=headers).json()
    assert [o["id"] for o in by_owner["items"]] == [o["id"] for o in ops["items"]]
    # every predicted row is captured in the model's lake table too (docs/capture.md); refused calls are not
    captured = client.get(f"/api/v1/models/{trained.model['id']}/predictions", headers=headers).json()
    assert [p["source"] for p in captured["items"]] == ["deployment"] * 3

    # another tenant: no such deployment, nothing of it in its log
    assert client.get(f"{URL}/{did}", headers=outsider).status_code == 404
    assert client.post(predict, json={"data": ROW}, headers=outsider).status_code == 404
    assert client.get(f"{URL}/{did}/operations", headers=outsider).status_code == 404
    assert client.delete(f"{URL}/{did}", headers=outsider).status_code == 404
    theirs = client.get(f"{URL}/operations", params={"owner": trained.username}, headers=outsider).json()
    assert theirs["total"] == 0

    gone = client.delete(f"{URL}/{did}", headers=headers)
    assert gone.status_code == 204 and not gone.content
    state = serve.status().applications.get(app)
    assert state is None or state.status == "DELETING", state
    assert client.get(f"{URL}/{did}", headers=headers).status_code == 404
    assert client.post(predict, json={"data": ROW}, headers=headers).status_code == 404


def test_a_placement_no_node_meets_is_refused_or_pending(trained: Trained):
    client, headers = trained.client, trained.headers
    body = {"model_id": trained.model["id"], "version": "v1"}
    for placement, named in (
        ({"resources": {"gpu_zone_x": 1}}, "resource gpu_zone_x: 1"),
        ({"node_labels": {"zone": "mars"}}, "label zone=mars"),
        ({"resources": {"zone_a": 0.6}}, "hold 1 replica(s)"),
    ):
        refused = client.post(URL, json={**body, "placement": placement, "replicas": 2}, headers=headers)
        assert refused.status_code == 422 and named in refused.json()["detail"], refused.text

    waiting = {"resources": {"gpu_zone_x": 1}, "allow_pending": True}
    created = client.post(URL, json={**body, "placement": waiting}, headers=headers, timeout=120)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending" and "gpu_zone_x" in created.json()["reason"]
    try:
        pending = client.get(f"{URL}/{created.json()['id']}", headers=headers).json()
        assert pending["status"] == "pending" and "gpu_zone_x" in pending["reason"]
        assert (pending["ready_replicas"], pending["nodes"]) == (0, [])
    finally:
        assert client.delete(f"{URL}/{created.json()['id']}", headers=headers).status_code == 204
