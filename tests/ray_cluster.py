"""The test session's one local Ray: started in-process with the dashboard (Jobs API) and Serve.

Token authentication stays on: a token file is written first and the environment points Ray at it,
before ``ray`` is imported by anything in the test process.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import tempfile
from pathlib import Path

from raylake.platform.config import Settings, resolve_settings
from raylake.ray_env import haproxy_dir, ray_environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ROOT = Path(tempfile.mkdtemp(prefix="raylake-ray-"))
CLUSTER_SETTINGS = resolve_settings(
    Settings(
        data_dir=ROOT,
        haproxy_stats_port=free_port(),
        haproxy_metrics_port=free_port(),
        serve_replica_port_base=random.randrange(40_000, 59_000, 100),
        _env_file=None,
    )
)
TOKEN = CLUSTER_SETTINGS.ray_token()
# Ray picks its auth mode, token and Serve ingress settings up from the environment: set before
# anything imports ray.
os.environ.update(ray_environment(CLUSTER_SETTINGS))


class LocalRay:
    def __init__(self) -> None:
        self.token = TOKEN
        self.dashboard_port = free_port()
        self.serve_port = free_port()

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def serve_url(self) -> str:
        return f"http://127.0.0.1:{self.serve_port}"

    def start(self) -> None:
        import ray
        from ray import serve

        ray.init(
            address="local",  # always a new instance, never whatever cluster happens to run here
            num_cpus=2,
            include_dashboard=True,
            dashboard_host="127.0.0.1",
            dashboard_port=self.dashboard_port,
            namespace="raylake-tests",
            log_to_driver=False,
        )
        serve.start(http_options={"host": "127.0.0.1", "port": self.serve_port})

    def deploy(self, app, *, name: str) -> None:
        from ray import serve

        serve.run(app, name=name, route_prefix="/")

    def log_files(self) -> list[Path]:
        """Every log file of this Ray session (driver, raylet, Serve proxy and replicas, jobs)."""
        import ray

        logs = (
            Path(os.environ.get("RAY_TMPDIR", "/tmp/ray"))
            / ray.get_runtime_context().get_session_name()
            / "logs"
        )
        return [p for p in logs.rglob("*") if p.is_file()]

    def stop(self) -> None:
        import ray
        from ray import serve

        serve.shutdown()
        ray.shutdown()
        shutil.rmtree(ROOT, ignore_errors=True)
        shutil.rmtree(haproxy_dir(CLUSTER_SETTINGS), ignore_errors=True)
