"""`make run` / `make stop`: a local Ray head, the Serve application, and a health wait.

python -m raylake.launcher up      # idempotent: reuses a running head and redeploys the app
python -m raylake.launcher down    # stops the app and the Ray head this launcher started
python -m raylake.launcher status
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from raylake.platform.config import Settings, resolve_settings
from raylake.ray_env import LOCAL_HOSTS, ray_environment, ray_temp_dir

log = logging.getLogger("raylake.launcher")
HEALTH_TIMEOUT_S = 180


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def _reachable(address: str) -> bool:
    host, port = _split(address)
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _ray_bin() -> str:
    return str(Path(sys.executable).with_name("ray"))


def start_ray_head(settings: Settings, *, resources: dict[str, float] | None = None) -> None:
    """Start a local Ray head; ``resources`` are custom resources it offers (``ray start --resources``)."""
    host, port = _split(settings.ray_address)
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"Ray at {settings.ray_address} is not reachable and is not local: start it first")
    dashboard = httpx.URL(settings.ray_dashboard_url)
    cmd = [
        _ray_bin(),
        "start",
        "--head",
        f"--port={port}",
        f"--num-cpus={settings.ray_num_cpus}",
        "--include-dashboard=true",
        f"--dashboard-host={dashboard.host}",
        f"--dashboard-port={dashboard.port or 8265}",
        f"--dashboard-agent-listen-port={settings.ray_agent_port}",
        f"--temp-dir={ray_temp_dir(settings)}",
        "--disable-usage-stats",
    ]
    if resources:
        cmd.append(f"--resources={json.dumps(resources)}")
    log.info("starting a local Ray head on %s (%d CPUs)", settings.ray_address, settings.ray_num_cpus)
    subprocess.run(cmd, check=True, env=ray_environment(settings), stdout=subprocess.DEVNULL)


def _connect(settings: Settings) -> str:
    """Join the cluster as a driver; returns the Ray session name (it tags every process of the cluster)."""
    import ray

    if not ray.is_initialized():
        ray.init(address=settings.ray_address, log_to_driver=False, logging_level=logging.WARNING)
    return ray.get_runtime_context().get_session_name()


def deploy(settings: Settings, *, started_head: bool) -> None:
    """Deploy (or redeploy in place) the platform's Serve application on the running head."""
    from ray import serve

    from raylake.serve_apps.app_builder import APP_NAME, api_application, prepare

    settings = prepare(settings)
    session_name = _connect(settings)
    if started_head:
        _session_file(settings).write_text(session_name)
    serve.start(http_options={"host": settings.host, "port": settings.port})
    serve.run(api_application(settings), name=APP_NAME, route_prefix="/", blocking=False)


def wait_healthy(settings: Settings, timeout_s: float = HEALTH_TIMEOUT_S) -> float:
    """Poll the health check until it answers; the seconds it took (SystemExit after ``timeout_s``)."""
    url = f"http://{settings.host}:{settings.port}/api/v1/utils/health-check/"
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"raylake did not become healthy at {url} within {timeout_s:.0f}s")


def up(settings: Settings) -> None:
    """`make run`: start a local head if none is reachable, migrate and seed, deploy, wait until healthy."""
    t0 = time.monotonic()
    started_head = not _reachable(settings.ray_address)
    if started_head:
        start_ray_head(settings)
    deploy(settings, started_head=started_head)
    wait_healthy(settings)
    print(f"raylake is up at http://{settings.host}:{settings.port} ({time.monotonic() - t0:.1f}s)")
    print(f"  API docs:       http://{settings.host}:{settings.port}/docs")
    print(f"  Ray dashboard:  {settings.ray_dashboard_url} (token in {settings.ray_token_path})")
    print(f"  superuser:      {settings.first_superuser}", end="")
    if settings.first_superuser_password is None:
        print(f" (password in {settings.superuser_password_path})")
    else:
        print(" (password from RAYLAKE_FIRST_SUPERUSER_PASSWORD)")


def _session_file(settings: Settings) -> Path:
    return settings.data_dir / "ray_session"


def cluster_processes(session_name: str, gcs_address: str | None = None) -> list[psutil.Process]:
    """Every process of one Ray session: those naming it on their command line, and their children; with
    ``gcs_address``, also the head's Ray Client server, which names only the GCS it serves (it outlived
    `make stop` before)."""
    if not session_name.startswith("session_"):  # "" names every process on the machine
        raise ValueError(f"not a Ray session name: {session_name!r}")
    roots = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        client_server = (
            gcs_address is not None
            and "ray.util.client.server" in cmdline
            and f"--address={gcs_address}" in cmdline
        )
        if client_server or any(session_name in part for part in cmdline):
            roots.append(proc)
    found = {p.pid: p for p in roots}
    for proc in roots:
        with contextlib.suppress(psutil.Error):
            found.update({c.pid: c for c in proc.children(recursive=True)})
    found.pop(os.getpid(), None)
    return list(found.values())


def stop_session(session_name: str, gcs_address: str | None = None) -> int:
    """End every process of one Ray session (SIGTERM, then SIGKILL after 15 s); returns how many."""
    procs = cluster_processes(session_name, gcs_address)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=15)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    return len(procs)


def _stop_serve(settings: Settings) -> None:
    """Shut Serve down first, so every replica stops gracefully: an API replica's shutdown appends the
    predictions its capture buffer still holds (ending its process loses them)."""
    if not _reachable(settings.ray_address):
        return
    try:
        import ray
        from ray import serve

        _connect(settings)
        serve.shutdown()  # waits up to 30 s for the replicas to stop
        ray.shutdown()  # this driver leaves before the cluster's processes are ended
    except Exception as exc:  # an unhealthy head: its processes are ended below all the same
        log.warning("could not stop Serve gracefully: %s", exc)


def down(settings: Settings) -> None:
    """Stop the Ray head `up` started, and only it: `ray stop` would end every Ray cluster on the machine."""
    session_file = _session_file(settings)
    if not session_file.exists():
        print("raylake did not start a Ray head here; nothing to stop")
        return
    _stop_serve(settings)
    count = stop_session(session_file.read_text().strip(), settings.ray_address)
    session_file.unlink()
    print(f"stopped raylake and its Ray head ({count} processes)")


def status(settings: Settings) -> None:
    """`make status`: print what the health check answers."""
    url = f"http://{settings.host}:{settings.port}/api/v1/utils/health-check/"
    try:
        resp = httpx.get(url, timeout=3.0)
        print(f"{url}: {resp.status_code} {resp.text}")
    except httpx.HTTPError as exc:
        print(f"{url}: not answering ({type(exc).__name__})")
        raise SystemExit(1) from None


def main(argv: list[str] | None = None) -> None:
    """The launcher's command line: up, down or status."""
    parser = argparse.ArgumentParser(prog="raylake.launcher")
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = resolve_settings(Settings())
    # Before anything imports ray: Ray reads its auth mode and token path once, at import.
    os.environ.update(ray_environment(settings))
    {"up": up, "down": down, "status": status}[args.command](settings)


if __name__ == "__main__":
    main()
