"""Drift over real HTTP on real Ray: a model trained through the API has its baseline; drift settings
set by PATCH; a dataset from the training distribution raises nothing, one shifted on Tenure drifts on
Tenure only; predictions of shifted rows through /inference/ are captured and GET /drift finds the same;
another tenant sees none of it."""

from __future__ import annotations

import time

import polars as pl
import pytest

from tests.api.conftest import once_per_session
from tests.api.test_registry_api import wait_for_model
from tests.api.test_training_api import COLUMNS, upload
from tests.datafiles import training_csv
from tests.factories import unique


@pytest.fixture(scope="module")
def tenant(api):
    tenant = api.new_tenant()
    _, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    return headers, outsider


def shifted(rows: int, seed: int) -> pl.DataFrame:
    """Customers from the training generator, each 100 months older."""
    frame = pl.read_csv(training_csv(rows, seed=seed), infer_schema_length=0)
    return frame.with_columns(pl.col("Tenure").cast(pl.Int64) + 100)


def test_drift_of_a_model_trained_through_the_api(api, tenant):
    once_per_session(api)
    headers, outsider = tenant
    client = api.client
    body = {
        "name": unique("churn"),
        "task": "binary_classification",
        "model_type": "lightgbm",
        "dataset_id": upload(api, headers, training_csv(300)),
        "target": "Churn",
        "training_config": {"columns": [c for c in COLUMNS if c["attribute_name"] != "Target"]},
    }
    mid = client.post("/api/v1/models", json=body, headers=headers).json()["id"]
    assert client.post(f"/api/v1/models/{mid}/train", json={}, headers=headers).status_code == 202
    assert wait_for_model(api, headers, mid)["status"] == "trained"

    baseline = client.get(f"/api/v1/models/{mid}/drift/baseline", headers=headers)
    assert baseline.status_code == 200, baseline.text
    kinds = {c["name"]: c["kind"] for c in baseline.json()["columns"]}
    assert kinds == {"Tenure": "numeric", "Monthly": "numeric", "Plan": "categorical"}  # not a Date
    assert baseline.json()["prediction"]["name"] == "_prediction"

    settings = {"enabled": True, "method": "psi", "window": "1h", "min_rows": 50}
    patched = client.patch(f"/api/v1/models/{mid}", json={"drift": settings}, headers=headers)
    assert patched.status_code == 200 and patched.json()["drift"] == {**settings, "threshold": None}
    bad = client.patch(f"/api/v1/models/{mid}", json={"drift": {"window": "soon"}}, headers=headers)
    assert bad.status_code == 422

    same = upload(api, headers, training_csv(300, seed=7), usage="p")
    moved = upload(api, headers, shifted(300, seed=8).write_csv().encode(), usage="p")
    verdicts = {}
    for dataset_id in (same, moved):
        checked = client.post(f"/api/v1/models/{mid}/drift", json={"dataset_id": dataset_id}, headers=headers)
        assert checked.status_code == 200, checked.text
        report = checked.json()
        assert report["source"] == "dataset" and report["rows"] == 300 and report["version"] == "v1"
        verdicts[dataset_id] = (report["status"], report["drifted"])
    assert verdicts == {same: ("ok", []), moved: ("drift", ["Tenure"])}
    tenure = next(c for c in report["columns"] if c["name"] == "Tenure")
    assert tenure["method"] == "psi" and tenure["score"] > 0.2

    # shifted customers predicted in real time: captured, then found drifting over the window
    train_id = client.get(f"/api/v1/models/{mid}", headers=headers).json()["versions"][0]["train_id"]
    rows = shifted(300, seed=9).drop("Churn", "Spend", "Score").drop_nulls("Monthly").head(200)
    rows = rows.with_columns(pl.col("Monthly").cast(pl.Float64))  # a real-time row has every input
    predicted = client.post(
        "/api/v1/inference/", json={"train_id": train_id, "instances": rows.to_dicts()}, headers=headers
    )
    assert predicted.status_code == 200, predicted.text
    deadline = time.monotonic() + 60
    while True:  # capture appends every few seconds
        window = client.get(f"/api/v1/models/{mid}/drift", params={"window": "1h"}, headers=headers)
        assert window.status_code == 200, window.text
        if window.json()["rows"] >= 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    found = window.json()
    assert found["source"] == "predictions" and found["rows"] == 200
    assert found["status"] == "drift" and found["drifted"] == ["Tenure"]

    reports = client.get(f"/api/v1/models/{mid}/drift/reports", headers=headers).json()
    assert reports["total"] >= 3 and reports["items"][0]["id"] == found["id"]
    one = client.get(f"/api/v1/models/{mid}/drift/reports/{found['id']}", headers=headers)
    assert one.status_code == 200 and one.json()["drifted"] == ["Tenure"]

    # more rows than RAYLAKE_DRIFT_JOB_ROWS (350 here): a Ray job computes it, and its report is polled
    large = upload(api, headers, shifted(400, seed=10).write_csv().encode(), usage="p")
    started = client.post(f"/api/v1/models/{mid}/drift", json={"dataset_id": large}, headers=headers)
    assert started.status_code == 202, started.text
    assert started.json()["job_status"] != "completed" and started.json()["ray_job_id"]
    url = f"/api/v1/models/{mid}/drift/reports/{started.json()['id']}"
    deadline = time.monotonic() + 300
    while (job := client.get(url, headers=headers).json())["job_status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(1)
    assert job["job_status"] == "completed", job
    assert (job["rows"], job["status"], job["drifted"]) == (400, "drift", ["Tenure"])

    for path in ("drift", "drift/baseline", "drift/reports", f"drift/reports/{found['id']}"):
        assert client.get(f"/api/v1/models/{mid}/{path}", headers=outsider).status_code == 404
    stolen = client.post(f"/api/v1/models/{mid}/drift", json={"dataset_id": same}, headers=outsider)
    assert stolen.status_code == 404
