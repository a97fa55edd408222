"""raylake's Python client: ``Client(url, api_key=...)`` or ``Client(url, username=..., password=...)``."""

from raylake_client._http import Tokens
from raylake_client.client import Client
from raylake_client.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RaylakeError,
    RunFailed,
    ServerError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from raylake_client.models import Event, Model, Page, RunInfo, UploadReport
from raylake_client.training import Run

__all__ = [
    "BadRequest",
    "Client",
    "Conflict",
    "Event",
    "Forbidden",
    "Invalid",
    "Model",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "RaylakeError",
    "Run",
    "RunFailed",
    "RunInfo",
    "ServerError",
    "ServiceUnavailable",
    "Tokens",
    "TooManyRequests",
    "Unauthorized",
    "UploadReport",
]
