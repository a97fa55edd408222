"""Builds the FastAPI app: routers, error handlers, the body cap, and per-process state.

Called once per API replica (Serve's factory ingress) or once by plain uvicorn, so every process gets
its own engine and clients and nothing unpicklable crosses process boundaries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from raylake import __version__
from raylake.platform import lake, standby
from raylake.platform.apikeys.router import router as apikeys_router
from raylake.platform.auth.principals import PrincipalCache
from raylake.platform.auth.router import router as auth_router
from raylake.platform.compat import mlconnector, plexe, v3api
from raylake.platform.completion import RunToCompletion
from raylake.platform.config import Settings
from raylake.platform.datalake.router import router as datalake_router
from raylake.platform.datasets.router import router as datasets_router
from raylake.platform.db import make_engine
from raylake.platform.deployments.router import router as deployments_router
from raylake.platform.deps import ForgetPrincipals
from raylake.platform.errors import register_error_handlers
from raylake.platform.events.dispatcher import Dispatcher
from raylake.platform.events.feed import Feed
from raylake.platform.events.router import router as events_router
from raylake.platform.files.router import router as files_router
from raylake.platform.inference.cache import ServableCache
from raylake.platform.inference.gateway import ServeGateway
from raylake.platform.inference.log import PredictionLog
from raylake.platform.inference.router import router as inference_router
from raylake.platform.jobs import RayJobs
from raylake.platform.limits import BodySizeLimit
from raylake.platform.methods import LiteralPathMethods
from raylake.platform.monitoring.buffer import CaptureBuffer
from raylake.platform.monitoring.drift_router import router as drift_router
from raylake.platform.monitoring.drift_schedule import DriftScheduler
from raylake.platform.monitoring.router import router as monitoring_router
from raylake.platform.ray_jobs.router import router as ray_jobs_router
from raylake.platform.rbac.router import router as rbac_router
from raylake.platform.registry.artifacts_router import router as artifacts_router
from raylake.platform.registry.factory_router import router as factory_router
from raylake.platform.registry.recommend_router import router as recommend_router
from raylake.platform.registry.router import router as registry_router
from raylake.platform.templates.router import router as templates_router
from raylake.platform.tenants.router import router as tenants_router
from raylake.platform.training.router import router as training_router
from raylake.platform.users.router import router as users_router
from raylake.platform.utils.router import router as utils_router
from raylake.schemas.common import ErrorResponse

API_PREFIX = "/api/v1"
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """What runs beside the requests while the app serves (not for an app only built, as tests build
    them): this replica's share of the scheduled drift checks."""
    drift = DriftScheduler(app.state.engine, app.state.settings, app.state.lake, app.state.jobs).start()
    yield
    await asyncio.to_thread(drift.stop)
    # A graceful stop (Serve's replica shutdown runs this) appends the predictions still buffered.
    await asyncio.to_thread(app.state.capture.close)


def create_app(settings: Settings, models: Any | None = None, dedicated: Any | None = None) -> FastAPI:
    """``models`` is the shared model pool's Serve handle and ``dedicated`` builds a version's own Serve
    application (both None outside Serve: inference answers 503)."""
    app = FastAPI(
        title="raylake",
        version=__version__,
        description="Multi-tenant ML platform on Ray: templates, datasets, training, inference.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.sqlalchemy_url)
    app.state.jobs = RayJobs.from_settings(settings)
    app.state.lake = lake.open_lake(settings)
    app.state.gateway = ServeGateway(settings, models, dedicated)
    app.state.prediction_log = PredictionLog(app.state.engine, settings.prediction_log_flush_s)
    app.state.capture = CaptureBuffer(
        app.state.lake,
        app.state.engine,
        flush_s=settings.capture_flush_s,
        max_rows=settings.capture_max_rows,
        compact_s=settings.capture_compact_s,
    )
    # The events feed: WebSockets polled from the outbox (started by the first), webhooks sent by a thread.
    app.state.feed = Feed(app.state.engine)
    app.state.webhooks = Dispatcher(app.state.engine, settings).start()

    standby.refill_in_background(app.state.engine, app.state.jobs, settings)
    app.state.principals = PrincipalCache(settings.auth_cache_s)
    app.state.servables = ServableCache(settings.inference_cache_s)

    api = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    # Requests are matched against routes in order (a regex per route; profiled at a quarter of the API
    # replica's CPU per prediction): the real-time prediction route, the hot path, is tried first.
    api.include_router(inference_router)
    # Before any models router: /models/recommend and /models/factory must match ahead of /models/{id}.
    api.include_router(recommend_router)
    api.include_router(factory_router)
    # Next the registry, whose version infer is the other prediction route: before the rest of the API.
    api.include_router(registry_router)
    api.include_router(deployments_router)
    api.include_router(artifacts_router)
    api.include_router(drift_router)
    api.include_router(monitoring_router)
    for router in (auth_router, users_router, tenants_router, rbac_router, apikeys_router):
        api.include_router(router, dependencies=[ForgetPrincipals])
    for router in (
        utils_router,
        templates_router,
        datasets_router,
        files_router,
        datalake_router,
        training_router,
        ray_jobs_router,
        events_router,
    ):
        api.include_router(router)
    app.include_router(api)
    # The other reference documents, each at its own fixed prefix (outside /api/v1).
    for compat in (v3api.router, mlconnector.router, plexe.router):
        app.include_router(compat, responses=ERROR_RESPONSES)
    register_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_json_bytes=settings.max_json_kb * 1024,
        max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
    )
    app.add_middleware(LiteralPathMethods, routes=app.routes)
    # Added last, so outermost: a request a client abandons still ends its own transaction (completion.py).
    app.add_middleware(RunToCompletion)
    return app
