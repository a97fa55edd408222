"""The API ingress deployment: the FastAPI app, built inside each replica (factory ingress)."""

from __future__ import annotations

from fastapi import FastAPI
from ray import serve
from ray.serve.handle import DeploymentHandle

from raylake.platform.app import create_app
from raylake.platform.config import Settings
from raylake.serve_apps.models import dedicated_application


@serve.deployment(
    name="api",
    # The API only routes and queries the metadata store; it reserves no CPU so jobs keep the cluster's.
    ray_actor_options={"num_cpus": 0},
    max_ongoing_requests=200,
    health_check_period_s=10,
)
@serve.ingress()
class ApiIngress:
    def __init__(self, settings: Settings, models: DeploymentHandle | None = None) -> None:
        self._settings = settings
        self._models = models

    def __serve_build_asgi_app__(self) -> FastAPI:
        self._app = create_app(self._settings, self._models, dedicated_application)
        return self._app

    async def forget(self, prefix: str, principals: bool = False) -> None:
        """Another replica deleted something (``ServeGateway.forget``): describe models afresh, and with
        ``principals`` (a deleted tenant) verify callers afresh."""
        self._app.state.servables.clear()
        if principals:
            self._app.state.principals.clear()
