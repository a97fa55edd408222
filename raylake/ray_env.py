"""The environment every process of a raylake Ray cluster starts with.

Token authentication stays on: the token lives in a 0600 file in the data dir, and every Ray process
(and every client of the Jobs API) is pointed at it. Serve reads its ingress settings when its
controller, proxy and replica processes import it, so they must be in the environment of the process
that starts Ray (``ray start`` or a local ``ray.init``), not only in a deployment's runtime_env.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

from raylake.platform.config import Settings


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


def serve_environment(settings: Settings) -> dict[str, str]:
    """Serve ingress settings chosen by measurement (bench/foundation.py, bench/RESULTS.md)."""
    if settings.serve_ingress == "proxy":
        return {}
    haproxy = haproxy_dir(settings)
    haproxy.mkdir(mode=0o700, parents=True, exist_ok=True)
    base = settings.serve_replica_port_base
    return {
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
    env = dict(os.environ)
    env.update(serve_environment(settings))
    # Jobs run `python -m raylake...`: make that the platform's own interpreter on every Ray process.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["RAY_AUTH_MODE"] = "token"
    env["RAY_AUTH_TOKEN_PATH"] = str(settings.ray_token_path)
    env.pop("RAY_AUTH_TOKEN", None)  # the file is the one source of the token
    return env
