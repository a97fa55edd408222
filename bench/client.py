"""The REST calls every bench script makes: log in, upload a file as a dataset, train and wait.

One copy, so the scripts measure raylake the same way (the same polling interval, the same stage
timings) and differ only in what they compare it with.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import httpx

from raylake.platform.config import Settings

FINAL = {"completed", "failed", "cancelled"}
POLL_S = 0.5


def login(base: str, settings: Settings) -> dict[str, str]:
    """The superuser's bearer header (password from the environment or `make run`'s file)."""
    password = (
        os.environ.get("RAYLAKE_FIRST_SUPERUSER_PASSWORD") or settings.superuser_password_path.read_text()
    )
    resp = httpx.post(
        f"{base}/api/v1/login/access-token",
        data={"username": settings.first_superuser, "password": password.strip()},
    )
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def upload(
    base: str, headers: dict[str, str], path: Path, *, usage: str = "t", prefix: str = "bench"
) -> dict:
    """Upload one CSV or Parquet file as a new dataset; the upload's response (``dataset_id``, ...)."""
    kind = "text/csv" if path.suffix == ".csv" else "application/octet-stream"
    with path.open("rb") as fh:
        resp = httpx.post(
            f"{base}/api/v1/dataset/upload",
            params={"dataset_name": f"{prefix}-{uuid.uuid4().hex[:6]}", "usage": usage},
            files=[("files", (path.name, fh, kind))],
            headers=headers,
            timeout=3600,
        )
    resp.raise_for_status()
    return resp.json()


def train_and_wait(base: str, headers: dict[str, str], body: dict) -> tuple[dict, float, dict[str, float]]:
    """Submit a training request and poll it to completion: the run, submit-to-completed seconds, and
    when each stage was first seen (seconds from submit)."""
    start = time.perf_counter()
    resp = httpx.post(f"{base}/api/v1/train/", json=body, headers=headers, timeout=600)
    if resp.status_code != 201:
        raise SystemExit(f"training refused: {resp.text}")
    train_id = resp.json()["id"]
    stages: dict[str, float] = {}
    while True:
        run = httpx.get(f"{base}/api/v1/train/get/{train_id}", headers=headers, timeout=60).json()
        stages.setdefault(run["stage"], round(time.perf_counter() - start, 1))
        if run["train_status"] in FINAL:
            break
        time.sleep(POLL_S)
    if run["train_status"] != "completed":
        raise SystemExit(f"training failed: {run['error']}")
    return run, time.perf_counter() - start, stages
