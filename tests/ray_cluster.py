"""The test session's one local Ray: started in-process with the dashboard (Jobs API) and Serve.

Token authentication stays on: a token file is written first and the environment points Ray at it,
before ``ray`` is imported by anything in the test process.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
from pathlib import Path

from raylake.ray_env import SERVE_ENV

ROOT = Path(tempfile.mkdtemp(prefix="raylake-ray-"))
TOKEN = secrets.token_urlsafe(32)
TOKEN_PATH = ROOT / "ray_auth_token"
TOKEN_PATH.write_text(TOKEN)
TOKEN_PATH.chmod(0o600)
# Ray picks its auth mode and token up from the environment: set before anything imports ray.
os.environ.update(SERVE_ENV)
os.environ["RAY_AUTH_MODE"] = "token"
os.environ["RAY_AUTH_TOKEN_PATH"] = str(TOKEN_PATH)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
