"""Train a new run from a notebook, as a Ray job the notebook submits:

    ray job submit --address http://127.0.0.1:8265 --runtime-env-json \\
      '{"env_vars": {"RAYLAKE_URL": "http://127.0.0.1:8000", "RAYLAKE_API_KEY": "rlk_…"}}' \\
      -- python -m raylake.train_jobs.submit --dataset-id 9 --target species --predictor-name penguins

The job creates the run through the API with the key (``POST /api/v1/train/`` naming this job as the
one that trains it), so the key's tenant and permissions decide what it may train; the notebook holds
no database or warehouse credentials. The API hands the run over through the cluster
(``platform/training/handoff.py``), and the job trains it here like any platform job: progress, result
and failure reach the run, which lists this Ray job as its ``ray_job_id``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from typing import Any

import httpx

from raylake.core.layout import HANDOFF_NAMESPACE, handoff_key
from raylake.train_jobs import runtime

log = logging.getLogger("raylake.submit")
TAKE_TIMEOUT_S = 60.0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="raylake.train_jobs.submit")
    parser.add_argument("--dataset-id", type=int, required=True)
    parser.add_argument("--target", required=True, help="the column to predict")
    parser.add_argument("--predictor-name", required=True, help="the model: a new name, or a new version")
    parser.add_argument("--problem-type", default="Classification", help="Classification or Regression")
    parser.add_argument("--domain", default="notebook")
    parser.add_argument("--algorithm", default=None, help="e.g. LightGBM; auto searches")
    parser.add_argument("--time-budget-s", type=int, default=60)
    return parser.parse_args(argv)


def request_run(url: str, key: str, args: argparse.Namespace, submission_id: str) -> int:
    """Create the run through the API, naming this job as the one that trains it; its id."""
    body = {
        "dataset_id": args.dataset_id,
        "predictor_name": args.predictor_name,
        "domain": args.domain,
        "problem_type": args.problem_type,
        "columns": [{"column_name": args.target, "attribute_name": "Target"}],
        "time_budget_s": args.time_budget_s,
        "ray_job_id": submission_id,
        **({"algorithm": args.algorithm} if args.algorithm else {}),
    }
    resp = httpx.post(
        f"{url.rstrip('/')}/api/v1/train/", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=120
    )
    if resp.status_code >= 400:
        raise SystemExit(f"the API refused the run: {resp.status_code} {resp.text[:1000]}")
    train_id: int = resp.json()["id"]
    return train_id


def take(submission_id: str, timeout_s: float = TAKE_TIMEOUT_S) -> dict[str, Any]:
    """The run the API handed this job through the cluster, read once and removed."""
    import ray
    from ray.experimental import internal_kv

    ray.init(log_to_driver=False)
    key = handoff_key(submission_id)
    deadline = time.monotonic() + timeout_s
    while (found := internal_kv._internal_kv_get(key, namespace=HANDOFF_NAMESPACE)) is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"no run was handed to Ray job {submission_id} within {timeout_s:.0f} s")
        time.sleep(0.2)
    internal_kv._internal_kv_del(key, namespace=HANDOFF_NAMESPACE)
    handed: dict[str, Any] = json.loads(found)
    return handed


def main(argv: list[str] | None = None) -> None:
    """The Ray job's entrypoint: request a run through the API with the key, then train it here."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _arguments(argv)
    url, key = os.environ.get("RAYLAKE_URL"), os.environ.get("RAYLAKE_API_KEY")
    if not url or not key:
        raise SystemExit("set RAYLAKE_URL and RAYLAKE_API_KEY in the job's runtime_env env_vars")
    submission_id = runtime.submission_id()
    if submission_id is None:
        raise SystemExit("run this as a Ray job: ray job submit … -- python -m raylake.train_jobs.submit …")
    os.environ.pop("RAYLAKE_API_KEY")  # the training below needs none; nothing it starts inherits it
    train_id = request_run(url, key, args, submission_id)
    log.info("training run %s handed to Ray job %s", train_id, submission_id)

    handed = take(submission_id)
    if handed["train_id"] != train_id:
        raise SystemExit(f"the cluster handed run {handed['train_id']}, not {train_id}")
    os.environ.update(handed["env"])

    from raylake.platform.config import Settings, resolve_settings
    from raylake.train_jobs import train

    train.run(resolve_settings(Settings()), train_id)


if __name__ == "__main__":
    main()
