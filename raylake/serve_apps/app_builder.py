"""Builds the Serve application. Used by `make run` and by operators:

    serve run raylake.serve_apps.app_builder:build_app
    serve deploy config.yaml   # import_path: raylake.serve_apps.app_builder:build_app

Builder arguments (``key=value`` on the command line) override ``RAYLAKE_*`` settings.
"""

from __future__ import annotations

from typing import Any

from ray.serve import Application

from raylake.platform.bootstrap import bootstrap
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.db import make_engine
from raylake.serve_apps.api import ApiIngress
from raylake.serve_apps.models import pool_application, serve_logging

APP_NAME = "raylake"


def prepare(settings: Settings) -> Settings:
    """Resolve secrets, migrate and seed the store, once, in the driver."""
    settings = resolve_settings(settings)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        bootstrap(settings, engine)
    finally:
        engine.dispose()
    return settings


def api_application(settings: Settings) -> Application:
    """The API ingress with the shared model pool bound into it (one Serve application)."""
    # mypy ignores class decorators: @serve.deployment made ApiIngress a Deployment
    return ApiIngress.options(  # type: ignore[attr-defined]
        num_replicas=settings.api_replicas, logging_config=serve_logging(settings)
    ).bind(settings, pool_application(settings))


def build_app(args: dict[str, Any]) -> Application:
    """The Serve application ``serve run`` and ``serve deploy`` build: the API with its model pool."""
    settings = prepare(Settings(**args))
    return api_application(settings)
