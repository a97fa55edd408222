"""Does the API replica's memory plateau under a long mix of good and bad requests? (issue 12, item 14)

Drives a running platform (`make run`) with a bounded number of mixed requests from a few concurrent
clients: reads (health, lists, a dataset preview), writes (templates created and deleted, small
datasets uploaded and deleted), real-time predictions when a trained run is given, and bad input of
every kind (malformed JSON, wrong types, unknown ids and routes, forged tokens, failed logins). Every
``--every`` requests it samples the resident memory (RSS) of the API replica and of the model replicas,
as the operating system reports it (psutil), and prints one line per sample; the last line compares
the growth over the second half of the run with the first.

Usage: `.venv/bin/python bench/memory.py [--requests 20000] [--every 1000] [--train-id N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import platform
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.client import login
from raylake.launcher import cluster_processes
from raylake.platform.config import Settings, resolve_settings

API_REPLICA = "ServeReplica:raylake:api"
MODEL_REPLICA = "ServeReplica:raylake:models"


def replica_rss_mb(procs: list[psutil.Process], marker: str) -> float:
    """Summed RSS (MB) of the cluster's processes whose title names one Serve deployment's replicas."""
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if marker in " ".join(proc.cmdline()):
                total += proc.memory_info().rss
    return total / 2**20


def csv_bytes(rows: int = 50) -> bytes:
    lines = ["CustomerID,Tenure,Monthly,Plan,Churn"]
    lines += [f"C{i},{i % 70},{10 + i % 90}.5,{('Basic', 'Gold')[i % 2]},{i % 3 == 0}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def request_mix(train_id: int | None) -> list[tuple[str, str, dict]]:
    """One cycle of (method, path, httpx keyword arguments); ``auth`` is filled in per call."""
    api = "/api/v1"
    mix: list[tuple[str, str, dict]] = [
        ("GET", f"{api}/utils/health-check/", {}),
        ("GET", f"{api}/template/list", {"auth": True}),
        ("GET", f"{api}/dataset/list", {"auth": True}),
        ("GET", f"{api}/train/list", {"auth": True}),
        ("GET", f"{api}/files/list", {"auth": True}),
        ("POST", f"{api}/inference/", {"auth": True, "json": {"train_id": "x", "features": 3}}),
        ("POST", f"{api}/inference/", {"auth": True, "json": {"train_id": 2**40, "features": {"a": 1}}}),
        ("POST", f"{api}/template/", {"auth": True, "content": b"{not json", "ctype": "application/json"}),
        ("GET", f"{api}/no/such/route/{uuid.uuid4().hex}", {"auth": True}),
        ("GET", f"{api}/train/get/{2**31 - 1}", {"auth": True}),
        ("GET", f"{api}/dataset/list", {"forged": True}),
        ("GET", f"{api}/users/read-users/?skip=-1", {"auth": True}),
        ("TEMPLATE", "", {}),
        # a 300 KB body of rows no model takes, over the per-call row cap
        (
            "POST",
            f"{api}/inference/",
            {"auth": True, "json": {"train_id": 1, "instances": [{"x": "y" * 100}] * 2500}},
        ),
    ]
    if train_id is not None:
        row = {"Tenure": 5, "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"}
        mix += [
            ("POST", f"{api}/inference/", {"auth": True, "json": {"train_id": train_id, "features": row}})
        ] * 3
    return mix


async def one(
    client: httpx.AsyncClient, auth: dict[str, str], step: int, total: int, item: tuple[str, str, dict]
) -> int:
    """Send one request of the mix (uploads, logins and template round-trips on some steps)."""
    method, path, opts = item
    api = "/api/v1"
    if step % 200 == 100:  # a broken Parquet file (magic bytes around junk)
        junk = b"PAR1" + uuid.uuid4().bytes * 4096 + b"PAR1"
        resp = await client.post(
            f"{api}/dataset/upload",
            params={"dataset_name": f"mem-{uuid.uuid4().hex[:8]}", "usage": "t"},
            files=[("files", ("m.parquet", io.BytesIO(junk), "application/octet-stream"))],
            headers=auth,
        )
        return resp.status_code
    if step % 200 == 0:  # a dataset uploaded and deleted
        resp = await client.post(
            f"{api}/dataset/upload",
            params={"dataset_name": f"mem-{uuid.uuid4().hex[:8]}", "usage": "t"},
            files=[("files", ("m.csv", io.BytesIO(csv_bytes()), "text/csv"))],
            headers=auth,
        )
        if resp.status_code == 201:
            await client.delete(f"{api}/dataset/delete/{resp.json()['dataset_id']}", headers=auth)
        return resp.status_code
    if step % (total // 10) == 1:  # a failed login: ten a run, under the per-client limit of 20 per window
        data = {"username": f"nobody-{uuid.uuid4().hex[:6]}", "password": "wrong-password-1"}
        return (await client.post(f"{api}/login/access-token", data=data)).status_code
    if method == "TEMPLATE":
        body = {
            "template_name": f"mem-{uuid.uuid4().hex[:8]}",
            "template_schema": [{"column_name": "a", "data_type": "Float"}],
        }
        resp = await client.post(f"{api}/template/", json=body, headers=auth)
        if resp.status_code == 201:
            await client.delete(f"{api}/template/{resp.json()['id']}", headers=auth)
        return resp.status_code
    headers: dict[str, str] = {}
    if opts.get("auth"):
        headers.update(auth)
    if opts.get("forged"):
        headers["Authorization"] = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.forged"
    if "ctype" in opts:
        headers["Content-Type"] = opts["ctype"]
    resp = await client.request(
        method, path, headers=headers, json=opts.get("json"), content=opts.get("content")
    )
    return resp.status_code


async def drive(
    procs: list[psutil.Process],
    base: str,
    auth: dict[str, str],
    total: int,
    every: int,
    clients: int,
    train_id: int | None,
) -> list:
    mix = request_mix(train_id)
    samples = [(0, replica_rss_mb(procs, API_REPLICA), replica_rss_mb(procs, MODEL_REPLICA), 0)]
    print(f"{'requests':>9} {'api MB':>8} {'models MB':>10} {'5xx':>5} {'s':>6}")
    print(f"{0:>9} {samples[0][1]:>8.0f} {samples[0][2]:>10.0f} {0:>5} {0:>6.0f}")
    counter = itertools.count(1)
    errors = 0
    start = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            while (step := next(counter)) <= total:
                status = await one(client, auth, step, total, mix[step % len(mix)])
                errors += status >= 500
                if step % every == 0:
                    api_mb, models_mb = (
                        replica_rss_mb(procs, API_REPLICA),
                        replica_rss_mb(procs, MODEL_REPLICA),
                    )
                    sample = (step, api_mb, models_mb, errors)
                    samples.append(sample)
                    took = time.monotonic() - start
                    print(
                        f"{step:>9} {sample[1]:>8.0f} {sample[2]:>10.0f} {errors:>5} {took:>6.0f}", flush=True
                    )

        await asyncio.gather(*(worker() for _ in range(clients)))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--train-id", type=int, default=None, help="a completed run to predict with")
    args = parser.parse_args()
    settings = resolve_settings(Settings())
    base = f"http://{settings.host}:{settings.port}"
    auth = login(base, settings)
    memory_gib = psutil.virtual_memory().total / 2**30
    print(f"machine: {platform.machine()}, {psutil.cpu_count()} cores, {memory_gib:.0f} GiB")
    # this platform's Ray session only: other clusters on the machine have replicas of the same names
    procs = cluster_processes((settings.data_dir / "ray_session").read_text().strip())
    samples = asyncio.run(drive(procs, base, auth, args.requests, args.every, args.clients, args.train_id))
    half = len(samples) // 2
    first = samples[half][1] - samples[0][1]
    second = samples[-1][1] - samples[half][1]
    print(
        f"API replica RSS: {samples[0][1]:.0f} -> {samples[half][1]:.0f} -> {samples[-1][1]:.0f} MB "
        f"(first half +{first:.0f} MB, second half +{second:.0f} MB); 5xx: {samples[-1][3]}"
    )


if __name__ == "__main__":
    main()
