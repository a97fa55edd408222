"""Reference document 000 (an ML-model resource with no paths of its own) replayed on the native
``/api/v1/models`` over real HTTP: create a draft with its project, ontology, type, configuration and
metadata; list by project; get; update with its metric names; train with ``storage_config_ids`` (202)
and hear the completion on the WebSocket; recommend; the worker callbacks' walls; delete (204)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.api.conftest import once_per_session
from tests.api.test_registry_api import wait_for_model
from tests.api.test_training_api import upload
from tests.datafiles import training_csv
from tests.factories import unique

ONTOLOGY = [
    {"column_name": "CustomerID", "data_type": "String"},
    {"column_name": "Tenure", "data_type": "Integer"},
    {"column_name": "Monthly", "data_type": "Float"},
    {"column_name": "Plan", "data_type": "String"},
    {"column_name": "Joined", "data_type": "Date"},
    {"column_name": "Score", "data_type": "Float"},
    {"column_name": "Churn", "data_type": "Boolean"},
    {"column_name": "Spend", "data_type": "Float"},
]
CONFIG = {
    "columns": [
        {"column_name": "CustomerID", "attribute_name": "Id"},
        {"column_name": "Spend", "attribute_name": "Ignore"},
        {"column_name": "Score", "attribute_name": "Ignore"},
    ]
}


@pytest.fixture(scope="module")
def world(api):
    tenant = api.new_tenant()
    _, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    client = api.client
    project = client.post("/api/v1/projects", json={"name": unique("ref000-")}, headers=headers)
    assert project.status_code == 201, project.text
    ontology = client.post(
        "/api/v1/template/",
        json={"template_name": unique("churn-ontology "), "template_schema": ONTOLOGY},
        headers=headers,
    )
    assert ontology.status_code == 201, ontology.text
    return headers, outsider, project.json()["id"], ontology.json()["id"]


def _upload(api, headers, content: bytes, ontology_id: int) -> int:
    """A dataset validated against the ontology (raylake's template)."""
    resp = api.client.post(
        "/api/v1/dataset/upload",
        params={"dataset_name": unique("ref000-"), "usage": "t", "template_id": ontology_id},
        files=[("files", ("data.csv", content, "text/csv"))],
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["dataset_id"]


def _create(api, headers, project_id: int, ontology_id: int, **fields) -> dict:
    # The document's body (project, ontology, name, description, type, configuration, metadata) and the
    # task, which raylake's model needs (the document's create has no field for what is predicted).
    body = {
        "project_id": project_id,
        "ontology_id": ontology_id,
        "name": unique("churn-"),
        "description": "Who leaves next quarter",
        "model_type": "decision_tree",
        "task": "binary_classification",
        "training_config": CONFIG,
        "metadata": {"team": "retention", "ticket": "ML-17"},
        **fields,
    }
    created = api.client.post("/api/v1/models", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()


def test_the_documents_crud_on_the_native_models(api, world):
    headers, outsider, project_id, ontology_id = world
    client = api.client
    made = {}
    for model_type in ("decision_tree", "random_forest", "regression", "neural_network"):
        model = _create(api, headers, project_id, ontology_id, model_type=model_type)
        assert model["status"] == "draft" and model["model_type"] == model_type
        assert model["ontology_id"] == model["template_id"] == ontology_id
        assert model["project_id"] == project_id and model["metadata"] == {
            "team": "retention",
            "ticket": "ML-17",
        }
        assert model["training_config"]["columns"] == CONFIG["columns"]
        assert model["performance_metrics"] is None and model["training_metrics"] is None
        made[model_type] = model["id"]
    clash = {"ontology_id": ontology_id, "template_id": ontology_id + 1000}
    both = client.post("/api/v1/models", json={"name": "x", "task": "regression", **clash}, headers=headers)
    assert both.status_code == 422, both.text
    theirs = client.post(
        "/api/v1/models",
        json={"name": "x", "task": "regression", "ontology_id": ontology_id},
        headers=outsider,
    )
    assert theirs.status_code == 404  # another tenant's ontology

    listed = client.get("/api/v1/models", params={"project_id": project_id}, headers=headers).json()
    assert {m["id"] for m in listed["items"]} == set(made.values()) and listed["total"] == 4
    walled = client.get("/api/v1/models", params={"project_id": project_id}, headers=outsider).json()
    assert walled["items"] == [] and walled["total"] == 0

    mid = made["random_forest"]
    one = client.get(f"/api/v1/models/{mid}", headers=headers).json()
    assert one["id"] == mid and one["ontology_id"] == ontology_id
    assert client.get(f"/api/v1/models/{mid}", headers=outsider).status_code == 404

    update = {
        "name": unique("renamed-"),
        "description": "Churn, by plan",
        "training_metrics": {"loss": 0.21, "epochs": 12},
        "performance_metrics": {"accuracy": 0.91, "f1": 0.88},
        "metadata": {"team": "growth"},
    }
    patched = client.patch(f"/api/v1/models/{mid}", json=update, headers=headers)
    assert patched.status_code == 200, patched.text
    got = client.get(f"/api/v1/models/{mid}", headers=headers).json()
    assert (got["name"], got["description"], got["metadata"]) == (
        update["name"],
        update["description"],
        {"team": "growth"},
    )
    assert got["training_metrics"] == update["training_metrics"]
    assert got["performance_metrics"] == update["performance_metrics"]
    assert got["metrics"] == {**update["performance_metrics"], "training": update["training_metrics"]}
    only_training = client.patch(
        f"/api/v1/models/{mid}", json={"training_metrics": {"loss": 0.2}}, headers=headers
    ).json()
    assert only_training["training_metrics"] == {"loss": 0.2}
    assert only_training["performance_metrics"] == update["performance_metrics"]
    both_names = {"metrics": {"accuracy": 1.0}, "performance_metrics": {"accuracy": 1.0}}
    assert client.patch(f"/api/v1/models/{mid}", json=both_names, headers=headers).status_code == 422
    # the document's statuses are the lifecycle's: a draft becomes training only by training
    for status in ("trained", "deprecated", "archived"):
        moved = client.patch(f"/api/v1/models/{mid}", json={"status": status}, headers=headers)
        assert moved.status_code == 409, moved.text
    assert (
        client.patch(f"/api/v1/models/{mid}", json={"status": "retired"}, headers=headers).status_code == 422
    )
    assert client.patch(f"/api/v1/models/{mid}", json={"name": "x"}, headers=outsider).status_code == 404

    assert client.delete(f"/api/v1/models/{mid}", headers=outsider).status_code == 404
    deleted = client.delete(f"/api/v1/models/{mid}", headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"/api/v1/models/{mid}", headers=headers).status_code == 404


def test_train_with_storage_config_ids_heard_on_the_websocket(api, world):
    once_per_session(api)
    headers, outsider, project_id, ontology_id = world
    client = api.client
    dataset_id = upload(api, headers, training_csv(250, seed=17))
    model = _create(api, headers, project_id, ontology_id, target="Churn")
    mid = model["id"]
    train = f"/api/v1/models/{mid}/train"

    empty = client.post(train, json={"storage_config_ids": []}, headers=headers)
    assert empty.status_code == 422 and "synthetic" in empty.json()["detail"], empty.text
    several = client.post(train, json={"storage_config_ids": [dataset_id, dataset_id + 1]}, headers=headers)
    assert several.status_code == 422 and "one" in several.json()["detail"], several.text
    assert client.post(train, json={"storage_config_ids": [dataset_id]}, headers=outsider).status_code == 404
    other = client.post(
        train, json={"model_id": mid + 1000, "storage_config_ids": [dataset_id]}, headers=headers
    )
    assert other.status_code == 422, other.text  # the body's model_id must be the path's

    token = headers["Authorization"].removeprefix("Bearer ")
    url = str(api.client.base_url).replace("http", "ws", 1).rstrip("/") + "/api/v1/events/ws"

    async def follow() -> tuple[dict, dict]:
        async with websockets.connect(url, subprotocols=["bearer", token]) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 20))["type"] == "subscribed"
            body = {"model_id": mid, "storage_config_ids": [dataset_id], "training_config": {"seed": 3}}
            started = await asyncio.to_thread(client.post, train, json=body, headers=headers)
            assert started.status_code == 202, started.text
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 240))
                if event["type"] in ("run.completed", "run.failed") and event["data"]["model_id"] == mid:
                    return started.json(), event

    answer, event = asyncio.run(follow())
    assert answer["id"] == mid and answer["status"] == "training"
    assert event["type"] == "run.completed", event
    assert event["data"]["version"] == "v1" and "accuracy" in event["data"]["metrics"]
    assert event["data"]["model_uid"] == answer["uid"]
    trained = wait_for_model(api, headers, mid)
    assert trained["status"] == "trained"
    assert "accuracy" in trained["performance_metrics"] and trained["training_metrics"] is None
    version = client.get(f"/api/v1/models/{mid}/versions/v1", headers=headers).json()
    assert version["dataset_id"] == dataset_id

    # the worker callbacks are never open: the run's own secret, else 401 (the document's names accepted)
    report = {
        "artifact_path": "models/x",
        "performance_metrics": {"accuracy": 1.0},
        "training_metrics": {"loss": 0.0},
    }
    for path, body in (("training-complete", report), ("training-failure", {"reason": "out of memory"})):
        url_ = f"/api/v1/models/{mid}/versions/v1/{path}"
        assert client.post(url_, json=body).status_code == 401
        assert client.post(url_, json=body, headers={"X-Callback-Token": "guess"}).status_code == 401
        assert client.post(url_, json=body, headers=headers).status_code == 401  # a user's token is not it

    # the document's lifecycle after training, then its 204
    moved = client.patch(f"/api/v1/models/{mid}", json={"status": "degraded"}, headers=headers)
    assert moved.status_code == 200 and moved.json()["status"] == "degraded"
    assert client.delete(f"/api/v1/models/{mid}", headers=headers).status_code == 204


def test_recommend_answers_the_documents_fields(api, world):
    once_per_session(api)
    headers, outsider, project_id, ontology_id = world
    client = api.client
    dataset_id = _upload(api, headers, training_csv(250, seed=18), ontology_id)
    body = {
        "project_id": project_id,
        "ontology_id": ontology_id,
        "dataset_id": dataset_id,
        "target": "Churn",
        "time_budget_s": 10,
    }
    answer = client.post("/api/v1/models/recommend", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["recommended_model_type"] in {s["model_type"] for s in got["scores"]}
    assert 0 <= got["confidence"] <= 100 and got["explanation"]
    assert {"decision_tree", "random_forest", "regression", "neural_network"} <= {
        s["model_type"] for s in got["scores"]
    }
    assert got["ontology_id"] == ontology_id and got["ontology_analysis"] == got["schema_analysis"]
    assert got["data_analysis"]["rows"] == 250
    wrong = client.post(
        "/api/v1/models/recommend", json={**body, "ontology_id": ontology_id + 1000}, headers=headers
    )
    assert wrong.status_code == 422, wrong.text
    theirs = client.post("/api/v1/models/recommend", json=body, headers=outsider)
    assert theirs.status_code == 404
