"""FastAPI dependencies shared by every router: the session boundary and the permission check.

Every route declares exactly one ``Allow``: a catalogue permission, ``Allow.authenticated()``,
``Allow.public()`` or ``Allow.job_callback()`` (a Ray job reporting with its
per-job token). A test walks the app's routes and fails on any route that declares none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from raylake.core.vocabulary import MAX_ID
from raylake.platform import callbacks
from raylake.platform.auth import service as auth
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.errors import Forbidden, Unauthorized
from raylake.platform.jobs import RayJobs
from raylake.platform.lake import Lake
from raylake.platform.rbac.catalogue import PERMISSIONS
from raylake.platform.tenancy import Principal

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/login/access-token", auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (rlk_…)")
# Dependencies that only read app state are ``async def``: FastAPI runs a sync dependency in a worker
# thread, and on the prediction hot path each such hop costs more CPU than the work it wraps.


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    return request.app.state.engine


async def get_jobs(request: Request) -> RayJobs:
    """The app's Ray jobs client."""
    return request.app.state.jobs


async def get_lake(request: Request) -> Lake:
    """The app's lake: the Iceberg catalogue and the file store."""
    return request.app.state.lake


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """A session for the request: committed before the response is sent, rolled back when the route raises."""
    with session_scope(engine) as session:
        yield session


# scope="function": commit before the response is sent, so a client's next request sees the write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
LakeDep = Annotated[Lake, Depends(get_lake)]
JobsDep = Annotated[RayJobs, Depends(get_jobs)]


async def _credential(
    bearer: Annotated[str | None, Depends(_bearer)], api_key: Annotated[str | None, Depends(_api_key)]
) -> str | None:
    """The caller's credential: a bearer access token or API key, else an ``X-API-Key`` header."""
    return bearer or api_key


BearerDep = Annotated[str | None, Depends(_credential)]


async def callback_token(
    token: Annotated[str | None, Header(alias=callbacks.HEADER, include_in_schema=False)] = None,
) -> str | None:
    """The ``X-Callback-Token`` a Ray job presents when it reports, if any."""
    return token


CallbackTokenDep = Annotated[str | None, Depends(callback_token)]
# Row ids fit a 32-bit INTEGER on every backend (core's MAX_ID): a larger one is a 422, not a driver overflow.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
# Paging, the same on every list route: an offset past any row id or a page over MAX_PAGE is a 422
# (an unbounded skip reached the driver as a 64-bit overflow, a 500).
MAX_PAGE = 1000
DEFAULT_PAGE = 100
Skip = Annotated[int, Query(ge=0, le=MAX_ID, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"rows to return (at most {MAX_PAGE})")]


@dataclass(frozen=True)
class Page:
    """Which slice of a list a request asks for."""

    skip: int
    limit: int


async def page_params(skip: Skip = 0, limit: Limit = DEFAULT_PAGE) -> Page:
    """The ``skip`` and ``limit`` query parameters of a list route."""
    return Page(skip=skip, limit=limit)


PageDep = Annotated[Page, Depends(page_params)]
# Lists the reference answers as a bare JSON array say their total in this header instead of a field.
TOTAL_COUNT = "X-Total-Count"
TOTAL_HEADER: dict[int | str, dict] = {
    200: {"headers": {TOTAL_COUNT: {"description": "items in the whole list", "schema": {"type": "integer"}}}}
}


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def client_address(request: Request) -> str:
    """The caller's address as our own ingress saw it; a client's X-Forwarded-For is never believed.

    Behind Serve's HAProxy (``serve_ingress="haproxy"``) every request comes from the loopback proxy,
    which appends the real peer as the last X-Forwarded-For hop (``option forwardfor``, ray_env.py);
    only that hop counts. Through Serve's own proxy, and from any other peer, it is the peer itself:
    uvicorn is told to trust no forwarding header (``FORWARDED_ALLOW_IPS``, ray_env.py).
    """
    peer = request.client.host if request.client else "unknown"
    if request.app.state.settings.serve_ingress == "haproxy" and _is_loopback(peer):
        hops = [
            hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")
        ]
        if hops and hops[-1]:
            return hops[-1]
    return peer


def _verify(request: Request, token: str) -> auth.Authenticated:
    with session_scope(request.app.state.engine) as session:
        return auth.authenticate(session=session, settings=request.app.state.settings, token=token)


async def current_principal(request: Request, token: str) -> Principal:
    """The verified caller: from this replica's short-lived cache, else checked against the store
    (in a worker thread: the check queries the database)."""
    cache = request.app.state.principals
    principal = cache.get(token)
    if principal is None:
        verified = await run_in_threadpool(_verify, request, token)
        principal = verified.principal
        cache.put(token, principal, float(verified.claims["exp"]))
    return principal


async def forget_principals(request: Request) -> AsyncIterator[None]:
    """On the routers that change who may do what (auth, users, tenants, RBAC): after every write,
    clear this replica's cache of verified callers, before the response is sent."""
    yield
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        request.app.state.principals.clear()


ForgetPrincipals = Depends(forget_principals, scope="function")


async def forget_servables(request: Request) -> AsyncIterator[None]:
    """On the routes that change what a model id serves (delete, switch preprocessing, deploy): clear
    this replica's cache of described models (``inference/cache.py``) before the response is sent."""
    yield
    request.app.state.servables.clear()


ForgetServables = Depends(forget_servables, scope="function")


class Allow:
    """A route's permission requirement, resolved to the calling ``Principal`` (403 when missing).

    Only this base class depends on the bearer token, so OpenAPI lists a security requirement on the
    routes that need one and none on public or job-callback routes.
    """

    def __init__(self, permission: str | None, *, public: bool = False, callback: bool = False) -> None:
        if permission is not None and permission not in PERMISSIONS and permission != "superuser":
            raise ValueError(f"unknown permission {permission!r}")
        self.permission = permission
        self.public = public
        self.callback = callback

    @classmethod
    def authenticated(cls) -> Allow:
        """Any signed-in caller, whatever their permissions."""
        return cls(None)

    @classmethod
    def public_route(cls) -> Allow:
        """No caller needed (login, refresh, the health check)."""
        return _PublicRoute(None, public=True)

    @classmethod
    def job_callback(cls) -> Allow:
        """No user: the service checks the ``X-Callback-Token`` against the one row it reports for."""
        return _JobCallback(None, callback=True)

    async def __call__(self, request: Request, token: BearerDep) -> Principal | None:
        if not token:
            raise Unauthorized("Not authenticated")
        principal = await current_principal(request, token)
        if self.permission == "superuser":
            if not principal.is_superuser:
                raise Forbidden("Superuser only")
        elif self.permission is not None:
            principal.require(self.permission)
        return principal


class _PublicRoute(Allow):
    async def __call__(self) -> None:  # type: ignore[override]
        return None


class _JobCallback(Allow):
    async def __call__(self, callback_token: CallbackTokenDep) -> None:  # type: ignore[override]
        if not callback_token:
            raise Unauthorized("Callback token required")


Authenticated = Annotated[Principal, Depends(Allow.authenticated())]
JobCallback = Depends(Allow.job_callback())
Superuser = Annotated[Principal, Depends(Allow("superuser"))]
Public = Depends(Allow.public_route())
# One route-signature alias per catalogue permission (rbac/catalogue.py PERMISSIONS).
UserRead = Annotated[Principal, Depends(Allow("user:read"))]
UserAdmin = Annotated[Principal, Depends(Allow("user:admin"))]
RbacRead = Annotated[Principal, Depends(Allow("rbac:read"))]
RbacAdmin = Annotated[Principal, Depends(Allow("rbac:admin"))]
TemplateRead = Annotated[Principal, Depends(Allow("template:read"))]
TemplateWrite = Annotated[Principal, Depends(Allow("template:write"))]
DatasetRead = Annotated[Principal, Depends(Allow("dataset:read"))]
DatasetWrite = Annotated[Principal, Depends(Allow("dataset:write"))]
DatalakeRead = Annotated[Principal, Depends(Allow("datalake:read"))]
TrainRead = Annotated[Principal, Depends(Allow("train:read"))]
TrainRun = Annotated[Principal, Depends(Allow("train:run"))]
InferenceRead = Annotated[Principal, Depends(Allow("inference:read"))]
InferenceRun = Annotated[Principal, Depends(Allow("inference:run"))]
JobAdmin = Annotated[Principal, Depends(Allow("job:admin"))]
