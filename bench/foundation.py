"""Foundation benchmarks, side by side in one run (figures go to bench/RESULTS.md):

1. cold `make run` to healthy: fresh virtualenv (a new clone) and warm virtualenv (second start);
2. idle memory of the running platform: sum of RSS of the Ray cluster's processes (Ray + Serve);
3. GET /api/v1/utils/health-check/ and an authenticated GET /api/v1/users/read-users/ through Serve
   (HAProxy ingress, the default; and Serve's classic proxy) vs the same app under plain uvicorn:
   p50/p99 latency and req/s at 1 and 16 concurrent clients.

Runs a throw-away clone of this checkout on its own ports, so a platform already running from the
checkout is left alone. Usage: `make bench-foundation` (or `.venv/bin/python bench/foundation.py`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import contextlib

from bench.loadgen import Result, measure
from raylake.launcher import cluster_processes

REPO = Path(__file__).resolve().parents[1]
PORT, PLAIN_PORT = 8300, 8301
ENV = {
    "RAYLAKE_PORT": str(PORT),
    "RAYLAKE_RAY_ADDRESS": "127.0.0.1:6480",
    "RAYLAKE_RAY_DASHBOARD_URL": "http://127.0.0.1:8365",
    "RAYLAKE_HAPROXY_STATS_PORT": "8405",
    "RAYLAKE_HAPROXY_METRICS_PORT": "9102",
    "RAYLAKE_SERVE_REPLICA_PORT_BASE": "31000",
    "RAYLAKE_RAY_NUM_CPUS": str(os.cpu_count() or 2),
}


def sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.monotonic()
    subprocess.run(cmd, cwd=cwd, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def idle_rss_mib(clone: Path) -> float:
    session = (clone / ".raylake" / "ray_session").read_text().strip()
    total = 0
    for proc in cluster_processes(session):
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total / 2**20


def token(base: str, clone: Path) -> dict[str, str]:
    password = (clone / ".raylake" / "first_superuser_password").read_text().strip()
    resp = httpx.post(f"{base}/api/v1/login/access-token", data={"username": "admin", "password": password})
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def latency(name: str, base: str, headers: dict[str, str]) -> list[Result]:
    out = []
    for concurrency, total in ((1, 2000), (16, 8000)):
        out.append(
            measure(
                f"{name} health-check",
                f"{base}/api/v1/utils/health-check/",
                concurrency=concurrency,
                total=total,
            )
        )
        out.append(
            measure(
                f"{name} read-users (auth)",
                f"{base}/api/v1/users/read-users/",
                headers=headers,
                concurrency=concurrency,
                total=total,
            )
        )
    return out


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="raylake-bench-"))
    clone = work / "raylake"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    results: list[Result] = []
    figures: dict[str, float] = {}
    base = f"http://127.0.0.1:{PORT}"
    try:
        figures["cold_start_fresh_venv_s"] = sh(["make", "run"], clone, ENV)
        time.sleep(15)
        figures["idle_rss_mib"] = idle_rss_mib(clone)
        headers = token(base, clone)
        results += latency("serve (haproxy ingress)", base, headers)
        plain = subprocess.Popen(
            [
                str(clone / ".venv/bin/python"),
                str(clone / "bench/plain_uvicorn.py"),
                "--port",
                str(PLAIN_PORT),
            ],
            cwd=clone,
            env={**os.environ, **ENV},
        )
        try:
            for _ in range(120):
                try:
                    if (
                        httpx.get(f"http://127.0.0.1:{PLAIN_PORT}/api/v1/utils/health-check/").status_code
                        == 200
                    ):
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            results += latency("plain uvicorn", f"http://127.0.0.1:{PLAIN_PORT}", headers)
        finally:
            plain.terminate()
            plain.wait(10)
        sh(["make", "stop"], clone, ENV)
        figures["cold_start_warm_venv_s"] = sh(["make", "run"], clone, ENV)
        sh(["make", "stop"], clone, ENV)
        sh(["make", "run"], clone, {**ENV, "RAYLAKE_SERVE_INGRESS": "proxy"})
        results += latency("serve (classic proxy)", base, token(base, clone))
    finally:
        subprocess.run(["make", "stop"], cwd=clone, env={**os.environ, **ENV}, check=False)
        shutil.rmtree(work, ignore_errors=True)

    memory_gib = psutil.virtual_memory().total / 2**30
    machine = (
        f"{platform.node()}: {os.cpu_count()} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}"
    )
    print(f"\nmachine: {machine}")
    for key, value in figures.items():
        print(f"{key}: {value:.1f}")
    print("\n| path | clients | p50 ms | p99 ms | req/s | errors |\n| --- | --- | --- | --- | --- | --- |")
    for result in sorted(results, key=lambda r: (r.name.split()[-1], r.concurrency)):
        print(result.row())
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "foundation.json").write_text(
        json.dumps(
            {"machine": machine, "figures": figures, "results": [r.__dict__ for r in results]}, indent=2
        )
    )


if __name__ == "__main__":
    main()
