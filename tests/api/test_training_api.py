"""Training over HTTP through Serve, on real Ray jobs and Tune: runs, results, SHAP, control, walls."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from raylake.platform import callbacks, lake
from raylake.platform.training import artifacts
from tests.api.conftest import once_per_session
from tests.datafiles import training_csv
from tests.factories import unique

FINAL = {"completed", "failed", "cancelled"}
COLUMNS = [
    {"column_name": "CustomerID", "data_type": "String", "attribute_name": "Id"},
    {"column_name": "Churn", "data_type": "Boolean", "attribute_name": "Target"},
    {"column_name": "Spend", "attribute_name": "Ignore"},
    {"column_name": "Score", "attribute_name": "Ignore"},
]
REGRESSION_COLUMNS = [
    {"column_name": "CustomerID", "attribute_name": "Id"},
    {"column_name": "Spend", "data_type": "Float", "attribute_name": "Target"},
    {"column_name": "Score", "attribute_name": "Ignore"},
]


@dataclass
class World:
    api: object
    tenant: str
    scientist: dict[str, str]
    outsider: dict[str, str]
    dataset_id: int
    run: dict


def upload(api, headers, content: bytes, usage: str = "t") -> int:
    resp = api.client.post(
        "/api/v1/dataset/upload",
        params={"dataset_name": unique("train-"), "usage": usage},
        files=[("files", ("data.csv", content, "text/csv"))],
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["dataset_id"]


def train(api, headers, dataset_id: int, /, **overrides) -> httpx.Response:
    body = {
        "dataset_id": dataset_id,
        "predictor_name": unique("churn-"),
        "domain": "Churn",
        "problem_type": "Classification",
        "columns": COLUMNS,
        **overrides,
    }
    return api.client.post("/api/v1/train/", json=body, headers=headers)


def wait_for(
    api, headers, train_id: int, until=lambda run: run["train_status"] in FINAL, timeout=240
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = api.client.get(f"/api/v1/train/get/{train_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        run = resp.json()
        if until(run):
            return run
        assert time.monotonic() < deadline, f"run {train_id} still {run['train_status']} ({run['stage']})"
        time.sleep(0.5)


def wait_for_importance(api, headers, train_id: int, timeout=180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = api.client.get(
            "/api/v1/train/view-feature-importance", params={"train_id": train_id}, headers=headers
        )
        if resp.status_code == 200 and resp.json()["status"] in FINAL:
            return resp.json()
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.5)


@pytest.fixture(scope="module")
def world(api) -> World:
    tenant = api.new_tenant()
    _, scientist = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    dataset_id = upload(api, scientist, training_csv(400, seed=1))
    resp = train(api, scientist, dataset_id, shap_enabled=True)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["training_status"] == "submitted_to_ray" and created["ray_job_id"]
    run = wait_for(api, scientist, created["id"])
    assert run["train_status"] == "completed", run["error"]
    return World(api, tenant, scientist, outsider, dataset_id, run)


def test_classification_run_end_to_end(world: World):
    api, headers, run = world.api, world.scientist, world.run
    assert run["training_status"] == "Completed" and run["ml_model_status"] == "completed"
    assert run["model_algorithm"] == "LightGBM" and run["percent"] == 100 and run["preprocess_id"]
    assert run["rows"]["test"] > 0 and run["snapshot_id"] and run["version"] == 1

    listed = api.client.get("/api/v1/train/list", headers=headers).json()
    assert listed["total"] >= 1 and run["id"] in {r["id"] for r in listed["data"]}
    item = next(r for r in listed["data"] if r["id"] == run["id"])
    assert {
        "tenant_id",
        "predictor_name",
        "preprocess_id",
        "dataset_name",
        "accuracy",
        "train_status",
    } <= item.keys()
    assert 0.5 < item["accuracy"] <= 1

    summary = api.client.get("/api/v1/train/model-summary", params={"train_id": run["id"]}, headers=headers)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert {"accuracy", "precision", "recall", "f1_score", "roc_auc", "log_loss"} <= body[
        "model_summary"
    ].keys()
    assert body["model_summary"]["model"].startswith("LightGBM")
    assert body["labels"] == ["false", "true"]
    assert sum(map(sum, body["confusion_matrix"])) == run["rows"]["test"]

    schema = api.client.get(f"/api/v1/train/download-schema/{run['id']}", headers=headers)
    assert schema.status_code == 200 and "attachment" in schema.headers["content-disposition"]
    names = [c["column_name"] for c in schema.json()["schema"]]
    assert names == ["CustomerID", "Tenure", "Monthly", "Plan", "Joined"]

    # artifacts: safe formats only, under the tenant's model folder
    ctx = lake.open_lake(api.settings)
    loaded = artifacts.load(ctx.store, f"{world.tenant}/models/{run['id']}")
    assert loaded.manifest["model"]["format"] == "lightgbm-text"
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in loaded.manifest["files"])

    logs = api.client.get("/api/v1/train/logs", params={"train_id": run["id"]}, headers=headers).json()
    assert logs["ray_job_id"] == run["ray_job_id"] and f"training run {run['id']} of tenant" in logs["logs"]

    importance = wait_for_importance(api, headers, run["id"])
    assert importance["status"] == "completed", importance
    assert set(importance["feature_importance"]) == {"Tenure", "Monthly", "Plan", "Joined"}
    assert max(importance["feature_importance"], key=importance["feature_importance"].get) in {
        "Tenure",
        "Plan",
    }


def test_requests_are_validated_before_compute(world: World):
    api, headers = world.api, world.scientist
    before = api.client.get("/api/v1/train/list", headers=headers).json()["total"]
    predict_only = upload(api, headers, training_csv(50, seed=2), usage="p")
    foreign = upload(api, world.outsider, training_csv(50, seed=3))
    cases = [
        ({"dataset_id": 999_999}, 422, "does not exist"),
        ({"dataset_id": foreign}, 422, "does not exist"),
        ({"dataset_id": predict_only}, 422, "prediction"),
        ({"columns": [{"column_name": "CustomerID", "attribute_name": "Id"}]}, 422, "Target"),
        ({"columns": [*COLUMNS, {"column_name": "Plan", "attribute_name": "Target"}]}, 422, "one Target"),
        ({"columns": [*COLUMNS, {"column_name": "Nope", "attribute_name": "Feature"}]}, 422, "'Nope'"),
        (
            {"columns": [{"column_name": "Churn", "data_type": "Integer", "attribute_name": "Target"}]},
            422,
            "Boolean",
        ),
        ({"columns": [{"column_name": "Churn", "attribute_name": "Label"}]}, 422, "attribute_name"),
        (
            {"problem_type": "Regression", "columns": [{"column_name": "Plan", "attribute_name": "Target"}]},
            422,
            "numeric",
        ),
        ({"columns": [{"column_name": "Score", "attribute_name": "Target"}]}, 422, "classes"),
        ({"algorithm": "LinearRegression"}, 422, "LinearRegression"),
        ({"algorithm": "XGBoost"}, 422, "XGBoost"),
        ({"algorithm": "LightGBM", "params": {"no_such": 1}}, 422, "no_such"),
        ({"problem_type": "Forecasting"}, 422, "attribute_name Time"),
        ({"problem_type": "Clustering"}, 422, "problem_type"),
        ({"predictor_name": world.run["predictor_name"]}, 409, "already exists"),
        ({"is_incremental": True, "predictor_name": unique("none-")}, 422, "no predictor"),
        ({"dataset_id": "x"}, 422, "dataset_id"),
        ({"surprise": 1}, 422, "surprise"),
    ]
    for overrides, status, words in cases:
        resp = train(api, headers, world.dataset_id, **overrides)
        assert resp.status_code == status, (overrides, resp.text)
        assert words in resp.json()["detail"], (overrides, resp.json())
    assert api.client.get("/api/v1/train/list", headers=headers).json()["total"] == before

    viewer = api.new_user(world.tenant, ["viewer"])[1]
    assert train(api, viewer, world.dataset_id).status_code == 403
    details = api.client.post(
        "/api/v1/train/get_details",
        json={
            "dataset_id": world.dataset_id,
            "predictor_name": "p",
            "domain": "d",
            "problem_type": "Regression",
        },
        headers=viewer,
    )
    assert details.status_code == 200
    assert details.json()["attributes"] == ["Id", "Target", "Feature", "Time", "Ignore"]
    assert "LinearRegression" in details.json()["algorithms"]
    assert "LogisticRegression" not in details.json()["algorithms"]


def test_regression_auto_search_and_preprocess_update(world: World):
    api, headers = world.api, world.scientist
    # The search itself is Ray behaviour: run it on the SQLite pass, a fixed algorithm on PostgreSQL.
    search = api.settings.is_sqlite
    resp = train(
        api,
        headers,
        world.dataset_id,
        problem_type="Regression",
        columns=REGRESSION_COLUMNS,
        algorithm="auto" if search else "RandomForest",
        time_budget_s=30,
    )
    assert resp.status_code == 201, resp.text
    run = wait_for(api, headers, resp.json()["id"])
    assert run["train_status"] == "completed", run["error"]
    assert run["algorithm"] == ("auto" if search else "RandomForest") and run["model_algorithm"] != "auto"
    trials = run["trials"]
    assert len(trials) >= (2 if search else 1)
    assert {"algorithm", "params", "score", "seconds", "status"} <= trials[0].keys()
    summary = api.client.get(
        "/api/v1/train/model-summary", params={"train_id": run["id"]}, headers=headers
    ).json()
    assert {"rmse", "mae", "r2", "mape"} <= summary["model_summary"].keys()
    assert summary["model_summary"]["r2"] > 0.5

    same = {"train_id": run["id"], "preprocess_id": run["preprocess_id"]}
    assert api.client.post("/api/v1/train/update/", json=same, headers=headers).status_code == 200
    other = {"train_id": run["id"], "preprocess_id": world.run["preprocess_id"]}
    resp = api.client.post("/api/v1/train/update/", json=other, headers=headers)
    assert resp.status_code == 422 and "features" in resp.json()["detail"]

    # deleting removes the run, its artifacts and (its last version) the predictor
    prefix = Path(lake.open_lake(api.settings).store.root) / world.tenant / "models" / str(run["id"])
    assert prefix.exists()
    assert api.client.delete(f"/api/v1/train/delete/{run['id']}", headers=world.outsider).status_code == 404
    resp = api.client.delete(f"/api/v1/train/delete/{run['id']}", headers=headers)
    assert resp.status_code == 200 and resp.json()["message"] == "Training job deleted successfully"
    assert api.client.get(f"/api/v1/train/get/{run['id']}", headers=headers).status_code == 404
    assert not prefix.exists()


def test_incremental_training_continues_the_latest_version(world: World):
    api, headers, parent = world.api, world.scientist, world.run
    once_per_session(api)
    resp = api.client.post(
        "/api/v1/files/add",
        params={"dataset_id": world.dataset_id},
        files=[("files", ("more.csv", training_csv(200, seed=9, start=1000), "text/csv"))],
        headers=headers,
    )
    assert resp.status_code in (200, 201), resp.text
    resp = train(api, headers, world.dataset_id, predictor_name=parent["predictor_name"], is_incremental=True)
    assert resp.status_code == 201, resp.text
    run = wait_for(api, headers, resp.json()["id"])
    assert run["train_status"] == "completed", run["error"]
    assert run["version"] == 2 and run["parent_id"] == parent["id"] and run["is_incremental"]
    assert run["rows"]["train"] + run["rows"]["validation"] + run["rows"]["test"] == 200

    store = lake.open_lake(api.settings).store
    before = artifacts.load(store, f"{world.tenant}/models/{parent['id']}").model.native.num_trees()
    after = artifacts.load(store, f"{world.tenant}/models/{run['id']}").model.native.num_trees()
    assert after > before

    again = train(
        api, headers, world.dataset_id, predictor_name=parent["predictor_name"], is_incremental=True
    )
    assert again.status_code == 422 and "no new data" in again.json()["detail"]


def test_callbacks_accept_only_the_runs_token(world: World):
    api, run = world.api, world.run
    body = {"train_id": run["id"], "result": {"metrics": {"accuracy": 1.0}, "path": "x"}}
    assert api.client.post("/api/v1/train/result", json=body).status_code == 401
    forged = api.client.post("/api/v1/train/result", json=body, headers={callbacks.HEADER: "forged"})
    assert forged.status_code == 401 and forged.json()["error"] == "Unauthorized"
    user_jwt = api.client.post("/api/v1/train/result", json=body, headers=world.scientist)
    assert user_jwt.status_code == 401
    other_run = callbacks.internal_token(api.settings, "train", run["id"] + 1)
    assert (
        api.client.post("/api/v1/train/result", json=body, headers={callbacks.HEADER: other_run}).status_code
        == 401
    )
    own = callbacks.internal_token(api.settings, "train", run["id"])
    late = api.client.post("/api/v1/train/result", json=body, headers={callbacks.HEADER: own})
    assert late.status_code == 409  # the run already ended: a late or replayed result changes nothing
    shap = {"training_id": run["id"], "result": {"Tenure": 1.0}}
    assert (
        api.client.post("/api/v1/train/shap-result", json=shap, headers={callbacks.HEADER: "x"}).status_code
        == 401
    )


def test_tenants_are_walls(world: World):
    api, run, outsider = world.api, world.run, world.outsider
    rid = run["id"]
    for method, path, kwargs in [
        ("get", f"/api/v1/train/get/{rid}", {}),
        ("get", "/api/v1/train/model-summary", {"params": {"train_id": rid}}),
        ("get", f"/api/v1/train/download-schema/{rid}", {}),
        ("get", "/api/v1/train/logs", {"params": {"train_id": rid}}),
        ("get", "/api/v1/train/view-feature-importance", {"params": {"train_id": rid}}),
        ("get", "/api/v1/train/generate-feature-importance", {"params": {"train_id": rid}}),
        ("delete", f"/api/v1/train/delete-feature-importance/{rid}", {}),
        ("post", "/api/v1/train/update/", {"json": {"train_id": rid, "preprocess_id": run["preprocess_id"]}}),
        (
            "post",
            "/api/v1/ray/terminate_ray_job",
            {"params": {"ray_job_id": run["ray_job_id"], "usage": "training"}},
        ),
    ]:
        resp = getattr(api.client, method)(path, headers=outsider, **kwargs)
        assert resp.status_code == 404, (path, resp.text)
    listed = api.client.get("/api/v1/train/list", headers=outsider).json()
    assert rid not in {r["id"] for r in listed["data"]}


def _ray_job(api, job_id: str):
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(
        api.settings.ray_dashboard_url, headers={"Authorization": f"Bearer {api.settings.ray_token()}"}
    )
    return client.get_job_info(job_id)


def _driver_pid(api, job_id: str) -> int | None:
    info = _ray_job(api, job_id)
    return info.driver_info.pid if info.driver_info else None


def test_killed_training_process_ends_failed_with_a_reason(world: World):
    api, headers = world.api, world.scientist
    once_per_session(api)
    resp = train(api, headers, world.dataset_id, algorithm="auto", time_budget_s=300)
    assert resp.status_code == 201, resp.text
    run = wait_for(api, headers, resp.json()["id"], until=lambda r: r["train_status"] == "running")
    deadline = time.monotonic() + 60
    while (pid := _driver_pid(api, run["ray_job_id"])) is None:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    os.kill(int(pid), signal.SIGKILL)
    killed_at = time.monotonic()
    while True:
        listed = api.client.get("/api/v1/train/refresh", headers=headers).json()["data"]
        current = next(r for r in listed if r["id"] == run["id"])
        if current["train_status"] in FINAL:
            break
        assert time.monotonic() - killed_at < 60, current
        time.sleep(1)
    assert current["train_status"] == "failed" and current["error"], current


def test_terminate_cancels_the_run_and_refuses_late_results(world: World):
    api, headers = world.api, world.scientist
    resp = train(api, headers, world.dataset_id, algorithm="auto", time_budget_s=300)
    assert resp.status_code == 201, resp.text
    run = resp.json()
    params = {"ray_job_id": run["ray_job_id"], "usage": "training"}
    assert (
        api.client.post("/api/v1/ray/terminate_ray_job", params=params, headers=world.outsider).status_code
        == 404
    )
    bad = api.client.post(
        "/api/v1/ray/terminate_ray_job", params={**params, "usage": "nope"}, headers=headers
    )
    assert bad.status_code == 422
    resp = api.client.post("/api/v1/ray/terminate_ray_job", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    assert run["ray_job_id"] in resp.json()["message"]
    current = api.client.get(f"/api/v1/train/get/{run['id']}", headers=headers).json()
    assert current["train_status"] == "cancelled" and current["training_status"] == "Cancelled"
    token = callbacks.internal_token(api.settings, "train", run["id"])
    late = api.client.post(
        "/api/v1/train/result",
        json={"train_id": run["id"], "result": {"error": "late"}},
        headers={callbacks.HEADER: token},
    )
    assert late.status_code == 409
    again = api.client.post("/api/v1/ray/terminate_ray_job", params=params, headers=headers)
    assert again.status_code == 409
    # The job itself ends at once (stopped, or refusing its cancelled row), not after its 300 s search.
    deadline = time.monotonic() + 90
    while str((info := _ray_job(api, run["ray_job_id"])).status) not in ("STOPPED", "FAILED", "SUCCEEDED"):
        assert time.monotonic() < deadline, info
        time.sleep(1)


def test_dataset_deleted_before_training_reads_it(world: World):
    api, headers = world.api, world.scientist
    once_per_session(api)
    dataset_id = upload(api, headers, training_csv(100, seed=5))
    resp = train(api, headers, dataset_id)
    assert resp.status_code == 201, resp.text
    assert api.client.delete(f"/api/v1/dataset/delete/{dataset_id}", headers=headers).status_code == 200
    run = wait_for(api, headers, resp.json()["id"])
    assert run["train_status"] == "failed" and "deleted" in run["error"], run
    assert run["dataset_id"] is None and run["dataset_name"]
