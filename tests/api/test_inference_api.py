"""Inference over HTTP through Serve: model replicas (multiplexed and dedicated), batch jobs, the log."""

from __future__ import annotations

import csv
import io
import os
import signal
import time
from dataclasses import dataclass

import httpx
import psutil
import pytest
from ray import serve

from tests.api.conftest import once_per_session
from tests.api.test_training_api import upload, wait_for
from tests.datafiles import training_csv
from tests.factories import unique

SCHEMA = [
    {"column_name": "CustomerID", "data_type": "String"},
    {"column_name": "Tenure", "data_type": "Integer"},
    {"column_name": "Monthly", "data_type": "Float", "default_value": "50.0"},
    {"column_name": "Plan", "data_type": "String", "default_value": "Basic"},
    {"column_name": "Joined", "data_type": "Date"},
    {"column_name": "Score", "data_type": "Float"},
    {"column_name": "Churn", "data_type": "Boolean"},
    {"column_name": "Spend", "data_type": "Float"},
]
COLUMNS = [
    {"column_name": "CustomerID", "attribute_name": "Id"},
    {"column_name": "Churn", "attribute_name": "Target"},
    {"column_name": "Spend", "attribute_name": "Ignore"},
    {"column_name": "Score", "attribute_name": "Ignore"},
]
ROW = {"Tenure": "5", "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"}
FINAL = {"completed", "failed", "cancelled"}


@dataclass
class Model:
    api: object
    tenant: str
    headers: dict[str, str]
    outsider: dict[str, str]
    dataset_id: int
    run: dict
    template_id: int


def predict(api, headers, body: dict) -> httpx.Response:
    return api.client.post("/api/v1/inference/", json=body, headers=headers)


@pytest.fixture(scope="module")
def model(api) -> Model:
    tenant = api.new_tenant()
    _, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    template = api.client.post(
        "/api/v1/template/",
        json={"template_name": unique("churn"), "template_schema": SCHEMA},
        headers=headers,
    )
    assert template.status_code == 201, template.text
    resp = api.client.post(
        "/api/v1/dataset/upload",
        params={"dataset_name": unique("infer-"), "usage": "t", "template_id": template.json()["id"]},
        files=[("files", ("data.csv", training_csv(400, seed=4), "text/csv"))],
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    dataset_id = resp.json()["dataset_id"]
    body = {
        "dataset_id": dataset_id,
        "predictor_name": unique("churn-"),
        "domain": "Churn",
        "problem_type": "Classification",
        "columns": COLUMNS,
    }
    resp = api.client.post("/api/v1/train/", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    run = wait_for(api, headers, resp.json()["id"])
    assert run["train_status"] == "completed", run["error"]
    return Model(api, tenant, headers, outsider, dataset_id, run, template.json()["id"])


def test_realtime_one_row_many_rows_and_explanations(model: Model):
    api, headers, run = model.api, model.headers, model.run
    body = {"train_id": run["id"], "preprocess_id": run["preprocess_id"], "features": ROW, "target": "Churn"}
    resp = predict(api, headers, body)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert isinstance(out["prediction"], bool)  # a Boolean target answers true/false, not "true"
    assert set(out["probabilities"]) == {"false", "true"}
    assert abs(sum(out["probabilities"].values()) - 1) < 1e-9
    assert out["accuracy"] == run["metrics"]["accuracy"]
    assert out["prediction"] is True  # short tenure on the Basic plan churns in the training data

    # optional features fall back to their template defaults; extra dataset columns are ignored
    many = [ROW, {"Tenure": 60, "Joined": "2019-05-01", "CustomerID": "C9", "Score": 1.5}, ROW]
    resp = predict(api, headers, {"train_id": run["id"], "instances": many})
    assert resp.status_code == 200, resp.text
    predictions = resp.json()["predictions"]
    ids = [p.pop("capture_id") for p in predictions]  # each row's own captured prediction
    assert len(predictions) == 3 and predictions[0] == predictions[2] and len(set(ids)) == 3
    assert predictions[1]["prediction"] is False

    resp = predict(api, headers, {"train_id": run["id"], "features": ROW, "explain": True})
    assert resp.status_code == 200, resp.text
    explanation = resp.json()["explanation"]
    assert set(explanation) == {"Tenure", "Monthly", "Plan", "Joined"}
    assert max(explanation, key=lambda k: abs(explanation[k])) in {"Tenure", "Plan"}


def test_realtime_bad_input(model: Model):
    api, headers, run = model.api, model.headers, model.run
    base = {"train_id": run["id"], "features": ROW}
    cases = [
        ({**base, "train_id": 999_999}, 404, "not found"),
        ({**base, "features": {**ROW, "Tenure": "five"}}, 422, "'Tenure' must be Integer"),
        ({**base, "features": {**ROW, "Joined": 12}}, 422, "'Joined' must be Date"),
        ({**base, "features": {"Monthly": 3.0}}, 422, "missing required features: Tenure, Joined"),
        ({**base, "features": {**ROW, "Tenur": 3}}, 422, "unknown features: Tenur"),
        ({**base, "features": {**ROW, "Plan": {"nested": 1}}}, 422, "features"),
        ({**base, "preprocess_id": run["preprocess_id"] + 1000}, 422, "preprocess_id"),
        ({**base, "target": "Spend"}, 422, "predicts 'Churn'"),
        ({"train_id": run["id"]}, 422, "either features"),
        ({**base, "instances": [ROW]}, 422, "either features"),
        ({"train_id": run["id"], "instances": [ROW] * 1001}, 413, "1001 instances"),
    ]
    for body, status, words in cases:
        resp = predict(api, headers, body)
        assert resp.status_code == status, (body, resp.text)
        assert words in resp.json()["detail"], (body, resp.json())
    huge = predict(api, headers, {"train_id": run["id"], "instances": [ROW] * 10_000})
    assert huge.status_code == 413
    # another tenant's model does not exist for the caller
    assert predict(api, model.outsider, base).status_code == 404
    viewer = api.new_user(model.tenant, ["viewer"])[1]
    assert predict(api, viewer, base).status_code == 403


def test_unfinished_model_is_409(model: Model):
    api, headers = model.api, model.headers
    dataset_id = upload(api, headers, training_csv(60, seed=8))
    body = {
        "dataset_id": dataset_id,
        "predictor_name": unique("pending-"),
        "domain": "Churn",
        "problem_type": "Classification",
        "columns": [{"column_name": "Churn", "attribute_name": "Target"}],
        "algorithm": "auto",
        "time_budget_s": 300,
    }
    created = api.client.post("/api/v1/train/", json=body, headers=headers).json()
    resp = predict(api, headers, {"train_id": created["id"], "features": ROW})
    assert resp.status_code == 409 and "only a completed" in resp.json()["detail"]
    params = {"ray_job_id": created["ray_job_id"], "usage": "training"}
    assert api.client.post("/api/v1/ray/terminate_ray_job", params=params, headers=headers).status_code == 200


def test_form_based_prediction(model: Model):
    api, headers, run = model.api, model.headers, model.run
    resp = api.client.get(
        "/api/v1/inference/form-based-prediction", params={"id": run["id"]}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    form = resp.json()
    assert form["target"] == "Churn" and form["preprocess_id"] == run["preprocess_id"]
    fields = {f["column_name"]: f for f in form["headers"]}
    assert list(fields) == ["Tenure", "Monthly", "Plan", "Joined"]
    assert fields["Monthly"]["default_value"] == "50.0" and not fields["Monthly"]["required"]
    assert fields["Tenure"]["required"] and fields["Tenure"]["data_type"] == "Integer"
    assert set(fields["Plan"]["categories"]) == {"Basic", "Premium", "Gold"}
    other = api.client.get(
        "/api/v1/inference/form-based-prediction", params={"id": run["id"]}, headers=model.outsider
    )
    assert other.status_code == 404


def wait_for_batch(api, headers, prediction_id: int, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = api.client.get(
            "/api/v1/inference/result", params={"prediction_id": prediction_id}, headers=headers
        )
        assert resp.status_code == 200, resp.text
        if resp.json()["status"] in FINAL:
            return resp.json()
        assert time.monotonic() < deadline, resp.json()
        time.sleep(0.5)


def test_batch_prediction_and_the_prediction_log(model: Model):
    api, headers, run = model.api, model.headers, model.run
    once_per_session(api)
    body = {"train_id": run["id"], "dataset_id": model.dataset_id}
    resp = api.client.post("/api/v1/inference/batchPrediction", json=body, headers=headers)
    assert resp.status_code == 202, resp.text
    submitted = resp.json()
    assert submitted["message"] == "Batch prediction job started successfully." and submitted["prediction_id"]
    result = wait_for_batch(api, headers, submitted["prediction_id"])
    assert result["status"] == "completed", result["error"]
    assert result["no_of_records"] == 400 and result["dataset_id"] == model.dataset_id
    assert 0.6 < result["accuracy"] <= 1 and result["gold_table"].startswith("gold.")

    download = api.client.get(
        "/api/v1/files/download/", params={"file_id": result["file_id"]}, headers=headers
    )
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 400 and set(rows[0]) == {"CustomerID", "prediction", "probability"}
    assert {r["CustomerID"] for r in rows} == {f"C{i}" for i in range(400)}
    by_path = api.client.get(
        "/api/v1/files/download/", params={"file_path": result["result_path"]}, headers=headers
    )
    assert by_path.status_code == 200
    table = result["gold_table"].split(".", 1)[1]
    columns = api.client.get(
        "/api/v1/datalake/tables/columns",
        params={"schema_name": "gold", "table_name": table},
        headers=headers,
    )
    assert columns.status_code == 200, columns.text

    assert (
        api.client.get(
            "/api/v1/inference/result",
            params={"prediction_id": submitted["prediction_id"]},
            headers=model.outsider,
        ).status_code
        == 404
    )

    called = predict(api, headers, {"train_id": run["id"], "features": ROW})
    assert called.status_code == 200, called.text
    entries: list[dict] = []
    # Reading flushes this replica's buffer; a store busy past its timeout keeps the calls for the next
    # window (``inference/log.py``), so the log may take a moment more.
    for _ in range(30):
        log = api.client.get("/api/v1/inference/predictions", params={"train_id": run["id"]}, headers=headers)
        assert log.status_code == 200, log.text
        entries = log.json()["data"]
        if {"batch", "real-time"} <= {e["prediction_type"] for e in entries}:
            break
        time.sleep(1)
    assert {"batch", "real-time"} <= {e["prediction_type"] for e in entries}, entries
    batch = next(e for e in entries if e["prediction_id"] == submitted["prediction_id"])
    assert batch["no_of_records"] == 400 and batch["predictor_name"] == run["predictor_name"]
    assert (
        batch["input_data"].startswith(f"dataset_id:{model.dataset_id}") and batch["domain_name"] == "Churn"
    )
    realtime = next(e for e in entries if e["prediction_type"] == "real-time")
    assert (
        realtime["status"] == "completed"
        and realtime["no_of_records"] >= 1
        and "Tenure" in realtime["input_data"]
    )
    outsider_log = api.client.get(
        "/api/v1/inference/predictions", params={"train_id": run["id"]}, headers=model.outsider
    )
    assert outsider_log.status_code == 404


def test_mid_size_batch_runs_in_the_model_replica(model: Model):
    """Up to ``batch_replica_max_rows`` the model's replica predicts the batch: no Ray job, same outputs."""
    api, headers, run = model.api, model.headers, model.run
    once_per_session(api)
    dataset = upload(api, headers, training_csv(150, seed=9), usage="p")
    resp = api.client.post(
        "/api/v1/inference/batchPrediction",
        json={"train_id": run["id"], "dataset_id": dataset},
        headers=headers,
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["ray_job_id"] is None
    result = wait_for_batch(api, headers, resp.json()["prediction_id"], timeout=120)
    assert result["status"] == "completed", result["error"]
    assert result["ray_job_id"] is None and result["percent"] == 100
    assert result["no_of_records"] == 150 and 0.5 < result["accuracy"] <= 1
    download = api.client.get(
        "/api/v1/files/download/", params={"file_id": result["file_id"]}, headers=headers
    )
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 150 and len({r["prediction"] for r in rows}) <= 2
    assert {r["CustomerID"] for r in rows} == {f"C{i}" for i in range(150)}


def test_batch_refuses_a_dataset_that_does_not_fit(model: Model):
    api, headers, run = model.api, model.headers, model.run
    other = upload(api, headers, b"CustomerID,Tenure,Plan\nC1,abc,Basic\nC2,def,Gold\n", usage="p")
    resp = api.client.post(
        "/api/v1/inference/batchPrediction",
        json={"train_id": run["id"], "dataset_id": other},
        headers=headers,
    )
    assert resp.status_code == 422
    detail = resp.json()["detail"]
    assert "'Tenure' is String" in detail and "'Joined' is missing" in detail
    before = api.client.get("/api/v1/inference/predictions", headers=headers).json()["total"]
    foreign = upload(api, model.outsider, training_csv(20, seed=1))
    resp = api.client.post(
        "/api/v1/inference/batchPrediction",
        json={"train_id": run["id"], "dataset_id": foreign},
        headers=headers,
    )
    assert resp.status_code == 422 and "does not exist" in resp.json()["detail"]
    assert api.client.get("/api/v1/inference/predictions", headers=headers).json()["total"] == before


def _without(content: bytes, *columns: str) -> bytes:
    """A CSV with some columns taken out."""
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    kept = [name for name in rows[0] if name not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=kept, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_prediction_data_without_the_target(model: Model):
    """Prediction data validated against the training template may lack the target and the columns the
    model ignores (absent, not errors); batch-prediction (the reference's other spelling) predicts it. Data
    missing one of the model's inputs uploads too, but batchPrediction refuses it before any job."""
    api, headers, run = model.api, model.headers, model.run

    def upload_p(content: bytes) -> dict:
        resp = api.client.post(
            "/api/v1/dataset/upload",
            params={"dataset_name": unique("new-"), "usage": "p", "template_id": model.template_id},
            files=[("files", ("new.csv", content, "text/csv"))],
            headers=headers,
        )
        assert resp.status_code == 201, resp.text
        return resp.json()

    no_joined = upload_p(_without(training_csv(30, seed=12), "Churn", "Joined"))
    assert no_joined["files"][0]["error_report"]["absent_columns"] == ["Joined", "Churn"]
    before = api.client.get("/api/v1/inference/predictions", headers=headers).json()["total"]
    resp = api.client.post(
        "/api/v1/inference/batchPrediction",
        json={"train_id": run["id"], "dataset_id": no_joined["dataset_id"]},
        headers=headers,
    )
    assert resp.status_code == 422 and "'Joined' is missing" in resp.json()["detail"], resp.text
    assert api.client.get("/api/v1/inference/predictions", headers=headers).json()["total"] == before

    new = upload_p(_without(training_csv(40, seed=11), "Churn", "Score", "Spend"))
    assert new["is_valid"] and new["files"][0]["error_report"]["absent_columns"] == [
        "Score",
        "Churn",
        "Spend",
    ]
    once_per_session(api)
    resp = api.client.post(
        "/api/v1/inference/batch-prediction",
        json={"train_id": run["id"], "dataset_id": new["dataset_id"]},
        headers=headers,
    )
    assert resp.status_code == 202, resp.text
    result = wait_for_batch(api, headers, resp.json()["prediction_id"], timeout=120)
    assert result["status"] == "completed", result["error"]
    assert result["no_of_records"] == 40 and result["accuracy"] is None


def _replica_pids(name: str) -> list[int]:
    pids = []
    for proc in psutil.process_iter(["cmdline"]):
        title = " ".join(proc.info["cmdline"] or [])
        if f"ServeReplica:{name}" in title:
            pids.append(proc.pid)
    return pids


def test_killed_model_replica_recovers_and_nothing_hangs(model: Model):
    api, headers, run = model.api, model.headers, model.run
    once_per_session(api)
    body = {"train_id": run["id"], "features": ROW}
    assert predict(api, headers, body).status_code == 200
    pids = _replica_pids("raylake:models")
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    statuses = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = time.monotonic()
        resp = predict(api, headers, body)
        assert time.monotonic() - started < api.settings.inference_timeout_s + 10
        statuses.append(resp.status_code)
        assert resp.status_code in (200, 503), resp.text
        if resp.status_code == 200 and len(statuses) > 1:
            break
        time.sleep(0.5)
    assert statuses[-1] == 200, statuses


def test_dedicated_deployment_and_deleting_the_run_undeploys(model: Model):
    api, headers, run = model.api, model.headers, model.run
    once_per_session(api)
    params = {"train_id": run["id"], "replicas": 1}
    assert (
        api.client.post("/api/v1/inference/deploy", params=params, headers=model.outsider).status_code == 404
    )
    missing = api.client.delete("/api/v1/inference/deploy", params={"train_id": run["id"]}, headers=headers)
    assert missing.status_code == 404 and "no dedicated deployment" in missing.json()["detail"]
    resp = api.client.post("/api/v1/inference/deploy", params=params, headers=headers, timeout=180)
    assert resp.status_code == 201, resp.text
    app = resp.json()["app_name"]
    assert app in serve.status().applications and _replica_pids(f"{app}:models")
    single = predict(api, headers, {"train_id": run["id"], "features": ROW})
    assert single.status_code == 200, single.text
    gone = api.client.delete(
        "/api/v1/inference/deploy", params={"train_id": run["id"]}, headers=model.outsider
    )
    assert gone.status_code == 404

    # deleting the training run takes its dedicated deployment down with it (the last test of the module)
    assert api.client.delete(f"/api/v1/train/delete/{run['id']}", headers=headers).status_code == 200
    status = serve.status().applications.get(app)
    assert status is None or status.status == "DELETING", status
    assert predict(api, headers, {"train_id": run["id"], "features": ROW}).status_code == 404
