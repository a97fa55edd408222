"""The domain error hierarchy. Services raise these; ``register_error_handlers`` maps them to HTTP once.

Every error body has the same shape, ``{"error": "<Kind>", "detail": "..."}``, so clients (and our own
tests) can rebuild the exception from the response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jobs raise these errors too: they need not import the web framework
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError

log = logging.getLogger(__name__)


class RaylakeError(Exception):
    """Base of every domain error.

    ``keep_changes`` marks the few failures whose side effects must persist even though the request
    fails: a counted failed login, a token family revoked on re-use. The session boundary commits them.
    """

    status_code = 500

    def __init__(
        self, detail: str, *, headers: dict[str, str] | None = None, keep_changes: bool = False
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.keep_changes = keep_changes


class BadRequest(RaylakeError):
    status_code = 400


class Unauthorized(RaylakeError):
    status_code = 401

    def __init__(self, detail: str = "Could not validate credentials", *, keep_changes: bool = False) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, keep_changes=keep_changes)


class Forbidden(RaylakeError):
    status_code = 403


class NotFound(RaylakeError):
    status_code = 404


class Conflict(RaylakeError):
    status_code = 409


class PayloadTooLarge(RaylakeError):
    status_code = 413


class Invalid(RaylakeError):
    status_code = 422


class TooManyRequests(RaylakeError):
    status_code = 429


class ServiceUnavailable(RaylakeError):
    status_code = 503


STORE_RETRY_AFTER_S = 2
# What the drivers say when the store is busy or out of reach for a while (SQLite, psycopg).
_TRANSIENT = (
    "database is locked",
    "database table is locked",
    "could not connect",
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "connection timed out",
    "timeout expired",
    "too many clients",
    "the database system is starting up",
    "the database system is shutting down",
)


def store_unavailable(exc: Any) -> bool:
    """Whether a driver's OperationalError says the store is busy or unreachable (worth a retry)."""
    if getattr(exc, "connection_invalidated", False):
        return True
    message = str(getattr(exc, "orig", exc)).lower()
    return any(text in message for text in _TRANSIENT)


_HTTP_KIND = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}


def error_body(kind: str, detail: Any) -> dict[str, Any]:
    """The JSON body of an error answer: ``{"error": kind, "detail": detail}``."""
    return {"error": kind, "detail": detail}


# (status, kind, detail, field errors or None) -> the body: another reference document's error shape.
ErrorShape = Callable[[int, str, Any, list[dict[str, Any]] | None], dict[str, Any]]
_SHAPES: list[tuple[str, ErrorShape]] = []


def error_shape(prefix: str, shape: ErrorShape) -> None:
    """Answer errors under a path prefix in another shape (a compat adapter's document's own)."""
    _SHAPES.append((prefix.rstrip("/") + "/", shape))


def _shaped(
    path: str, status: int, kind: str, detail: Any, fields: list[dict[str, Any]] | None = None
) -> Any:
    """The error body for a request's path: raylake's, or the shape registered for its prefix."""
    for prefix, shape in _SHAPES:
        if path.startswith(prefix):
            return shape(status, kind, detail, fields)
    body = error_body(kind, detail)
    if fields is not None:
        body["errors"] = fields
    return body


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Validation errors naming the field, without echoing input values (they may be passwords)."""
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        out.append({"field": ".".join(loc[1:]) or ".".join(loc), "loc": loc, "msg": err.get("msg", "")})
    return out


def register_error_handlers(app: FastAPI) -> None:
    """Every error in the error body: domain, validation and HTTP errors, a busy store (503), others (500)."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from sqlalchemy.exc import OperationalError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(RaylakeError)
    async def _domain(request: Request, exc: RaylakeError) -> JSONResponse:
        body = _shaped(request.url.path, exc.status_code, type(exc).__name__, exc.detail)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _field_errors(exc)
        named = ", ".join(sorted({f["field"] for f in fields}))
        body = _shaped(request.url.path, 422, "Invalid", f"Invalid request: {named}", fields)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _HTTP_KIND.get(exc.status_code, "HTTPError")
        body = _shaped(request.url.path, exc.status_code, kind, exc.detail)
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    async def _store_busy(request: Request, exc: OperationalError) -> JSONResponse:
        # SQLite's write lock held past the busy timeout, or a database server that does not answer:
        # nothing was written (the session rolled back), and the same request may succeed shortly.
        # Anything else (a missing table, a bad statement) is a bug, not a reason to retry.
        if not store_unavailable(exc):
            return await _unexpected(request, exc)
        log.warning("metadata store unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        body = error_body("ServiceUnavailable", "The metadata store is busy or unreachable; retry shortly")
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(STORE_RETRY_AFTER_S)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("InternalError", "Internal server error"), status_code=500)
