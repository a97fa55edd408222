"""Model registry benchmarks, side by side in one run (figures go to bench/RESULTS.md):

1. Listing: ``GET /api/v1/models`` (a filter, a search, an ordering, a page of 50) through Serve with
   100, 1,000 and 10,000 models in a tenant, p50/p99 at 1 client, vs the same query run in-process
   on the metadata store (what the HTTP path, auth and serialisation add).
2. Infer by alias vs ``POST /api/v1/inference/`` on the same model version: p50/p99 at 1 and 8 clients.
3. Event latency: a WebSocket on ``/api/v1/events/ws`` while versions train; from the ``run.completed``
   event's commit (its ``created_at``) to the message arriving, p50 and max.

Needs a running platform (`make run`); reads the same RAYLAKE_* settings. Usage:
`.venv/bin/python bench/registry.py [--sizes 100 1000 10000] [--events 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import websockets
from sqlmodel import delete

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.client import login, upload
from bench.loadgen import measure
from raylake.platform import models as _all_tables  # noqa: F401  (every table registered: foreign keys resolve)
from raylake.platform.config import resolve_settings
from raylake.platform.db import make_engine, session_scope
from raylake.platform.registry import projects, service
from raylake.platform.registry.models import ModelTag, Predictor
from raylake.platform.tenancy import Principal
from tests.datafiles import training_csv

QUERY = {
    "filter": "task:binary_classification",
    "search": "churn",
    "ordering": "-created_at,name",
    "limit": 50,
}
ROW = {"Tenure": 5, "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"}
COLUMNS = [
    {"column_name": "CustomerID", "attribute_name": "Id"},
    {"column_name": "Spend", "attribute_name": "Ignore"},
    {"column_name": "Score", "attribute_name": "Ignore"},
]


def new_tenant(base: str, su: dict[str, str]) -> tuple[str, dict[str, str], str]:
    """A tenant of its own with an admin: its id, the admin's bearer header, the admin's username."""
    tenant = httpx.post(f"{base}/api/v1/tenants/", json={"name": f"bench-{uuid.uuid4().hex[:6]}"}, headers=su)
    tenant.raise_for_status()
    name, password = f"bench{uuid.uuid4().hex[:6]}", f"bench-{uuid.uuid4().hex}"
    body = {"tenant_id": tenant.json()["id"], "username": name, "email": f"{name}@example.com"}
    made = httpx.post(
        f"{base}/api/v1/users/create-user",
        json={**body, "password": password, "roles": ["admin"]},
        headers=su,
    )
    made.raise_for_status()
    token = httpx.post(f"{base}/api/v1/login/access-token", data={"username": name, "password": password})
    token.raise_for_status()
    return tenant.json()["id"], {"Authorization": f"Bearer {token.json()['access_token']}"}, name


def add_models(engine, tenant_id: str, count: int, start: int) -> None:
    """``count`` draft models written straight into the store (what 10,000 POSTs would leave)."""
    with session_scope(engine) as session:
        project = projects.default_project(session, tenant_id)
        for i in range(start, start + count):
            task = "binary_classification" if i % 3 else "regression"
            model = Predictor(
                tenant_id=tenant_id,
                project_id=project.id,  # type: ignore[arg-type]
                predictor_name=f"{'churn' if i % 2 else 'spend'}-model-{i:05d}",
                description=f"model {i} of the registry benchmark",
                domain="bench",
                problem_type="Regression" if task == "regression" else "Classification",
                task=task,
                owner="bench",
                created_by="bench",
                updated_by="bench",
            )
            session.add(model)
            session.flush()
            session.add(ModelTag(tenant_id=tenant_id, model_id=model.id, tag=f"team-{i % 10}"))  # type: ignore[arg-type]


def in_process_ms(engine, principal: Principal, repeats: int = 200) -> float:
    """The list's query and its page's tags/versions, in-process on the store: p50 in ms."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with session_scope(engine) as session:
            rows, _ = service.list_models(
                session=session,
                principal=principal,
                filters=[QUERY["filter"]],
                search=QUERY["search"],
                ordering=QUERY["ordering"],
                limit=50,
            )
            service.public_many(session, rows)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def listing(base: str, su: dict[str, str], engine, sizes: list[int]) -> list[str]:
    tenant_id, headers, username = new_tenant(base, su)
    principal = Principal(
        user_id=0, username=username, tenant_id=tenant_id, permissions=frozenset({"train:read"})
    )
    url = f"{base}/api/v1/models?" + "&".join(f"{k}={v}" for k, v in QUERY.items())
    rows, have = [], 0
    for size in sizes:
        add_models(engine, tenant_id, size - have, have)
        have = size
        check = httpx.get(url, headers=headers, timeout=60)
        assert check.status_code == 200, check.text
        result = measure(f"GET /models ({size:,} models)", url, headers=headers, concurrency=1, total=500)
        direct = in_process_ms(engine, principal)
        row = f"| {size:,} | {result.p50_ms:.2f} | {result.p99_ms:.2f} | {direct:.2f} | {result.errors} |"
        rows.append(row)
        print(row, flush=True)
    with session_scope(engine) as session:
        session.exec(delete(Predictor).where(Predictor.tenant_id == tenant_id))  # type: ignore[call-overload]
    return rows


def train_model(base: str, headers: dict[str, str], work: Path) -> dict:
    """A churn model registered, trained through ``POST /models/{id}/train``, aliased ``production``."""
    path = work / "churn.csv"
    path.write_bytes(training_csv(2000))
    dataset = upload(base, headers, path, prefix="bench-registry")
    body = {
        "name": f"churn-{uuid.uuid4().hex[:6]}",
        "task": "binary_classification",
        "model_type": "lightgbm",
        "dataset_id": dataset["dataset_id"],
        "target": "Churn",
        "training_config": {"columns": COLUMNS},
    }
    model = httpx.post(f"{base}/api/v1/models", json=body, headers=headers, timeout=60).json()
    httpx.post(
        f"{base}/api/v1/models/{model['id']}/train", json={}, headers=headers, timeout=60
    ).raise_for_status()
    while (model := httpx.get(f"{base}/api/v1/models/{model['id']}", headers=headers).json())[
        "status"
    ] == "training":
        time.sleep(0.5)
    assert model["status"] == "trained", model
    alias = httpx.put(
        f"{base}/api/v1/models/{model['id']}/aliases/production", json={"version": "v1"}, headers=headers
    )
    alias.raise_for_status()
    return model


def infer(base: str, headers: dict[str, str], model: dict) -> list[str]:
    train_id = model["versions"][0]["train_id"]
    by_alias = f"{base}/api/v1/models/{model['id']}/versions/production/infer"
    direct = f"{base}/api/v1/inference/"
    rows = []
    for clients in (1, 8):
        for name, url, body in (
            ("POST /inference/", direct, {"train_id": train_id, "features": ROW}),
            ("POST /models/{id}/versions/production/infer", by_alias, ROW),
        ):
            result = measure(
                name, url, headers=headers, concurrency=clients, total=2000, body=json.dumps(body).encode()
            )
            rows.append(result.row())
            print(result.row(), flush=True)
    return rows


async def _event_latencies(base: str, headers: dict[str, str], model: dict, count: int) -> list[float]:
    ws_url = base.replace("http", "ws", 1) + "/api/v1/events/ws"
    token = headers["Authorization"].split(" ", 1)[1]
    latencies: list[float] = []
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"token": token}))
        async with httpx.AsyncClient(timeout=60) as client:
            for _ in range(count):
                started = await client.post(
                    f"{base}/api/v1/models/{model['id']}/train", json={}, headers=headers
                )
                started.raise_for_status()
                while True:
                    event = json.loads(await asyncio.wait_for(ws.recv(), 300))
                    if event["type"] == "run.completed":
                        arrived = datetime.now(UTC)
                        committed = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))
                        latencies.append((arrived - committed).total_seconds() * 1000)
                        break
                while (await client.get(f"{base}/api/v1/models/{model['id']}", headers=headers)).json()[
                    "status"
                ] == "training":
                    await asyncio.sleep(0.2)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--events", type=int, default=5)
    args = parser.parse_args()
    settings = resolve_settings()
    base = f"http://{settings.host}:{settings.port}"
    memory = psutil.virtual_memory().total / 2**30
    print(
        f"machine: {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}", flush=True
    )
    su = login(base, settings)
    engine = make_engine(settings.sqlalchemy_url)
    print("| models | GET /models p50 ms | p99 ms | same query in-process p50 ms | errors |")
    listing(base, su, engine, args.sizes)
    _, headers, _ = new_tenant(base, su)
    with tempfile.TemporaryDirectory() as work:
        model = train_model(base, headers, Path(work))
    print("| route | clients | p50 ms | p99 ms | req/s | errors |")
    infer(base, headers, model)
    latencies = asyncio.run(_event_latencies(base, headers, model, args.events))
    print(
        f"run.completed -> WebSocket: p50 {statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms "
        f"over {len(latencies)} runs",
        flush=True,
    )


if __name__ == "__main__":
    main()
