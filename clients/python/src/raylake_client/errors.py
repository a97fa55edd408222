"""The API's errors as exceptions: the server answers ``{"error": kind, "detail": ...}``; each status (and
kind) has its class, carrying the server's message, so callers catch ``NotFound`` rather than read codes."""

from __future__ import annotations

from typing import Any

import httpx


class RaylakeError(Exception):
    """Base of every error the client raises for an answer of the API (or for a run that failed)."""

    status_code: int = 0

    def __init__(
        self, detail: str, *, status_code: int | None = None, kind: str | None = None, body: Any = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        self.kind = kind or type(self).__name__
        self.body = body

    def __str__(self) -> str:
        return f"{self.status_code} {self.kind}: {self.detail}" if self.status_code else self.detail


class BadRequest(RaylakeError):
    status_code = 400


class Unauthorized(RaylakeError):
    status_code = 401


class Forbidden(RaylakeError):
    status_code = 403


class NotFound(RaylakeError):
    status_code = 404


class Conflict(RaylakeError):
    status_code = 409


class PayloadTooLarge(RaylakeError):
    status_code = 413


class Invalid(RaylakeError):
    """A 422: the request broke a rule; ``errors`` names the fields when the body's shape was wrong."""

    status_code = 422

    @property
    def errors(self) -> list[dict[str, Any]]:
        found = self.body.get("errors") if isinstance(self.body, dict) else None
        return list(found) if isinstance(found, list) else []


class TooManyRequests(RaylakeError):
    status_code = 429


class ServiceUnavailable(RaylakeError):
    status_code = 503


class ServerError(RaylakeError):
    """A 5xx other than 503: a fault on the server's side."""

    status_code = 500


class RunFailed(RaylakeError):
    """A job (training, batch, SHAP) ended ``failed`` or ``cancelled``; the message is the server's reason."""

    def __init__(self, detail: str, *, status: str, job: Any = None) -> None:
        super().__init__(detail, kind="RunFailed")
        self.status = status
        self.job = job


BY_STATUS: dict[int, type[RaylakeError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        Invalid,
        TooManyRequests,
        ServiceUnavailable,
    )
}


def _message(detail: Any) -> str:
    """The server's ``detail`` as one line: a string as is, anything else (a list of field errors) as JSON."""
    if isinstance(detail, str):
        return detail
    import json

    return json.dumps(detail, default=str)


def from_response(response: httpx.Response) -> RaylakeError:
    """The exception for an error answer, of the class of its status, with the server's message."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        detail, kind = _message(body["detail"]), body.get("error")
    else:
        detail, kind = (response.text.strip() or response.reason_phrase), None
    status = response.status_code
    cls = BY_STATUS.get(status) or (ServerError if status >= 500 else RaylakeError)
    return cls(detail, status_code=status, kind=kind if isinstance(kind, str) else None, body=body)
