"""Verified callers, remembered per access token for a few seconds in each API replica.

Verifying a token costs a signature check and two queries (live session, user, tenant, permissions); a
client calling the prediction endpoint hundreds of times a second would spend most of the API's CPU
on it. So each replica keeps the verified ``Principal`` for ``RAYLAKE_AUTH_CACHE_S`` (0 turns it off).

What that costs: a logout, a password reset, a deactivated user or tenant, or a changed role takes
effect at once on the replica that handled the change (every write through the auth, users, tenants
and RBAC routers clears its cache) and within ``RAYLAKE_AUTH_CACHE_S`` on the other API replicas. A
token's own expiry is still checked on every request.
"""

from __future__ import annotations

import threading
import time

from raylake.platform.tenancy import Principal

MAX_ENTRIES = 10_000


class PrincipalCache:
    def __init__(self, ttl_s: float) -> None:
        self._ttl = ttl_s
        self._entries: dict[str, tuple[float, float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        """The principal cached for this token while fresh; None when absent, expired or caching is off."""
        if self._ttl <= 0:
            return None
        entry = self._entries.get(token)
        if entry is None:
            return None
        cached_until, expires_at, principal = entry
        now = time.monotonic()
        if now >= cached_until or time.time() >= expires_at:
            self._entries.pop(token, None)
            return None
        return principal

    def put(self, token: str, principal: Principal, expires_at: float) -> None:
        """``expires_at``: the token's own expiry (epoch seconds), never outlived by the entry."""
        if self._ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[token] = (time.monotonic() + self._ttl, expires_at, principal)

    def clear(self) -> None:
        """Forget every cached principal (roles or users changed)."""
        with self._lock:
            self._entries.clear()
