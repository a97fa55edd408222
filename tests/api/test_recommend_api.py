"""The model-type recommendation over HTTP through Serve: its fits run as Ray tasks from the API replica."""

from __future__ import annotations

from tests.api.conftest import once_per_session
from tests.api.test_training_api import upload
from tests.datafiles import training_csv

MODEL_TYPES = {
    "lightgbm",
    "random_forest",
    "extra_trees",
    "decision_tree",
    "gradient_boosting",
    "regression",
    "neural_network",
    "forecaster",
}


def test_a_recommendation_runs_its_fits_on_ray(api):
    once_per_session(api)
    _, scientist = api.new_user(api.new_tenant(), ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    dataset_id = upload(api, scientist, training_csv(300, seed=2))

    def ask(headers, **body):
        return api.client.post("/api/v1/models/recommend", json=body, headers=headers)

    resp = ask(scientist, dataset_id=dataset_id, target="Churn", time_budget_s=30)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["runner"] == "ray" and body["task"] == "binary_classification"
    assert {score["model_type"] for score in body["scores"]} == MODEL_TYPES
    scored = [score for score in body["scores"] if score["score"] is not None]
    assert scored, body["scores"]
    assert body["recommended_model_type"] == scored[0]["model_type"]
    assert 0 <= body["confidence"] <= 100 and body["recommended_model_type"] in body["explanation"]
    assert body["data_analysis"]["usable_rows"] == 300
    assert "CustomerID" in {s["column"] for s in body["data_analysis"]["leakage_suspects"]}
    assert body["seconds"] < 30

    missing = ask(scientist, dataset_id=dataset_id, target="Nope")
    assert missing.status_code == 422 and "its columns are CustomerID" in missing.json()["detail"]
    assert ask(scientist, dataset_id=dataset_id, target="Churn", task="clustering").status_code == 422
    assert ask(outsider, dataset_id=dataset_id, target="Churn").status_code == 404
