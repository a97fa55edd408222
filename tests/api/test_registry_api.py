"""The model registry over real HTTP on real Ray: a draft trained into versions, aliases, describe and
infer by alias on the same replicas as /inference/, worker callbacks, and the bad inputs the issue names."""

from __future__ import annotations

import time

import pytest

from tests.api.conftest import once_per_session
from tests.api.test_training_api import COLUMNS, upload
from tests.datafiles import training_csv
from tests.factories import unique

ROW = {"Tenure": 5, "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"}


@pytest.fixture(scope="module")
def tenant(api):
    tenant = api.new_tenant()
    _, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    return headers, outsider


def wait_for_model(api, headers, model_id: int, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        model = api.client.get(f"/api/v1/models/{model_id}", headers=headers).json()
        if model["status"] not in ("training", "draft"):
            return model
        assert time.monotonic() < deadline, f"model {model_id} still {model['status']}"
        time.sleep(0.5)


def test_a_draft_trained_into_versions_and_served_by_alias(api, tenant):
    once_per_session(api)
    headers, outsider = tenant
    client = api.client
    dataset_id = upload(api, headers, training_csv(300))
    body = {
        "name": unique("churn"),
        "description": "Who leaves next quarter",
        "task": "binary_classification",
        "model_type": "lightgbm",
        "dataset_id": dataset_id,
        "target": "Churn",
        "training_config": {"columns": [c for c in COLUMNS if c["attribute_name"] != "Target"]},
        "tags": ["churn", "q3"],
    }
    created = client.post("/api/v1/models", json=body, headers=headers)
    assert created.status_code == 201, created.text
    model = created.json()
    assert model["status"] == "draft" and model["uid"] and model["tags"] == ["churn", "q3"]
    mid = model["id"]
    assert client.get(f"/api/v1/models/{model['uid']}", headers=headers).json()["id"] == mid
    assert client.get(f"/api/v1/models/{model['uid']}", headers=outsider).status_code == 404
    assert client.get("/api/v1/models/not-a-model", headers=headers).status_code == 422
    assert client.post("/api/v1/models", json=body, headers=headers).status_code == 409
    draft_infer = client.post(f"/api/v1/models/{mid}/versions/v1/infer", json=ROW, headers=headers)
    assert draft_infer.status_code == 409, draft_infer.text  # a draft: nothing trained yet

    started = client.post(f"/api/v1/models/{mid}/train", json={}, headers=headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "training"
    trained = wait_for_model(api, headers, mid)
    assert trained["status"] == "trained", trained
    assert [v["version"] for v in trained["versions"]] == ["v1"]

    alias = client.put(f"/api/v1/models/{mid}/aliases/production", json={"version": "v1"}, headers=headers)
    assert alias.status_code == 200 and alias.json()["version"] == "v1"
    version = client.get(f"/api/v1/models/{mid}/versions/production", headers=headers).json()
    assert version["status"] == "completed" and version["aliases"] == ["production"]

    described = client.get(f"/api/v1/models/{mid}/versions/production/describe", headers=headers)
    assert described.status_code == 200
    d = described.json()
    assert d["target"] == "Churn" and set(d["features"]) == {"Tenure", "Monthly", "Plan", "Joined"}
    assert "accuracy" in d["performance"] and d["input_schema"]["properties"]["Tenure"] == {"type": "integer"}

    by_alias = client.post(f"/api/v1/models/{mid}/versions/production/infer", json=ROW, headers=headers)
    assert by_alias.status_code == 200, by_alias.text
    flat = by_alias.json()
    # capture_id: the captured answer's id, for feedback (monitoring)
    assert set(flat) == {"prediction", "probabilities", "capture_id"}
    assert set(flat["probabilities"]) == {"false", "true"}
    direct = client.post(
        "/api/v1/inference/", json={"train_id": version["train_id"], "features": ROW}, headers=headers
    ).json()
    assert direct["prediction"] == flat["prediction"] and direct["probabilities"] == flat["probabilities"]
    many = client.post(
        f"/api/v1/models/{mid}/versions/1/infer", json={"instances": [ROW, ROW]}, headers=headers
    )
    assert many.status_code == 200 and len(many.json()["predictions"]) == 2
    bad = client.post(f"/api/v1/models/{mid}/versions/v1/infer", json={"Tenure": {"x": 1}}, headers=headers)
    assert bad.status_code == 422

    listed = client.get(
        "/api/v1/models",
        params={"tag": ["churn", "q3"], "search": "leaves", "latest_only": True},
        headers=headers,
    ).json()
    assert [m["id"] for m in listed["items"]] == [mid] and listed["total"] == 1
    assert client.get("/api/v1/models", params={"ordering": "-colour"}, headers=headers).status_code == 422

    # another tenant sees none of it
    for path in (
        f"/api/v1/models/{mid}",
        f"/api/v1/models/{mid}/versions/v1",
        f"/api/v1/models/{mid}/versions",
    ):
        assert client.get(path, headers=outsider).status_code == 404
    assert (
        client.post(f"/api/v1/models/{mid}/versions/v1/infer", json=ROW, headers=outsider).status_code == 404
    )

    # a worker's report needs the run's secret
    report = {"metrics": {"accuracy": 1.0}, "artifact_path": "x"}
    url = f"/api/v1/models/{mid}/versions/v1/training-complete"
    assert client.post(url, json=report).status_code == 401
    assert client.post(url, json=report, headers={"X-Callback-Token": "guess"}).status_code == 401

    # the lifecycle: invalid moves are 409s; an archived model serves nothing
    assert (
        client.patch(f"/api/v1/models/{mid}", json={"status": "archived"}, headers=headers).status_code == 409
    )
    for status in ("deprecated", "archived"):
        moved = client.patch(f"/api/v1/models/{mid}", json={"status": status}, headers=headers)
        assert moved.status_code == 200 and moved.json()["status"] == status
    archived = client.post(f"/api/v1/models/{mid}/versions/production/infer", json=ROW, headers=headers)
    assert archived.status_code == 409
    assert client.post(f"/api/v1/models/{mid}/train", json={}, headers=headers).status_code == 409

    assert client.delete(f"/api/v1/models/{mid}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/models/{mid}", headers=headers).status_code == 404
    gone = client.post(
        "/api/v1/inference/", json={"train_id": version["train_id"], "features": ROW}, headers=headers
    )
    assert gone.status_code == 404


def test_projects_and_bad_input(api, tenant):
    headers, outsider = tenant
    client = api.client
    projects = client.get("/api/v1/projects", headers=headers).json()
    assert [p["name"] for p in projects["items"]] == ["default"]
    made = client.post("/api/v1/projects", json={"name": "retention"}, headers=headers)
    assert made.status_code == 201
    pid = made.json()["id"]
    assert client.get(f"/api/v1/projects/{pid}", headers=outsider).status_code == 404
    body = {"name": "m", "task": "regression", "project_id": pid}
    assert client.post("/api/v1/models", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/models", json=body, headers=outsider).status_code == 404  # their project? no
    assert client.delete(f"/api/v1/projects/{pid}", headers=headers).status_code == 409
    unknown = {"name": "m", "task": "regression", "project_id": 2_000_000}
    assert client.post("/api/v1/models", json=unknown, headers=headers).status_code == 404
    assert (
        client.post("/api/v1/models", json={**body, "task": "clustering"}, headers=headers).status_code == 422
    )
    assert client.get("/api/v1/models/2000000/versions/v1", headers=headers).status_code == 404
