"""Reference document 002 (MLConnector) over real HTTP at /compat/mlconnector: the document's own requests
replayed in order (model metadata, listing and search, drift settings, uploads with the pickle refused,
training, deployment, predict with explanations, operations, deletes), its HTTPValidationError shape, and
another tenant's models and deployments invisible."""

from __future__ import annotations

import io
import pickle
import time

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import Ridge

from tests.api.conftest import once_per_session
from tests.api.test_training_api import upload as upload_dataset
from tests.datafiles import training_csv

URL = "/compat/mlconnector"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def world(api):
    tenant = api.new_tenant()
    user, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    return api, headers, user["username"], outsider


def _ridge() -> Ridge:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 8, size=(200, 4))
    return Ridge(alpha=1.0, random_state=0).fit(X, X @ [0.5, -0.2, 1.5, 0.8] + rng.normal(0, 0.1, 200))


def _file(name: str, content: bytes, kind: str) -> dict:
    return {
        "files": {"file": (name, io.BytesIO(content), "application/octet-stream")},
        "data": {"file_kind": kind},
    }


def test_model_metadata_listed_searched_patched_and_deleted(world):
    """No Ray job: on both metadata backends."""
    api, headers, _, outsider = world
    client = api.client
    # POST /model/add: the document's cURL body
    body = {
        "modelname": "MyModel",
        "modelkind": "regression",
        "drift_detection": [{"is_true": 1, "method": 2}],
    }
    assert client.post(f"{URL}/model/add", json=body).status_code == 401
    created = client.post(f"{URL}/model/add", json=body, headers=headers)
    assert created.status_code == 201, created.text
    mine = created.json()
    assert mine["modelname"] == "MyModel" and mine["modelkind"] == "regression" and mine["modelid"]
    assert mine["drift_detection"] == [{"is_true": 1, "method": 2}]
    native = client.get(f"/api/v1/models/{mine['modelid']}", headers=headers).json()
    assert native["drift"]["enabled"] is True and native["drift"]["method"] == "js"

    # the end-to-end example's metadata (featurelist filled in: the document elides it)
    ridge = {
        "modelname": "Ridge",
        "modelkind": "Regressor",
        "hyperparameter": [{"parameter": "string", "value": 0}],
        "modelperformance": [{"metric": "Accuracy", "order": 1, "threshold": 0.89}],
        "trainingresource": [{"resource_name": "GPU", "value": 16, "deploy": "string"}],
        "runresource": [{"resource_name": "GPU", "value": 16, "deploy": "string"}],
        "featurelist": [{"feature_name": f, "type": "num"} for f in FEATURES],
        "inference": [{"type": "string", "value": "string"}],
        "modeltags": ["regression", "fast"],
        "drift_detection": [{"is_true": 1, "method": 0}],
    }
    made = client.post(f"{URL}/model/add", json=ridge, headers=headers)
    assert made.status_code == 201, made.text
    r = made.json()
    assert {k: r[k] for k in ridge} == ridge

    # the document's error shape: HTTPValidationError
    missing = client.post(f"{URL}/model/add", json={"modelkind": "regression"}, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "modelname"]
    assert set(missing.json()["detail"][0]) == {"loc", "msg", "type"}
    clustering = client.post(f"{URL}/model/add", json={**body, "modelkind": "clustering"}, headers=headers)
    assert clustering.status_code == 422 and "regression" in clustering.json()["detail"][0]["msg"]

    listed = client.get(f"{URL}/model/all", params={"skip": 0, "limit": 50}, headers=headers).json()
    assert {m["modelid"] for m in listed} == {mine["modelid"], r["modelid"]}
    kind = client.get(f"{URL}/model/getkind/regression", headers=headers).json()
    assert len(kind) == 2 and client.get(f"{URL}/model/getkind/classification", headers=headers).json() == []
    assert client.get(f"{URL}/model/getkind/clustering", headers=headers).json() == []
    both = [("tags", "fast"), ("tags", "accuracy-focused")]
    assert client.get(f"{URL}/model/search", params=both, headers=headers).json() == []
    fast = client.get(f"{URL}/model/search", params=[("tags", "fast")], headers=headers).json()
    assert [m["modelid"] for m in fast] == [r["modelid"]]

    # PATCH /model/{model_id}: the document's body
    update = {"modeltags": ["updated-tag"], "drift_detection": [{"is_true": 1, "method": 1}]}
    patched = client.patch(f"{URL}/model/{r['modelid']}", json=update, headers=headers)
    assert patched.status_code == 200 and not patched.content
    tagged = client.get(f"{URL}/model/search", params={"tags": "updated-tag"}, headers=headers).json()
    assert [(m["modelid"], m["drift_detection"]) for m in tagged] == [
        (r["modelid"], update["drift_detection"])
    ]
    assert tagged[0]["featurelist"] == ridge["featurelist"]  # kept as sent

    # another tenant sees none of it
    assert client.get(f"{URL}/model/all", headers=outsider).json() == []
    assert client.get(f"{URL}/model/search", params={"tags": "fast"}, headers=outsider).json() == []
    assert client.patch(f"{URL}/model/{r['modelid']}", json=update, headers=outsider).status_code == 404
    assert client.delete(f"{URL}/model/{r['modelid']}", headers=outsider).status_code == 404
    up = client.post(f"{URL}/model/{r['modelid']}/upload", headers=outsider, **_file("m.skops", b"x", "code"))
    assert up.status_code == 404

    deleted = client.delete(f"{URL}/model/{mine['modelid']}", headers=headers)
    assert deleted.status_code == 200 and not deleted.content
    assert [m["modelid"] for m in client.get(f"{URL}/model/all", headers=headers).json()] == [r["modelid"]]
    assert client.delete(f"{URL}/model/{mine['modelid']}", headers=headers).status_code == 404


def test_the_end_to_end_example_upload_deploy_predict_explain(world):
    api, headers, username, outsider = world
    once_per_session(api)
    client = api.client
    reg = _ridge()
    body = {
        "modelname": "diabetes-ridge",
        "modelkind": "Regressor",
        "featurelist": [{"feature_name": f, "type": "num"} for f in FEATURES],
        "modeltags": ["regression", "fast"],
        "drift_detection": [{"is_true": 1, "method": 0}],
    }
    model = client.post(f"{URL}/model/add", json=body, headers=headers).json()
    mid = model["modelid"]

    # 2.2 the pickled file: refused (loading a pickle runs its code), advising ONNX or skops; nothing kept
    pickled = client.post(
        f"{URL}/model/{mid}/upload", headers=headers, **_file("model.pkl", pickle.dumps(reg), "model")
    )
    assert pickled.status_code == 422, pickled.text
    msg = pickled.json()["detail"][0]["msg"]
    assert "ONNX" in msg and "skops" in msg
    assert client.get(f"/api/v1/models/{mid}/artifacts", headers=headers).json()["total"] == 0
    uploaded = client.post(
        f"{URL}/model/{mid}/upload", headers=headers, **_file("model.skops", skops.io.dumps(reg), "model")
    )
    assert uploaded.status_code == 201, uploaded.text
    f = uploaded.json()
    assert (
        f["file_kind"] == "model" and f["format"] == "skops" and f["version"] == "v1" and f["modelid"] == mid
    )
    csv = ("\n".join([",".join(FEATURES), "5.1,3.5,1.4,0.2"]) + "\n").encode()
    data = client.post(f"{URL}/model/{mid}/upload", headers=headers, **_file("train.csv", csv, "data"))
    assert data.status_code == 201 and data.json()["version"] is None
    bad_kind = client.post(f"{URL}/model/{mid}/upload", headers=headers, **_file("x", b"x", "weights"))
    assert bad_kind.status_code == 422 and bad_kind.json()["detail"][0]["loc"] == ["body", "file_kind"]

    # 3. deployment: the document's body with the model's id
    dep = {
        "modelid": mid,
        "ownerid": "agent-1",
        "placement": {"clusterID": "*", "node": "*", "continuum": True},
        "deployment_id": "dep-5678",
        "inference_data": 1,
    }
    created = client.post(f"{URL}/deployment/add", json=dep, headers=headers, timeout=120)
    assert created.status_code == 201, created.text
    d = created.json()
    did = d["deployment_id"]
    assert d["modelid"] == mid and d["ownerid"] == username and d["version"] == "v1"
    assert d["endpoint"] == f"{URL}/deployment/{did}/predict" and d["placement"] == dep["placement"]
    deadline = time.monotonic() + 180
    while (status := client.get(f"{URL}/deployment/get/status/{did}", headers=headers).json())[
        "status"
    ] != "running":
        assert time.monotonic() < deadline and status["status"] in ("deploying", "running"), status
        time.sleep(1)
    assert status["ready_replicas"] == 1
    listed = client.get(f"{URL}/deployment/all", params={"skip": 0, "limit": 50}, headers=headers).json()
    assert [x["deployment_id"] for x in listed] == [did] and listed[0]["status"] == "running"

    # 4.1 predict call with explanations, the values by position in the feature order
    call = {"data": [5.1, 3.5, 1.4, 0.2], "explain": True}
    predicted = client.post(f"{URL}/deployment/{did}/predict", json=call, headers=headers)
    assert predicted.status_code == 200, predicted.text
    out = predicted.json()
    assert out["prediction"] == pytest.approx(reg.predict(np.array([call["data"]])).tolist(), rel=1e-4)
    explanation = out["explanation"]
    assert explanation["features"] == FEATURES and len(explanation["feature_importance"]) == 4
    assert "shap" in explanation["method"]
    named = client.post(
        f"{URL}/deployment/{did}/predict",
        json={"data": dict(zip(FEATURES, call["data"], strict=True))},
        headers=headers,
    )
    assert named.json()["prediction"] == out["prediction"] and "explanation" not in named.json()
    short = client.post(f"{URL}/deployment/{did}/predict", json={"data": [1.0]}, headers=headers)
    assert short.status_code == 422 and "4 features" in short.json()["detail"][0]["msg"]

    # record an operation (the document's body, ids substituted), then list the owner's operations
    op = {"ownerid": "agent-1", "deploymentid": did, "modelid": mid, "data": "{...}", "result": "{...}"}
    recorded = client.post(f"{URL}/deployment/add/operation", json=op, headers=headers)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["ownerid"] == username and recorded.json()["deploymentid"] == did
    opos = client.get(f"{URL}/deployment/get/opos/{username}", headers=headers).json()
    assert (
        len(opos) == 4
        and {o["deploymentid"] for o in opos} == {did}
        and {o["modelid"] for o in opos} == {mid}
    )
    assert sorted(o["status_code"] for o in opos) == [200, 200, 200, 422]

    # another tenant: no such deployment
    assert client.get(f"{URL}/deployment/all", headers=outsider).json() == []
    assert client.get(f"{URL}/deployment/get/status/{did}", headers=outsider).status_code == 404
    assert client.post(f"{URL}/deployment/{did}/predict", json=call, headers=outsider).status_code == 404
    assert client.post(f"{URL}/deployment/add/operation", json=op, headers=outsider).status_code == 404
    assert client.get(f"{URL}/deployment/get/opos/{username}", headers=outsider).json() == []
    assert client.delete(f"{URL}/deployment/{did}", headers=outsider).status_code == 404
    assert client.post(f"{URL}/deployment/add", json=dep, headers=outsider).status_code == 404

    gone = client.delete(f"{URL}/deployment/{did}", headers=headers)
    assert gone.status_code == 200 and not gone.content
    assert client.get(f"{URL}/deployment/get/status/{did}", headers=headers).status_code == 404


def test_training_started_by_mltraining_add(world):
    api, headers, _, outsider = world
    once_per_session(api)
    client = api.client
    dataset_id = upload_dataset(api, headers, training_csv(250, seed=11))
    body = {
        "modelname": "RandomForest",
        "modelkind": "classification",
        "drift_detection": [{"is_true": 0, "method": 0}],
        "dataset_id": dataset_id,  # raylake: what it trains on, and its target
        "target": "Churn",
        "model_type": "lightgbm",
    }
    model = client.post(f"{URL}/model/add", json=body, headers=headers)
    assert model.status_code == 201, model.text
    mid = model.json()["modelid"]
    train = {"modelid": mid, "placement": {"clusterID": "*", "node": "*", "continuum": False}}
    assert client.post(f"{URL}/mltraining/add", json=train, headers=outsider).status_code == 404
    placed = {**train, "placement": {"clusterID": "edge-1", "node": "*", "continuum": False}}
    assert client.post(f"{URL}/mltraining/add", json=placed, headers=headers).status_code == 422
    started = client.post(f"{URL}/mltraining/add", json=train, headers=headers)
    assert started.status_code == 201, started.text
    run = started.json()
    assert (
        run["modelid"] == mid
        and run["version"] == "v1"
        and run["trainid"]
        and run["placement"] == train["placement"]
    )
    deadline = time.monotonic() + 300
    while True:
        found = next(m for m in client.get(f"{URL}/model/all", headers=headers).json() if m["modelid"] == mid)
        if found["status"] not in ("draft", "training"):
            break
        assert time.monotonic() < deadline, found
        time.sleep(1)
    assert found["status"] == "trained" and found["versions"] == ["v1"] and found["target"] == "Churn"
