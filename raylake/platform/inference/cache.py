"""Described models, remembered for a few seconds per API replica, so a real-time call needs no query.

A prediction's checks need the run (tenant, status, columns, preprocessing), its predictor and its
dedicated deployment: three queries, more CPU than the prediction itself. Each API replica keeps the
``Servable`` for ``RAYLAKE_INFERENCE_CACHE_S`` (0 turns it off), keyed by who may see it (tenant, or
superuser) and the train id (or a registry model's version or alias). Only servable models are kept:
an unfinished run is asked about again.

Deleting a run, switching its preprocessing or (un)deploying it clears this replica's cache at once;
another API replica notices within ``RAYLAKE_INFERENCE_CACHE_S`` (its model replica refuses a
deleted model's artifacts sooner or later either way, see ``loading.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from starlette.concurrency import run_in_threadpool

from raylake.platform.inference.service import Servable
from raylake.platform.tenancy import Principal

MAX_ENTRIES = 10_000


class ServableCache:
    def __init__(self, ttl_s: float) -> None:
        self._ttl = ttl_s
        self._entries: dict[tuple[str, bool, Hashable], tuple[float, Servable]] = {}
        self._lock = threading.Lock()

    async def resolve(
        self, principal: Principal, name: Hashable, describe: Callable[[], Servable]
    ) -> Servable:
        """The cached description, or ``describe()`` run in a worker thread (it queries the store).
        ``name`` is a train id, or ``(model id, version)`` for the registry's versions and aliases."""
        key = (principal.tenant_id, principal.is_superuser, name)
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() < entry[0]:
            return entry[1]
        servable = await run_in_threadpool(describe)
        if self._ttl > 0:
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = (time.monotonic() + self._ttl, servable)
        return servable

    def clear(self) -> None:
        """Forget every cached model description (models changed)."""
        with self._lock:
            self._entries.clear()
