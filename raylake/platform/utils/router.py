"""Utilities: the health check load balancers and `make run` poll."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from raylake.platform.db import ping
from raylake.platform.deps import Public
from raylake.schemas.utils import Health

router = APIRouter(prefix="/utils", tags=["utils"])


@router.get(
    "/health-check/",
    response_model=Health,
    dependencies=[Public],
    responses={503: {"model": Health, "description": "The database or Ray does not answer"}},
)
def health_check(request: Request) -> JSONResponse:
    """Whether the service, its database and Ray answer: 200 when all do, 503 naming the one that does not."""
    try:
        ping(request.app.state.engine)
        database = "ok"
    except Exception:
        database = "unavailable"
    ray = "ok" if request.app.state.jobs.ping() else "unavailable"
    healthy = database == "ok" and ray == "ok"
    body = Health(
        status="ok" if healthy else "unavailable",
        message="Service is healthy." if healthy else "A dependency is not answering.",
        database=database,
        ray=ray,
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
