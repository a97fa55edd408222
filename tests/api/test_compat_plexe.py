"""Reference document 003 (models by name and version) over real HTTP at /compat/plexe: the document's
own requests replayed in order (create, list, status, details, describe, infer) on one real training, the
intent's target picked or 422 when ambiguous, and another tenant's models invisible."""

from __future__ import annotations

import time

import pytest

from tests.api.conftest import once_per_session
from tests.api.test_training_api import upload
from tests.datafiles import training_csv

URL = "/compat/plexe"
NAME = "Customer Churn Predictor"
ROW = {
    "CustomerID": "C9",
    "Tenure": 5,
    "Monthly": 20.5,
    "Plan": "Basic",
    "Joined": "2020-01-15",
    "Score": 3.5,
    "Spend": 21.0,
}


@pytest.fixture(scope="module")
def world(api):
    once_per_session(api)
    tenant = api.new_tenant()
    _, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    return api.client, headers, outsider, upload(api, headers, training_csv(250, seed=7))


def wait_status(client, headers, version: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = client.get(f"{URL}/models/{NAME}/{version}/status", headers=headers)
        assert resp.status_code == 200, resp.text
        if resp.json()["status"] in ("completed", "failed"):
            return resp.json()
        assert time.monotonic() < deadline, resp.text
        time.sleep(1)


def test_the_documents_requests_in_order(world):
    client, headers, outsider, dataset_id = world
    # the intent must name one column: a tie or no match is a 422 naming the candidates
    tie = client.post(
        f"{URL}/models/both",
        json={"upload_id": str(dataset_id), "intent": "churn or spend?"},
        headers=headers,
    )
    assert tie.status_code == 422 and "Churn, Spend" in tie.json()["detail"], tie.text
    vague = client.post(
        f"{URL}/models/vague",
        json={"upload_id": dataset_id, "intent": "predict the weather"},
        headers=headers,
    )
    assert vague.status_code == 422 and "Tenure" in vague.json()["detail"]
    metric = client.post(
        f"{URL}/models/m",
        json={"upload_id": dataset_id, "intent": "churn", "metric": "rmse"},
        headers=headers,
    )
    assert metric.status_code == 422 and "accuracy" in metric.json()["detail"]
    assert client.get(f"{URL}/models", headers=headers).json() == []  # nothing was made

    # Create a Model (the document's body, its upload id a raylake dataset id)
    body = {
        "upload_id": str(dataset_id),
        "intent": "Predict customer churn based on usage patterns",
        "metric": "accuracy",
        # a raylake addition: one LightGBM rather than the default search's 60-second budget (the
        # suite's time; the document's body alone trains with "auto", the same code path)
        "provider": "lightgbm",
    }
    assert client.post(f"{URL}/models/{NAME}", json=body).status_code == 401
    assert client.post(f"{URL}/models/{NAME}", json=body, headers=outsider).status_code == 404
    created = client.post(f"{URL}/models/{NAME}", json=body, headers=headers)
    assert created.status_code == 201, created.text
    made = created.json()
    assert made["model_name"] == NAME and made["status"] == "pending" and made["provider"] == "lightgbm"
    assert made["intent"] == body["intent"] and made["upload_id"] == str(dataset_id)
    assert made["model_version"] == "v1" and made["model_id"] and made["created_at"]

    # Get All Models: while it trains, no metric yet
    listed = client.get(f"{URL}/models", headers=headers).json()
    assert [m["model_name"] for m in listed] == [NAME]
    assert listed[0]["status"] in ("pending", "processing", "completed")

    # Check Model Status
    status = wait_status(client, headers, "v1")
    assert status["status"] == "completed", status
    assert status["result"]["metric_name"] == "accuracy" and 0.5 < status["result"]["metric_value"] <= 1
    assert status["error"] is None

    listed = client.get(f"{URL}/models", headers=headers).json()
    assert listed[0]["status"] == "completed" and listed[0]["metric_name"] == "accuracy"
    assert listed[0]["metric_value"] == status["result"]["metric_value"]

    # Get Model Details
    details = client.get(f"{URL}/models/{NAME}/v1", headers=headers)
    assert details.status_code == 200, details.text
    d = details.json()
    assert d["model_id"] == made["model_id"] and d["status"] == "completed" and d["metric_name"] == "accuracy"
    assert d["input_schema"]["properties"]["Tenure"] == {"type": "integer"}
    assert "Churn" not in d["input_schema"]["properties"]
    assert set(d["output_schema"]["properties"]) == {"Churn", "Churn_probability"}

    # Get Model Description
    described = client.get(f"{URL}/models/{NAME}/v1/describe", headers=headers)
    assert described.status_code == 200, described.text
    desc = described.json()
    assert set(desc) == {"description", "features", "target", "performance"}
    assert desc["target"] == "Churn" and "Tenure" in desc["features"] and "Churn" not in desc["features"]
    assert {"accuracy", "precision", "recall"} <= set(desc["performance"]) and desc["description"]

    # Perform Inference: flat fields in, flat outputs named after the target back
    inferred = client.post(f"{URL}/models/{NAME}/v1/infer", json=ROW, headers=headers)
    assert inferred.status_code == 200, inferred.text
    out = inferred.json()
    assert isinstance(out["Churn"], bool) and 0 <= out["Churn_probability"] <= 1
    many = client.post(f"{URL}/models/{NAME}/v1/infer", json={"instances": [ROW, ROW]}, headers=headers)
    assert many.status_code == 200 and [set(r) >= {"Churn"} for r in many.json()["predictions"]] == [True] * 2
    assert client.post(f"{URL}/models/{NAME}/v9/infer", json=ROW, headers=headers).status_code == 404

    # another tenant sees none of it
    assert client.get(f"{URL}/models", headers=outsider).json() == []
    for path in (f"/models/{NAME}/v1", f"/models/{NAME}/v1/status", f"/models/{NAME}/v1/describe"):
        assert client.get(URL + path, headers=outsider).status_code == 404
    assert client.post(f"{URL}/models/{NAME}/v1/infer", json=ROW, headers=outsider).status_code == 404
