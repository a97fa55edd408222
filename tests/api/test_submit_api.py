"""A notebook's `ray job submit` of raylake.train_jobs.submit, over the real Jobs API: the job creates its
run through the API with an API key, trains it itself, and the run lists that Ray job as its ray_job_id
with its logs; a run cannot name a Ray job that does not exist or is not the submit entrypoint."""

from __future__ import annotations

import time

from ray.job_submission import JobStatus, JobSubmissionClient

from tests.api.conftest import once_per_session
from tests.api.test_training_api import upload
from tests.datafiles import training_csv
from tests.factories import unique


def test_a_submitted_job_trains_its_own_run(api):
    once_per_session(api)
    _, headers = api.new_user(api.new_tenant(), ["data_scientist"])
    dataset_id = upload(api, headers, training_csv(250, seed=11))
    made = api.client.post(
        "/api/v1/api-keys", json={"name": "notebook", "role": "data_scientist"}, headers=headers
    )
    assert made.status_code == 201, made.text
    name = unique("nb-")
    ray = JobSubmissionClient(
        api.settings.ray_dashboard_url, headers={"Authorization": f"Bearer {api.settings.ray_token()}"}
    )
    job_id = ray.submit_job(
        entrypoint=(
            "python -m raylake.train_jobs.submit "
            f"--dataset-id {dataset_id} --target Churn --predictor-name {name} --algorithm LightGBM"
        ),
        runtime_env={
            "env_vars": {"RAYLAKE_URL": str(api.client.base_url), "RAYLAKE_API_KEY": made.json()["key"]}
        },
    )
    deadline = time.monotonic() + 600
    while (status := ray.get_job_status(job_id)) not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        assert time.monotonic() < deadline, status
        time.sleep(1)
    assert status == JobStatus.SUCCEEDED, ray.get_job_logs(job_id)[-3000:]

    runs = api.client.get("/api/v1/train/list", headers=headers).json()["data"]
    [run] = [r for r in runs if r["predictor_name"] == name]
    detail = api.client.get(f"/api/v1/train/get/{run['id']}", headers=headers).json()
    assert detail["ray_job_id"] == job_id and detail["ml_model_status"] == "completed", detail
    logs = api.client.get("/api/v1/train/logs", params={"train_id": run["id"]}, headers=headers).json()
    assert f"training run {run['id']} handed to Ray job {job_id}" in logs["logs"]

    body = {
        "dataset_id": dataset_id,
        "predictor_name": unique("nb-"),
        "domain": "Churn",
        "problem_type": "Classification",
        "columns": [{"column_name": "Churn", "attribute_name": "Target"}],
    }
    for bad in ("raysubmit_nosuchjob", job_id):  # unknown; ended (and not free)
        refused = api.client.post("/api/v1/train/", json={**body, "ray_job_id": bad}, headers=headers)
        assert refused.status_code in (409, 422) and bad in refused.json()["detail"], refused.text
