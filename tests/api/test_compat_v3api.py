"""Reference document 001 (model REST API v3) at /compat/v3api over real HTTP: the document's own sample
requests replayed in a client's order (model factory, register, list/search/filter/order/paginate, get,
deploy-artifact with an ONNX file and a refused pickle, patch, deploy-surrogate, columns, delete), its
envelopes and fields asserted; another tenant's client sees none of it."""

from __future__ import annotations

import json
import pickle
import time
import uuid

import pytest
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier

from raylake.platform.app import create_app
from tests.api.conftest import once_per_session
from tests.api.test_external_api import _table
from tests.factories import unique

V3 = "/compat/v3api/v3"
SPEC = {  # the document's spec, its "text" columns named as the sample file's
    "schema_version": 1,
    "inputs": ["x0", "x1", "x2"],
    "outputs": ["probability_yes"],
    "targets": ["label"],
    "decisions": [],
    "metadata": ["segment"],
    "custom_features": [
        {
            "type": "FROM_COLUMNS",
            "name": "xs",
            "columns": ["x0", "x1"],
            "centroids": [1],
            "tf_idf": [{}],
            "n_clusters": 1,
            "monitor_components": True,
        }
    ],
}
TASK_PARAMS = {
    "binary_classification_threshold": 0.5,
    "target_class_order": ["no", "yes"],
    "group_by": "x0",
    "top_k": 1,
    "class_weights": [1, 1],
    "weighted_ref_histograms": True,
}
XAI_PARAMS = {"custom_explain_methods": ["text"], "default_explain_method": "text"}
SURROGATE = {
    "deployment_params": {
        "artifact_type": "SURROGATE",
        "deployment_type": "BASE_CONTAINER",
        "image_uri": "text",
        "replicas": 2,
        "cpu": 500,
        "memory": 512,
    }
}
SUMMARY_FIELDS = {
    "id",
    "name",
    "version",
    "status",
    "organization",
    "project",
    "input_type",
    "task",
    "description",
    "owner",
    "deployment_date",
    "artifact_status",
    "deleted_at",
    "algorithm",
    "framework",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
}
DETAIL_FIELDS = SUMMARY_FIELDS | {
    "task_params",
    "schema",
    "spec",
    "event_id_col",
    "event_ts_col",
    "event_ts_format",
    "xai_params",
    "artifact_files",
    "is_binary_ranking_model",
}
COLUMN_FIELDS = {
    "name",
    "data_type",
    "min",
    "max",
    "categories",
    "bins",
    "replace_with_nulls",
    "n_dimensions",
}


def _normal(resp, status: int = 200) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["api_version"] == "3.0" and body["kind"] == "NORMAL", body
    return body["data"]


def _paginated(resp) -> dict:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["api_version"] == "3.0" and body["kind"] == "PAGINATED", body
    return body["data"]


def _wait_surrogate(api, headers, model_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = api.client.get(f"/api/v1/models/{model_id}/surrogate", headers=headers)
        assert resp.status_code == 200, resp.text
        if resp.json()["status"] in ("completed", "failed", "cancelled"):
            return resp.json()
        assert time.monotonic() < deadline, resp.json()
        time.sleep(1)


@pytest.fixture(scope="module")
def world(api) -> dict:
    """A tenant with a data scientist, its default project, an uploaded sample file (as a dataset too),
    an ONNX classifier of that data, and a data scientist of another tenant."""
    once_per_session(api)
    tenant = api.new_tenant()
    user, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    X, y, plain = _table(300)
    lines = plain.decode().splitlines()  # a segment column too: text with few values, a "category"
    csv = "\n".join([f"{lines[0]},segment"] + [f"{line},{'ab'[i % 2]}" for i, line in enumerate(lines[1:])])
    csv = (csv + "\n").encode()
    uploaded = api.client.post(
        "/api/v1/dataset/upload",
        params={"dataset_name": unique("v3-"), "usage": "t"},
        files=[("files", ("sample.csv", csv, "text/csv"))],
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    project = api.client.get("/api/v1/projects", headers=headers).json()["items"][0]
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    onnx = to_onnx(forest, X[:1], options={id(forest): {"zipmap": False}}).SerializeToString()
    return {
        "tenant": tenant,
        "user": user,
        "headers": headers,
        "outsider": outsider,
        "project": project,
        "dataset_id": uploaded.json()["dataset_id"],
        "file_id": uploaded.json()["files"][0]["id"],
        "onnx": onnx,
    }


def test_the_documents_requests_replayed(api, world):
    client, headers, user = api.client, world["headers"], world["user"]
    project = world["project"]

    # Generate model from the given data sample
    made = client.post(
        f"{V3}/model-factory",
        json={"file_id": world["file_id"], "spec": SPEC, "max_cardinality": 1000, "sample_size": 10000},
        headers=headers,
    )
    factory = _normal(made)
    assert set(factory) == {"schema", "spec"} and factory["spec"] == SPEC
    columns = {c["name"]: c for c in factory["schema"]["columns"]}
    assert factory["schema"]["schema_version"] == 1
    assert list(columns) == ["x0", "x1", "x2", "label", "segment"]
    assert columns["x0"]["data_type"] == "float" and columns["label"]["data_type"] == "bool"
    assert columns["segment"]["data_type"] == "category"
    assert set(columns["segment"]["categories"]) == {"a", "b"}
    assert set(columns["x0"]) == COLUMN_FIELDS | {"id"}

    # Add a new model under a project: the document's body, ids and columns substituted
    name = unique("v3-churn-")
    body = {
        "name": name,
        "version": "v1",
        "project_id": project["uid"],
        "status": "LIVE",
        "input_type": "structured",
        "task": "binary_classification",
        "schema": factory["schema"],
        "spec": SPEC,
        "task_params": TASK_PARAMS,
        "xai_params": XAI_PARAMS,
        "description": "text",
        "owner_id": user["username"],
        "deployment_date": "2025-07-01T22:57:45.242Z",
        "algorithm": "random_forest",
        "framework": "scikit-learn via ONNX",
        "event_id_col": "x0",
        "event_ts_col": "x1",
        "event_ts_format": "epoch",
    }
    model = _normal(client.post(f"{V3}/models", json=body, headers=headers))
    mid = model["id"]
    assert set(model) == DETAIL_FIELDS and str(uuid.UUID(mid)) == mid
    assert model["name"] == name and model["version"] == "v1" and model["task"] == "binary_classification"
    assert model["project"] == {"id": project["uid"], "name": "default"}
    assert model["organization"]["id"] == world["tenant"]
    assert model["owner"] == {"id": user["username"], "full_name": user["username"], "email": user["email"]}
    assert model["created_by"]["id"] == user["username"] and model["status"] == "DRAFT"
    assert model["artifact_status"] == "no_model" and model["artifact_files"] == []
    assert model["schema"] == factory["schema"] and model["spec"] == SPEC
    assert model["task_params"] == TASK_PARAMS and model["xai_params"] == XAI_PARAMS
    assert model["deployment_date"].startswith("2025-07-01T22:57:45.242")
    assert (model["event_id_col"], model["event_ts_col"], model["event_ts_format"]) == ("x0", "x1", "epoch")
    assert model["is_binary_ranking_model"] is False and model["deleted_at"] is None
    again = client.post(f"{V3}/models", json=body, headers=headers)
    assert again.status_code == 409, again.text
    ranking = client.post(
        f"{V3}/models", json={**body, "name": unique("r"), "task": "ranking"}, headers=headers
    )
    assert ranking.status_code == 422, ranking.text
    other = _normal(
        client.post(
            f"{V3}/models",
            json={
                "name": unique("v3-amount-"),
                "project_id": project["uid"],
                "input_type": "structured",
                "task": "regression",
            },
            headers=headers,
        )
    )
    assert other["version"] == "v1" and other["schema"] is None

    # List models: latest_only, project_id, search, filter, ordering, limit, offset
    params = {"project_id": project["uid"], "latest_only": "true"}
    listed = _paginated(client.get(f"{V3}/models", params=params, headers=headers))
    assert listed["total"] == 2 and {m["id"] for m in listed["items"]} == {mid, other["id"]}
    assert set(listed["items"][0]) == SUMMARY_FIELDS
    found = _paginated(client.get(f"{V3}/models", params={"search": name[3:]}, headers=headers))
    assert [m["id"] for m in found["items"]] == [mid]
    rules = {"condition": "AND", "rules": [{"field": "name", "operator": "equal", "value": other["name"]}]}
    filtered = _paginated(client.get(f"{V3}/models", params={"filter": json.dumps(rules)}, headers=headers))
    assert [m["id"] for m in filtered["items"]] == [other["id"]]
    by_task = _paginated(client.get(f"{V3}/models", params={"filter": "task:regression"}, headers=headers))
    assert [m["id"] for m in by_task["items"]] == [other["id"]]
    by_id = _paginated(client.get(f"{V3}/models", params={"filter": f"id:{mid.upper()}"}, headers=headers))
    assert [m["id"] for m in by_id["items"]] == [mid]
    by_status = _paginated(client.get(f"{V3}/models", params={"filter": "status:DRAFT"}, headers=headers))
    assert by_status["total"] == 2
    ordered = _paginated(client.get(f"{V3}/models", params={"ordering": "-name"}, headers=headers))
    assert [m["name"] for m in ordered["items"]] == sorted([name, other["name"]], reverse=True)
    page = _paginated(
        client.get(f"{V3}/models", params={"ordering": "name", "limit": 1, "offset": 1}, headers=headers)
    )
    assert [m["name"] for m in page["items"]] == [max(name, other["name"])]
    assert (page["total"], page["page_size"], page["item_count"], page["page_count"], page["page_index"]) == (
        2,
        1,
        1,
        2,
        2,
    )
    for bad in (
        {"filter": "colour:red"},
        {"ordering": "colour"},
        {"filter": "status:GONE"},
        {"filter": "id:7"},
    ):
        assert client.get(f"{V3}/models", params=bad, headers=headers).status_code == 422

    # Get details of a model
    assert _normal(client.get(f"{V3}/models/{mid}", headers=headers)) == model

    # Upload artifacts associated with the model: a pickle is refused (and nothing kept), ONNX deployed
    refused = client.post(
        f"{V3}/models/{mid}/deploy-artifact",
        files={"file": ("model.pkl", pickle.dumps({"weights": [1, 2]}), "application/octet-stream")},
        headers=headers,
    )
    assert refused.status_code == 422 and "ONNX" in refused.json()["detail"], refused.text
    assert _normal(client.get(f"{V3}/models/{mid}", headers=headers))["artifact_files"] == []
    onnx = ("forest.onnx", world["onnx"], "application/octet-stream")
    job = _normal(client.post(f"{V3}/models/{mid}/deploy-artifact", files={"file": onnx}, headers=headers))
    assert set(job) == {"job"} and uuid.UUID(job["job"]["id"]) and "v1" in job["job"]["name"]
    deployed = _normal(client.get(f"{V3}/models/{mid}", headers=headers))
    assert deployed["status"] == "LIVE" and deployed["artifact_status"] == "user_uploaded"
    assert [(f["name"], f["size"]) for f in deployed["artifact_files"]] == [
        ("forest.onnx", len(world["onnx"]))
    ]
    # Update artifacts associated with the model: its next version
    job = _normal(client.put(f"{V3}/models/{mid}/deploy-artifact", files={"file": onnx}, headers=headers))
    assert "v2" in job["job"]["name"]
    versions = client.get(f"/api/v1/models/{mid}/versions", headers=headers).json()
    assert [v["version"] for v in versions["items"]] == ["v2", "v1"]
    row = {"x0": 0.8, "x1": 0.2, "x2": -0.3}
    inferred = client.post(f"/api/v1/models/{mid}/versions/v2/infer", json=row, headers=headers)
    assert inferred.status_code == 200 and inferred.json()["prediction"] in ("no", "yes"), inferred.text

    # Update the fields of a model: the document's body, ids and columns substituted
    patch = {k: v for k, v in body.items() if k not in ("name", "project_id")}
    patched = _normal(
        client.patch(
            f"{V3}/models/{mid}", json={**patch, "version": "v2", "description": "churn v2"}, headers=headers
        )
    )
    assert patched["description"] == "churn v2" and patched["version"] == "v2" and patched["status"] == "LIVE"
    assert patched["task_params"] == TASK_PARAMS and patched["schema"] == factory["schema"]
    moved = client.patch(f"{V3}/models/{mid}", json={"task": "regression"}, headers=headers)
    assert moved.status_code == 422, moved.text
    deprecated = _normal(client.patch(f"{V3}/models/{mid}", json={"status": "DEPRECATED"}, headers=headers))
    assert deprecated["status"] == "DEPRECATED" and deprecated["version"] == "v2"

    # Deploy a surrogate model, then update it: Ray jobs, their progress read natively
    surrogate = {"env_id": world["dataset_id"], **SURROGATE}
    started = _normal(
        client.post(f"{V3}/models/{mid}/deploy-surrogate", json=surrogate, headers=headers), 202
    )
    assert started["job"]["id"] and "v2" in started["job"]["name"]
    fitted = _wait_surrogate(api, headers, mid)
    assert fitted["status"] == "completed" and fitted["ray_job_id"] == started["job"]["id"], fitted
    twice = client.post(f"{V3}/models/{mid}/deploy-surrogate", json=surrogate, headers=headers)
    assert twice.status_code == 409, twice.text
    replaced = _normal(
        client.put(f"{V3}/models/{mid}/deploy-surrogate", json=surrogate, headers=headers), 202
    )
    assert replaced["job"]["id"] != started["job"]["id"]
    assert _wait_surrogate(api, headers, mid)["status"] == "completed"

    # Details of all columns, and of one
    listed_columns = _paginated(client.get(f"{V3}/models/{mid}/columns", headers=headers))
    assert listed_columns["items"] == factory["schema"]["columns"] and listed_columns["total"] == 5
    column = _normal(client.get(f"{V3}/models/{mid}/columns/segment", headers=headers))
    assert set(column) >= COLUMN_FIELDS and column == columns["segment"]
    assert client.get(f"{V3}/models/{mid}/columns/nope", headers=headers).status_code == 404

    # Another tenant's client sees none of it; no token, no answer
    outsider = world["outsider"]
    for method, path in (
        ("GET", f"{V3}/models/{mid}"),
        ("PATCH", f"{V3}/models/{mid}"),
        ("DELETE", f"{V3}/models/{mid}"),
        ("GET", f"{V3}/models/{mid}/columns"),
        ("GET", f"{V3}/models/{mid}/columns/label"),
        ("PUT", f"{V3}/models/{mid}/deploy-surrogate"),
    ):
        sent = {"json": {}} if method == "PATCH" else {"json": surrogate} if method == "PUT" else {}
        assert client.request(method, path, headers=outsider, **sent).status_code == 404, (method, path)
    assert (
        client.post(f"{V3}/models/{mid}/deploy-artifact", files={"file": onnx}, headers=outsider).status_code
        == 404
    )
    assert _paginated(client.get(f"{V3}/models", headers=outsider))["total"] == 0
    assert (
        client.get(f"{V3}/models", params={"project_id": project["uid"]}, headers=outsider).status_code == 404
    )
    taken = client.post(f"{V3}/models", json={**body, "name": unique("x")}, headers=outsider)
    assert taken.status_code == 404, taken.text
    assert client.get(f"{V3}/models/{mid}").status_code == 401

    # Delete a model
    deleted = _normal(client.delete(f"{V3}/models/{mid}", headers=headers), 202)
    assert deleted == {"job": {"id": mid, "name": f"Delete model {name}"}}
    assert client.get(f"{V3}/models/{mid}", headers=headers).status_code == 404
    _normal(client.delete(f"{V3}/models/{other['id']}", headers=headers), 202)
    assert _paginated(client.get(f"{V3}/models", params=params, headers=headers))["total"] == 0


def test_openapi_lists_the_documents_paths_under_its_tag(settings) -> None:
    paths = create_app(settings).openapi()["paths"]
    mine = {path: ops for path, ops in paths.items() if path.startswith(V3)}
    assert set(mine) == {
        f"{V3}/models",
        f"{V3}/models/{{model_id}}",
        f"{V3}/model-factory",
        f"{V3}/models/{{model_id}}/deploy-artifact",
        f"{V3}/models/{{model_id}}/deploy-surrogate",
        f"{V3}/models/{{model_id}}/columns",
        f"{V3}/models/{{model_id}}/columns/{{column_id}}",
    }
    tags = {tag for ops in mine.values() for op in ops.values() for tag in op["tags"]}
    assert tags == {"compat: model API v3"}
    assert set(mine[f"{V3}/models/{{model_id}}"]) == {"get", "patch", "delete"}
    assert set(mine[f"{V3}/models/{{model_id}}/deploy-artifact"]) == {"put", "post"}
