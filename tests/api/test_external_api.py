"""External models over real HTTP on real Ray: an ONNX file uploaded, registered with its signature,
served by the model replicas like a trained version (real-time, explain, batch), given a surrogate by a
Ray job, downloaded as uploaded; a pickle, an oversized file and another tenant refused."""

from __future__ import annotations

import pickle
import random
import time

import numpy as np
import pytest
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier

from tests.api.conftest import once_per_session
from tests.api.test_inference_api import wait_for_batch
from tests.api.test_training_api import upload
from tests.factories import unique

INPUTS = [{"name": f"x{i}", "data_type": "Float"} for i in range(3)]


def _table(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, bytes]:
    rng = random.Random(seed)
    X = np.array([[rng.uniform(-1, 1) for _ in range(3)] for _ in range(rows)], dtype=np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    lines = ["x0,x1,x2,label"] + [
        f"{a:.6f},{b:.6f},{c:.6f},{'yes' if t else 'no'}" for (a, b, c), t in zip(X, y, strict=True)
    ]
    return X, y, ("\n".join(lines) + "\n").encode()


def _wait_surrogate(api, headers, model_id: int, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = api.client.get(f"/api/v1/models/{model_id}/surrogate", headers=headers)
        assert resp.status_code == 200, resp.text
        if resp.json()["status"] in ("completed", "failed", "cancelled"):
            return resp.json()
        assert time.monotonic() < deadline, resp.json()
        time.sleep(0.5)


def test_an_external_onnx_model_served_explained_and_walled(api, tenant):
    once_per_session(api)
    client = api.client
    _, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    X, y, csv = _table(400)
    forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(X, y)
    onnx_bytes = to_onnx(forest, X[:1], options={id(forest): {"zipmap": False}}).SerializeToString()

    model = client.post(
        "/api/v1/models", json={"name": unique("ext"), "task": "binary_classification"}, headers=headers
    ).json()
    mid = model["id"]
    uploaded = client.post(
        f"/api/v1/models/{mid}/artifacts",
        files={"file": ("forest.onnx", onnx_bytes, "application/octet-stream")},
        data={"file_kind": "model"},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    artifact = uploaded.json()
    assert (
        artifact["format"] == "onnx" and artifact["size"] == len(onnx_bytes) and len(artifact["sha256"]) == 64
    )

    # over the cap (5 MB in these tests): 413, nothing kept
    big = client.post(
        f"/api/v1/models/{mid}/artifacts",
        files={"file": ("big.bin", b"\0" * (6 * 1024 * 1024), "application/octet-stream")},
        data={"file_kind": "data"},
        headers=headers,
    )
    assert big.status_code == 413, big.text
    # a pickle is stored, never loaded: registering it is a 422 that says what to do
    pickled = client.post(
        f"/api/v1/models/{mid}/artifacts",
        files={"file": ("model.pkl", pickle.dumps({"weights": [1, 2]}), "application/octet-stream")},
        headers=headers,
    ).json()
    assert pickled["format"] == "pickle"
    refused = client.post(
        f"/api/v1/models/{mid}/versions",
        json={"artifact_id": pickled["id"], "inputs": INPUTS, "class_order": ["no", "yes"]},
        headers=headers,
    )
    assert refused.status_code == 422 and "ONNX" in refused.json()["detail"]
    listed = client.get(f"/api/v1/models/{mid}/artifacts", headers=headers).json()
    assert listed["total"] == 2 and {a["filename"] for a in listed["items"]} == {"forest.onnx", "model.pkl"}
    download = client.get(f"/api/v1/models/{mid}/artifacts/{artifact['uid']}", headers=headers)
    assert download.status_code == 200 and download.content == onnx_bytes
    for path in (f"/api/v1/models/{mid}/artifacts", f"/api/v1/models/{mid}/artifacts/{artifact['id']}"):
        assert client.get(path, headers=outsider).status_code == 404

    mismatch = client.post(
        f"/api/v1/models/{mid}/versions",
        json={"artifact_id": artifact["id"], "inputs": INPUTS[:2], "class_order": ["no", "yes"]},
        headers=headers,
    )
    assert mismatch.status_code == 422, mismatch.text
    registered = client.post(
        f"/api/v1/models/{mid}/versions",
        json={
            "artifact_id": artifact["id"],
            "inputs": INPUTS,
            "class_order": ["no", "yes"],
            "target": "label",
        },
        headers=headers,
    )
    assert registered.status_code == 201, registered.text
    version = registered.json()
    assert version["version"] == "v1" and version["status"] == "completed"
    train_id = version["train_id"]

    row = {"x0": 0.8, "x1": 0.2, "x2": -0.3}
    expected = "yes" if forest.predict(np.array([[0.8, 0.2, -0.3]], dtype=np.float32))[0] else "no"
    inferred = client.post(f"/api/v1/models/{mid}/versions/v1/infer", json=row, headers=headers)
    assert inferred.status_code == 200, inferred.text
    assert inferred.json()["prediction"] == expected
    wrong = client.post(f"/api/v1/models/{mid}/versions/v1/infer", json={"x0": 1.0}, headers=headers)
    assert wrong.status_code == 422 and "x1" in wrong.json()["detail"]
    explained = client.post(
        "/api/v1/inference/", json={"train_id": train_id, "features": row, "explain": True}, headers=headers
    )
    assert explained.status_code == 200, explained.text
    assert explained.json()["explanation_method"] == "kernel_shap"
    assert set(explained.json()["explanation"]) == {"x0", "x1", "x2"}

    dataset_id = upload(api, headers, csv)
    batch = client.post(
        "/api/v1/inference/batchPrediction",
        json={"train_id": train_id, "dataset_id": dataset_id},
        headers=headers,
    )
    assert batch.status_code == 202, batch.text
    result = wait_for_batch(api, headers, batch.json()["prediction_id"])
    assert result["status"] == "completed", result["error"]
    assert result["no_of_records"] == 400

    started = client.post(f"/api/v1/models/{mid}/surrogate", json={"dataset_id": dataset_id}, headers=headers)
    assert started.status_code == 202, started.text
    assert (
        client.post(
            f"/api/v1/models/{mid}/surrogate", json={"dataset_id": dataset_id}, headers=outsider
        ).status_code
        == 404
    )
    fitted = _wait_surrogate(api, headers, mid)
    assert fitted["status"] == "completed", fitted["error"]
    assert fitted["metric"] == "agreement" and fitted["fidelity"] > 0.8
    again = client.post(f"/api/v1/models/{mid}/surrogate", json={"dataset_id": dataset_id}, headers=headers)
    assert again.status_code == 409  # PUT replaces
    by_surrogate = client.post(
        "/api/v1/inference/", json={"train_id": train_id, "features": row, "explain": True}, headers=headers
    ).json()
    assert by_surrogate["explanation_method"] == "surrogate_tree_shap"
    assert by_surrogate["explanation_fidelity"] == pytest.approx(fitted["fidelity"])

    assert client.delete(f"/api/v1/models/{mid}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/models/{mid}/artifacts", headers=headers).status_code == 404
