"""Tokens that let a Ray job report back to exactly one row, and nothing else.

Each submitted job gets a fresh random secret in its environment; only its SHA-256 is stored, on the
row the job reports for. A job started by hand (``ray job submit`` from a notebook) has no such
secret: it derives the row's internal token, an HMAC of the row under the platform's secret key,
which only processes holding that key (the cluster's jobs) can compute. Either token is bound to one
kind of row and one id, so a token for run 7 cannot post results for run 8 or another tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from raylake.platform.config import Settings
from raylake.platform.errors import Unauthorized

HEADER = "X-Callback-Token"
ENV_VAR = "RAYLAKE_CALLBACK_TOKEN"


def new_secret() -> tuple[str, str]:
    """A secret for one job and the hash stored on its row."""
    secret = secrets.token_urlsafe(32)
    return secret, digest(secret)


def digest(secret: str) -> str:
    """The SHA-256 hex digest a job row stores in place of its secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def internal_token(settings: Settings, kind: str, row_id: int | str) -> str:
    """The callback token the platform itself may present for a row, derived from the secret key."""
    message = f"raylake-callback:{kind}:{row_id}".encode()
    return hmac.new(settings.secret().encode(), message, hashlib.sha256).hexdigest()


def verify(settings: Settings, *, kind: str, row_id: int, stored_hash: str, presented: str | None) -> None:
    """401 unless ``presented`` is this row's job secret or its internal token."""
    if not presented:
        raise Unauthorized("Callback token required")
    ok_secret = bool(stored_hash) and hmac.compare_digest(digest(presented), stored_hash)
    ok_internal = hmac.compare_digest(presented, internal_token(settings, kind, row_id))
    if not (ok_secret or ok_internal):
        raise Unauthorized("Invalid callback token")
