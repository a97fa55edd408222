"""The per-replica caches of the prediction hot path: verified callers and described models."""

from __future__ import annotations

import asyncio
import time

from raylake.platform.auth.principals import PrincipalCache
from raylake.platform.inference.cache import ServableCache
from raylake.platform.tenancy import Principal


def principal(tenant: str = "t1", superuser: bool = False) -> Principal:
    return Principal(
        user_id=1,
        username="u",
        tenant_id=tenant,
        is_superuser=superuser,
        permissions=frozenset({"inference:run"}),
        session_id="s",
    )


def test_principal_cache_expires_with_its_ttl_and_never_outlives_the_token():
    cache = PrincipalCache(ttl_s=0.2)
    cache.put("a", principal(), expires_at=time.time() + 60)
    cache.put("b", principal(), expires_at=time.time() - 1)  # the token itself already expired
    assert cache.get("a") is not None and cache.get("b") is None
    time.sleep(0.25)
    assert cache.get("a") is None
    cache.put("c", principal(), expires_at=time.time() + 60)
    cache.clear()
    assert cache.get("c") is None
    off = PrincipalCache(ttl_s=0)
    off.put("a", principal(), expires_at=time.time() + 60)
    assert off.get("a") is None


def test_servable_cache_keys_by_visibility_and_clears():
    cache = ServableCache(ttl_s=60)
    calls: list[str] = []

    def describe(tag: str):
        def run():
            calls.append(tag)
            return tag

        return run

    async def scenario() -> list:
        return [
            await cache.resolve(principal("t1"), 7, describe("t1")),
            await cache.resolve(principal("t1"), 7, describe("again")),  # cached
            await cache.resolve(principal("t2"), 7, describe("t2")),  # another tenant: its own entry
            await cache.resolve(principal("t1", superuser=True), 7, describe("su")),
        ]

    assert asyncio.run(scenario()) == ["t1", "t1", "t2", "su"] and calls == ["t1", "t2", "su"]
    cache.clear()
    assert asyncio.run(cache.resolve(principal("t1"), 7, describe("fresh"))) == "fresh"
