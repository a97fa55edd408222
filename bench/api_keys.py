"""What an API key costs on the prediction hot path against an access token (figures go to
bench/RESULTS.md): ``POST /api/v1/inference/`` (one row per request) on one LightGBM model, req/s and
p50/p99 at 8 and 32 clients with the same superuser's access token (JWT) and with an API key holding
``inference:run``, interleaved over ``--rounds`` rounds on the same model so machine noise hits both
alike; then how long revoking the key takes to answer 401 on the replica that revoked it.

Needs a running platform (`make run`); reads the same RAYLAKE_* settings. Usage:
`.venv/bin/python bench/api_keys.py [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.client import login
from bench.inference import frame, one_row, train, upload_frame
from bench.loadgen import Result, measure
from raylake.platform.config import Settings, resolve_settings

JSON = {"Content-Type": "application/json"}
TOTAL = {8: 4000, 32: 6000}


def through_platform(base: str, headers: dict[str, str], rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        dataset = upload_frame(base, headers, frame(20_000, 1), "t", Path(tmp))
    run = train(base, headers, dataset["dataset_id"])
    made = httpx.post(
        f"{base}/api/v1/api-keys",
        json={"name": f"bench-{time.time_ns()}", "permissions": ["inference:run"]},
        headers=headers,
        timeout=60,
    )
    made.raise_for_status()
    key = made.json()
    credentials = {"access token": headers, "API key": {"Authorization": f"Bearer {key['key']}"}}
    body = json.dumps({"train_id": run["id"], "features": one_row()}).encode()
    url = f"{base}/api/v1/inference/"
    for auth in credentials.values():
        check = httpx.post(url, content=body, headers=auth | JSON, timeout=60)
        assert check.status_code == 200, check.text
    results: dict[tuple[int, str], list[Result]] = {}
    for r in range(rounds):
        for clients in (8, 32):
            names = list(credentials) if (r + clients) % 2 == 0 else list(reversed(credentials))
            for name in names:
                result = measure(
                    name, url, headers=credentials[name], concurrency=clients, total=TOTAL[clients], body=body
                )
                results.setdefault((clients, name), []).append(result)
                print(f"round {r + 1}: {result.row()}", flush=True)
    print(
        "\n| clients | credential | p50 ms (median of rounds) | p99 ms | req/s (median) | req/s per round |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for clients in (8, 32):
        for name in credentials:
            got = results[(clients, name)]
            rps = [r.rps for r in got]
            print(
                f"| {clients} | {name} | {statistics.median(r.p50_ms for r in got):.2f} "
                f"| {statistics.median(r.p99_ms for r in got):.2f} | {statistics.median(rps):,.0f} "
                f"| {', '.join(f'{x:,.0f}' for x in rps)} |"
            )
    start = time.perf_counter()
    httpx.delete(f"{base}/api/v1/api-keys/{key['id']}", headers=headers, timeout=60).raise_for_status()
    refused = httpx.post(url, content=body, headers=credentials["API key"] | JSON, timeout=60)
    print(
        f"\nrevoked: the next call answered {refused.status_code} {time.perf_counter() - start:.3f} s later"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = resolve_settings(Settings())
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}; "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    base = f"http://{settings.host}:{settings.port}"
    through_platform(base, login(base, settings), args.rounds)
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
