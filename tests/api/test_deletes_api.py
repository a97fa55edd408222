"""Deletes over HTTP through Serve: a deleted run is served by no replica, and a deleted prediction, run,
dataset or tenant leaves nothing of its own behind (rows, lake tables, files, cached models)."""

from __future__ import annotations

import asyncio
import threading

from ray import serve

from raylake.platform import lake
from raylake.platform.db import session_scope
from raylake.platform.tenants import service as tenants
from raylake.serve_apps.app_builder import APP_NAME
from raylake.serve_apps.models import POOL_DEPLOYMENT
from tests.api.test_inference_api import COLUMNS, ROW, Model, model, predict, wait_for_batch  # noqa: F401
from tests.api.test_training_api import upload, wait_for
from tests.datafiles import training_csv
from tests.factories import unique
from tests.inventory import inventory, still_there

# Serve's handles (throughput-optimized) route on the event loop they were first used on, and learn of
# replaced replicas only while it runs: one loop, running for the whole session in a thread of its own.
LOOP = asyncio.new_event_loop()
threading.Thread(target=LOOP.run_forever, daemon=True, name="serve-handles").start()


def held(prefix: str) -> list[str]:
    """The model ids under ``prefix`` that any replica of the shared pool can answer for."""

    async def holding() -> list[list[str]]:
        pool = serve.get_deployment_handle(POOL_DEPLOYMENT, APP_NAME)
        return await pool.broadcast("holding").results_async(timeout_s=60)

    every = asyncio.run_coroutine_threadsafe(holding(), LOOP).result(timeout=90)
    return [key for keys in every for key in keys if key.startswith(prefix)]


def _train(model: Model) -> dict:  # noqa: F811
    body = {
        "dataset_id": model.dataset_id,
        "predictor_name": unique("churn-"),
        "domain": "Churn",
        "problem_type": "Classification",
        "columns": COLUMNS,
    }
    resp = model.api.client.post("/api/v1/train/", json=body, headers=model.headers)
    assert resp.status_code == 201, resp.text
    run = wait_for(model.api, model.headers, resp.json()["id"])
    assert run["train_status"] == "completed", run["error"]
    return run


def test_a_deleted_run_is_served_by_no_replica_and_leaves_nothing(model: Model):  # noqa: F811
    api, headers = model.api, model.headers
    ctx = lake.open_lake(api.settings)
    before_run = inventory(api.engine, ctx, model.tenant)
    run = _train(model)
    body = {"train_id": run["id"], "features": ROW}
    assert predict(api, headers, body).status_code == 200
    mine = f"{model.tenant}/{run['id']}/"
    keys = held(mine)
    assert len(keys) == 1 and len(keys[0].split("/")) == 4  # tenant/run/preprocessing/the run's uid

    # a batch in the model replica: a gold table, a CSV and its file row, all removed with the prediction
    dataset = upload(api, headers, training_csv(60, seed=3), usage="p")
    resp = api.client.post(
        "/api/v1/inference/batchPrediction",
        json={"train_id": run["id"], "dataset_id": dataset},
        headers=headers,
    )
    assert resp.status_code == 202, resp.text
    batch = wait_for_batch(api, headers, resp.json()["prediction_id"], timeout=120)
    assert batch["status"] == "completed", batch["error"]
    with_batch = inventory(api.engine, ctx, model.tenant)
    assert f"gold.prediction_{batch['prediction_id']}" in with_batch.tables
    path = f"/api/v1/inference/predictions/{batch['prediction_id']}"
    assert api.client.delete(path, headers=model.outsider).status_code == 404
    assert api.client.delete(path, headers=headers).status_code == 200
    after = inventory(api.engine, ctx, model.tenant)
    assert f"gold.prediction_{batch['prediction_id']}" not in after.tables
    assert not [k for k in after.stored if k.startswith(f"predictions/{batch['prediction_id']}/")]
    assert (
        api.client.get(
            "/api/v1/files/download/", params={"file_id": batch["file_id"]}, headers=headers
        ).status_code
        == 404
    )
    assert sorted(still_there(ctx, with_batch)) == sorted(after.tables)

    assert api.client.delete(f"/api/v1/train/delete/{run['id']}", headers=headers).status_code == 200
    assert predict(api, headers, body).status_code == 404
    assert held(mine) == []  # every replica let go of it, not only the one that served it
    after = inventory(api.engine, ctx, model.tenant)
    assert not [k for k in after.stored if k.startswith(f"models/{run['id']}/")]
    assert api.client.delete(f"/api/v1/dataset/delete/{dataset}", headers=headers).status_code == 200
    # the model outlives its last version, as a draft, until the registry deletes it
    found = api.client.get("/api/v1/models", params={"search": run["predictor_name"]}, headers=headers)
    (registered,) = found.json()["items"]
    assert registered["status"] == "draft" and registered["versions"] == []
    assert api.client.delete(f"/api/v1/models/{registered['id']}", headers=headers).status_code == 204
    after = inventory(api.engine, ctx, model.tenant)
    # what is left is what the tenant had before this test (and the logs of its predictions and events)
    assert after.tables == before_run.tables and after.stored == before_run.stored
    logs = ("predictions", "events")
    assert {t: n for t, n in after.rows.items() if t not in logs} == {
        t: n for t, n in before_run.rows.items() if t not in logs
    }


def test_deleting_a_tenant_removes_everything_it_holds(model: Model):  # noqa: F811
    """The last test of the module: the fixture's tenant goes, with its users, template, dataset, run,
    predictions, lake tables, files and cached models; another tenant keeps all of its own."""
    api, headers, run = model.api, model.headers, model.run
    ctx = lake.open_lake(api.settings)
    assert predict(api, headers, {"train_id": run["id"], "features": ROW}).status_code == 200
    assert held(f"{model.tenant}/")
    other = api.new_tenant()
    _, other_headers = api.new_user(other, ["data_scientist"])
    upload(api, other_headers, training_csv(20, seed=5))
    before, others = inventory(api.engine, ctx, model.tenant), inventory(api.engine, ctx, other)
    assert {"users", "templates", "datasets", "training_runs", "predictions"} <= set(before.rows)
    assert before.tables and before.stored and others.tables and others.stored

    url = f"/api/v1/tenants/{model.tenant}"
    assert api.client.delete(url, headers=headers).status_code == 403
    with session_scope(api.engine) as session:
        default_id = tenants.get_by_name(session=session, name=api.settings.default_tenant).id  # type: ignore[union-attr]
    default = api.client.delete(f"/api/v1/tenants/{default_id}", headers=api.su)
    assert default.status_code == 409, default.text
    deleted = api.client.delete(url, headers=api.su)
    assert deleted.status_code == 200 and deleted.json()["status_code"] == 200, deleted.text
    assert api.client.delete(url, headers=api.su).status_code == 404

    assert inventory(api.engine, ctx, model.tenant).is_empty()
    assert still_there(ctx, before) == []
    assert held(f"{model.tenant}/") == []
    assert api.client.get("/api/v1/train/list", headers=headers).status_code == 401  # its users are gone
    assert inventory(api.engine, ctx, other) == others
    assert api.client.get("/api/v1/dataset/list", headers=other_headers).status_code == 200
