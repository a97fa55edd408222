"""Training submitted to the cluster as a Ray job (what ``ray job submit`` does from a notebook), over the
Ray Jobs REST API with httpx, so the client needs no Ray: the job (``raylake.train_jobs.submit``) creates
its run through the API with an API key and trains it itself; the run lists that job as its
``ray_job_id``."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from raylake_client.errors import RunFailed
from raylake_client.models import RunInfo
from raylake_client.training import Run

if TYPE_CHECKING:
    from raylake_client.client import Client

ENTRYPOINT = "python -m raylake.train_jobs.submit"
DEFAULT_ADDRESS = "http://127.0.0.1:8265"
# Ray's own variables for a cluster that requires its auth token (RAY_AUTH_MODE=token).
TOKEN_ENV, TOKEN_PATH_ENV = "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"
ENDED = ("FAILED", "STOPPED")


def ray_token(given: str | None) -> str | None:
    """The cluster's auth token: as given, else ``RAY_AUTH_TOKEN``, else the file ``RAY_AUTH_TOKEN_PATH``."""
    if given:
        return given
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    path = os.environ.get(TOKEN_PATH_ENV)
    return Path(path).read_text().strip() if path else None


def entrypoint(dataset_id: int, target: str, predictor_name: str, options: dict[str, Any]) -> str:
    """The submitted job's command line."""
    args = ["--dataset-id", str(dataset_id), "--target", target, "--predictor-name", predictor_name]
    for name in ("problem_type", "domain", "algorithm", "time_budget_s"):
        if options.get(name) is not None:
            args += ["--" + name.replace("_", "-"), str(options[name])]
    unknown = sorted(set(options) - {"problem_type", "domain", "algorithm", "time_budget_s"})
    if unknown:
        raise ValueError(f"a Ray-submitted run takes no {', '.join(unknown)} (use via='api')")
    return " ".join([ENTRYPOINT, *map(shlex.quote, args)])


def submit(
    client: Client,
    dataset_id: int,
    *,
    target: str,
    predictor_name: str,
    address: str | None = None,
    token: str | None = None,
    timeout: float = 300,
    poll_s: float = 1.0,
    **options: Any,
) -> Run:
    """Submit the training job to the cluster at ``address`` and return its run once the job has made it;
    ``RunFailed`` with Ray's message if the job ends first."""
    key = client.http.api_key
    if not key:
        raise ValueError("a Ray-submitted run authenticates with an API key: make the client with api_key=")
    headers = {"Authorization": f"Bearer {found}"} if (found := ray_token(token)) else {}
    with httpx.Client(base_url=(address or DEFAULT_ADDRESS).rstrip("/"), headers=headers, timeout=60) as ray:
        body = {
            "entrypoint": entrypoint(dataset_id, target, predictor_name, options),
            "runtime_env": {"env_vars": {"RAYLAKE_URL": client.url, "RAYLAKE_API_KEY": key}},
            "metadata": {"raylake_predictor": predictor_name},
        }
        resp = ray.post("/api/jobs/", json=body)
        if resp.status_code >= 400:
            raise RunFailed(f"Ray refused the job: {resp.status_code} {resp.text[:500]}", status="refused")
        job_id = str(resp.json()["submission_id"])
        deadline = time.monotonic() + timeout
        while True:
            for info in client.training.page(limit=50).items:  # newest first
                if info.ray_job_id == job_id:
                    return Run(client, RunInfo.model_validate(info))
            job = ray.get(f"/api/jobs/{job_id}").json()
            if job.get("status") in ENDED:
                raise RunFailed(
                    f"Ray job {job_id} {job['status']}: {job.get('message')}", status="failed", job=job
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"Ray job {job_id} made no run within {timeout} s ({job.get('status')})")
            time.sleep(poll_s)
