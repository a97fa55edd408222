"""Prediction capture over real HTTP through Serve: 10,000 rows predicted concurrently are all in the
model's lake table; GET /models/{id}/predictions pages them, newest first, by time and version; a batch's
rows join them; capture off captures nothing; another tenant gets a 404."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from raylake.platform import lake
from raylake.platform.monitoring import capture
from tests.api.conftest import Api, once_per_session
from tests.api.test_inference_api import wait_for_batch
from tests.api.test_registry_api import wait_for_model
from tests.api.test_training_api import COLUMNS, upload
from tests.datafiles import training_csv
from tests.factories import unique

ROW = {"CustomerID": "C7", "Tenure": 5, "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"}
THREADS, CALLS, INSTANCES = 20, 5, 100  # 10,000 rows in 100 calls


@dataclass
class Model:
    api: Api
    headers: dict[str, str]
    outsider: dict[str, str]
    model_id: int
    train_id: int
    dataset_id: int


@pytest.fixture(scope="module")
def model(api) -> Model:
    once_per_session(api)  # Serve and the lake behave alike on both stores (tests/platform cover both)
    _, headers = api.new_user(api.new_tenant(), ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    dataset_id = upload(api, headers, training_csv(250, seed=3))
    body = {
        "name": unique("captured"),
        "task": "binary_classification",
        "model_type": "lightgbm",
        "dataset_id": dataset_id,
        "target": "Churn",
        "training_config": {"columns": [c for c in COLUMNS if c["attribute_name"] != "Target"]},
    }
    created = api.client.post("/api/v1/models", json=body, headers=headers)
    assert created.status_code == 201, created.text
    model_id = created.json()["id"]
    assert created.json()["capture_predictions"] is True
    assert api.client.post(f"/api/v1/models/{model_id}/train", json={}, headers=headers).status_code == 202
    trained = wait_for_model(api, headers, model_id)
    assert trained["status"] == "trained", trained
    return Model(api, headers, outsider, model_id, trained["versions"][0]["train_id"], dataset_id)


def captured(model: Model, **params) -> dict:
    resp = model.api.client.get(
        f"/api/v1/models/{model.model_id}/predictions", params=params, headers=model.headers
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_concurrent_predictions_lose_no_row(model: Model):
    api = model.api
    rows = [{**ROW, "CustomerID": f"C{i}", "Tenure": 1 + i % 70} for i in range(INSTANCES)]

    def calls(worker: int) -> int:
        done = 0
        with httpx.Client(base_url=str(api.client.base_url), timeout=60) as client:
            for call in range(CALLS):
                if (worker + call) % 2:
                    path, body = "/api/v1/inference/", {"train_id": model.train_id, "instances": rows}
                else:
                    path, body = f"/api/v1/models/{model.model_id}/versions/v1/infer", {"instances": rows}
                resp = client.post(path, json=body, headers=model.headers)
                assert resp.status_code == 200, resp.text
                done += len(resp.json()["predictions"])
        return done

    with ThreadPoolExecutor(THREADS) as pool:
        assert sum(pool.map(calls, range(THREADS))) == THREADS * CALLS * INSTANCES

    page = captured(model, limit=3)  # reading writes this replica's buffer first
    assert page["total"] == THREADS * CALLS * INSTANCES
    ctx = lake.open_lake(api.settings)
    table = capture.read_captured(ctx, model.model_id, columns=["_request_id", "_source", "CustomerID"])
    assert table.height == THREADS * CALLS * INSTANCES
    assert table["_request_id"].n_unique() == THREADS * CALLS
    assert set(table["_source"].unique()) == {"realtime", "infer"}
    assert table["CustomerID"].n_unique() == INSTANCES  # Id columns as sent, beside the inputs
    item = page["items"][0]
    assert item["model_id"] == model.model_id and item["version"] == 1 and item["train_id"] == model.train_id
    assert item["prediction"] in ("true", "false") and 0.5 <= item["probability"] <= 1
    assert set(item["inputs"]) == {"CustomerID", "Tenure", "Monthly", "Plan", "Joined"}
    assert item["caller"] and item["latency_ms"] > 0


def test_pages_by_time_and_version_and_walls(model: Model):
    api = model.api
    resp = api.client.post(
        "/api/v1/inference/", json={"train_id": model.train_id, "features": ROW}, headers=model.headers
    )
    assert resp.status_code == 200, resp.text
    first, second = captured(model, limit=2), captured(model, limit=2, offset=2)
    assert first["items"][0]["inputs"]["CustomerID"] == "C7"  # newest first
    assert first["items"][0]["ts"] >= first["items"][1]["ts"] >= second["items"][0]["ts"]
    assert captured(model, version="v1", limit=1)["total"] == first["total"]
    assert captured(model, version="7", limit=1)["total"] == 0
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert captured(model, since=later) == {"items": [], "total": 0, "limit": 100, "offset": 0}
    assert captured(model, until=later, limit=1)["total"] == first["total"]
    url = f"/api/v1/models/{model.model_id}/predictions"
    assert api.client.get(url, params={"version": "nope"}, headers=model.headers).status_code == 404
    assert api.client.get(url, headers=model.outsider).status_code == 404


def test_answers_carry_capture_ids_that_feedback_labels(model: Model):
    api, headers = model.api, model.headers
    rows = [{**ROW, "CustomerID": f"F{i}"} for i in range(4)]
    resp = api.client.post(
        f"/api/v1/models/{model.model_id}/versions/v1/infer", json={"instances": rows}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    answers = resp.json()["predictions"]
    ids = [a["capture_id"] for a in answers]
    assert len(set(ids)) == 4 and ids[0].endswith(".0") and ids[3].endswith(".3")
    one = api.client.post(
        "/api/v1/inference/", json={"train_id": model.train_id, "features": ROW}, headers=headers
    ).json()
    assert one["capture_id"].endswith(".0") and one["capture_id"].rpartition(".")[0] not in ids[0]

    url = f"/api/v1/models/{model.model_id}/feedback"
    labels = [{"capture_id": c, "label": a["prediction"]} for c, a in zip(ids, answers, strict=True)]
    wrong = "false" if str(one["prediction"]).lower() == "true" else "true"
    labels.append({"capture_id": one["capture_id"], "label": wrong})
    sent = api.client.post(url, json={"labels": labels}, headers=headers)
    assert sent.status_code == 200, sent.text
    report = sent.json()
    assert (report["received"], report["matched"], report["metric"]) == (5, 5, "accuracy")
    [version] = report["versions"]
    assert version["rows"] == 5 and version["metrics"]["accuracy"] == pytest.approx(0.8)
    assert version["test_metrics"]["accuracy"] is not None and version["days"][0]["rows"] == 5
    assert api.client.get(url, headers=headers).json()["versions"] == report["versions"]

    assert api.client.post(url, json={}, headers=headers).status_code == 422
    assert api.client.post(url, json={"labels": labels}, headers=model.outsider).status_code == 404
    assert api.client.get(url, headers=model.outsider).status_code == 404


def test_a_batch_is_captured_and_capture_can_be_turned_off(model: Model):
    api, headers = model.api, model.headers
    before = captured(model, limit=1)["total"]
    body = {"train_id": model.train_id, "dataset_id": model.dataset_id}
    submitted = api.client.post("/api/v1/inference/batchPrediction", json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    result = wait_for_batch(api, headers, submitted.json()["prediction_id"])
    assert result["status"] == "completed", result["error"]
    # the batch appends its rows once its result is accepted, so they may land just after "completed"
    deadline = time.monotonic() + 120
    while (newest := captured(model, limit=1))["total"] < before + 250 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert newest["total"] == before + 250
    assert newest["items"][0]["source"] == "batch" and newest["items"][0]["inputs"]["Plan"]

    off = api.client.patch(
        f"/api/v1/models/{model.model_id}", json={"capture_predictions": False}, headers=headers
    )
    assert off.status_code == 200 and off.json()["capture_predictions"] is False
    resp = api.client.post(
        "/api/v1/inference/", json={"train_id": model.train_id, "features": ROW}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    assert captured(model, limit=1)["total"] == before + 250
