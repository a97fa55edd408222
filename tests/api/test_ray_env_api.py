"""What the running cluster exposes (raylake/ray_env.py): every listener of its processes is on the
loopback address, and no Ray process's environment holds a secret of the platform."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

import psutil

from raylake.launcher import cluster_processes
from raylake.platform import callbacks
from raylake.platform.jobs import RAY_ENDED, RayJobs, job_environment
from tests.api.conftest import once_per_session
from tests.ray_cluster import CLUSTER_SETTINGS, SHELL_SECRETS


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


def _listeners(session_name: str) -> list[tuple[str, int, int, str]]:
    """(address, port, pid, process name) of every listening socket of the cluster's processes."""
    procs = {p.pid: p for p in cluster_processes(session_name)}
    found = []
    for conn in psutil.net_connections("inet"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in procs:
            try:
                name = procs[conn.pid].name()
            except psutil.Error:
                continue
            found.append((conn.laddr.ip, conn.laddr.port, conn.pid, name))
    return found


def test_the_cluster_listens_on_loopback_only(api, ray_cluster):
    """HAProxy's stats page and Prometheus exporter, Serve's ingress, the dashboard and its agent, Ray's
    metrics exporter, the GCS, raylet and worker ports: none is on another interface. The one exception
    (named in docs/security.md) is each Serve replica's inter-deployment gRPC server, which Serve binds to
    ``[::]:0`` with no setting; Ray's token guards it."""
    once_per_session(api)
    listeners = _listeners(ray_cluster.session_name)
    ports = {port for _, port, _, _ in listeners}
    # HAProxy is up (the API answered through it) and both of its own listeners are among those checked.
    assert {CLUSTER_SETTINGS.haproxy_stats_port, CLUSTER_SETTINGS.haproxy_metrics_port} <= ports
    assert ray_cluster.serve_port in ports
    exposed = [listener for listener in listeners if not _loopback(listener[0])]
    replicas = [pid for _, _, pid, name in exposed if name.startswith("ray::ServeReplica")]
    assert [listener for listener in exposed if listener[2] not in replicas] == []
    assert len(replicas) == len(set(replicas))  # one each: the inter-deployment gRPC server


def _environ(proc: psutil.Process) -> str:
    try:
        return Path(f"/proc/{proc.pid}/environ").read_bytes().decode(errors="replace")
    except OSError:  # it ended meanwhile
        return ""


def test_no_ray_process_holds_a_secret(api, ray_cluster):
    """The secrets of the shell that started Ray and of the API's settings are in no Ray process's
    environment: not the raylet's, the workers', the Serve replicas', nor a running job's."""
    once_per_session(api)
    jobs = RayJobs.from_settings(api.settings)
    secret = callbacks.new_secret()[0]  # a job's own callback secret is the one secret it is given
    job_id = jobs.submit(
        entrypoint="python -c 'import time; time.sleep(120)'",
        metadata={"raylake_kind": "test"},
        env_vars={**job_environment(api.settings), callbacks.ENV_VAR: secret},
        num_cpus=0,
    )
    try:
        deadline = time.monotonic() + 120
        while (status := jobs.info(job_id).status) == "PENDING":
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.5)
        assert status == "RUNNING"
        procs = cluster_processes(ray_cluster.session_name)
        environments = {proc.pid: (proc, _environ(proc)) for proc in procs}
        names = " ".join(proc.name() for proc, _ in environments.values())
        assert "raylet" in names and "ServeReplica" in names and "JobSupervisor" in names
        assert any(secret in env for _, env in environments.values())  # the job's driver is among them
        needles = [*SHELL_SECRETS.values(), api.settings.secret(), api.settings.ray_token()]
        needles.append(api.settings.first_superuser_password.get_secret_value())
        for proc, env in environments.values():
            for needle in needles:
                assert needle not in env, f"a secret is in the environment of {proc.pid} ({proc.name()})"
    finally:
        jobs.stop(job_id)
        while jobs.info(job_id).status not in RAY_ENDED:
            time.sleep(0.5)
