"""The test session's one local Ray: started in-process with the dashboard (Jobs API) and Serve.

Token authentication stays on: a token file is written first and the environment points Ray at it,
before ``ray`` is imported by anything in the test process. The head runs on free ports of its own,
so the suite can run beside `make run` (or another suite) on the same machine.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from raylake.launcher import start_ray_head, stop_session
from raylake.platform.config import SECRET_SETTINGS, Settings, resolve_settings
from raylake.ray_env import haproxy_dir, ray_environment, ray_temp_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ROOT = Path(tempfile.mkdtemp(prefix="raylake-ray-"))
_DASHBOARD_PORT = free_port()
CLUSTER_SETTINGS = resolve_settings(
    Settings(
        data_dir=ROOT,
        ray_address=f"127.0.0.1:{free_port()}",
        ray_dashboard_url=f"http://127.0.0.1:{_DASHBOARD_PORT}",
        ray_agent_port=free_port(),
        ray_num_cpus=2,
        haproxy_stats_port=free_port(),
        haproxy_metrics_port=free_port(),
        serve_replica_port_base=random.randrange(40_000, 59_000, 100),
        _env_file=None,
    )
)
TOKEN = CLUSTER_SETTINGS.ray_token()
# A custom resource of the head, the only node, for tests of deployments placed by resources.
HEAD_RESOURCES = {"zone_a": 1.0}
# Ray picks its auth mode, token and Serve ingress settings up from the environment: set before
# anything imports ray.
os.environ.update(ray_environment(CLUSTER_SETTINGS))
# The secrets a user's shell may hold when it starts Ray (`make run` with RAYLAKE_FIRST_SUPERUSER_PASSWORD
# exported): in the environment while the head starts, so a test can check that no Ray process got them.
SHELL_SECRETS = {
    f"RAYLAKE_{name.upper()}": f"canary-{name}-{secrets.token_hex(8)}" for name in SECRET_SETTINGS
}
SHELL_SECRETS["RAYLAKE_DATABASE_URL"] = f"postgresql://raylake:canary-{secrets.token_hex(8)}@127.0.0.1/rl"


@contextlib.contextmanager
def _exported(variables: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalRay:
    """A Ray head started the way `make run` starts one (`ray start --head`), on ports of its own."""

    def __init__(self) -> None:
        self.token = TOKEN
        self.dashboard_url = CLUSTER_SETTINGS.ray_dashboard_url
        self.serve_port = free_port()
        self.session_name = ""

    @property
    def serve_url(self) -> str:
        return f"http://127.0.0.1:{self.serve_port}"

    def start(self) -> None:
        import ray
        from ray import serve

        with _exported(SHELL_SECRETS):
            start_ray_head(CLUSTER_SETTINGS, resources=HEAD_RESOURCES)
        ray.init(address=CLUSTER_SETTINGS.ray_address, namespace="raylake-tests", log_to_driver=False)
        self.session_name = ray.get_runtime_context().get_session_name()
        serve.start(http_options={"host": "127.0.0.1", "port": self.serve_port})

    def deploy(self, app, *, name: str) -> None:
        from ray import serve

        serve.run(app, name=name, route_prefix="/")

    def log_files(self) -> list[Path]:
        """Every log file of this Ray session (driver, raylet, Serve proxy and replicas, jobs)."""
        logs = ray_temp_dir(CLUSTER_SETTINGS) / self.session_name / "logs"
        return [p for p in logs.rglob("*") if p.is_file()]

    def stop(self) -> None:
        import ray

        ray.shutdown()
        if self.session_name:  # the head may have failed to start
            stop_session(self.session_name, CLUSTER_SETTINGS.ray_address)
        shutil.rmtree(ROOT, ignore_errors=True)
        shutil.rmtree(haproxy_dir(CLUSTER_SETTINGS), ignore_errors=True)
        shutil.rmtree(ray_temp_dir(CLUSTER_SETTINGS), ignore_errors=True)
