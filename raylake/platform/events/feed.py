"""The live feed of one API replica: a pump that polls the outbox and hands each new event to this
replica's WebSockets of the event's tenant.

Every replica reads the same table, so a client connected anywhere sees every replica's events. The
pump runs on the replica's event loop while at least one socket listens (started by the first), and
queries the store in a worker thread. A socket receives the events numbered above the newest one the
pump knew when it subscribed.

PostgreSQL numbers rows when they are inserted, not when they commit: an event can become visible
after a higher-numbered one. So the pump remembers what it sent above the highest id below which it
has seen everything (its cursor), and waits ``GAP_S`` for a missing id before taking it for a rolled
back transaction's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from raylake.platform.db import session_scope
from raylake.platform.events import service

log = logging.getLogger(__name__)

POLL_S = 0.25
GAP_S = 5.0
QUEUE_SIZE = 1000


@dataclass(eq=False)
class Subscriber:
    """One socket's share of the feed: its tenant, where it starts, and its queue of event bodies (a
    None in it says the socket fell ``QUEUE_SIZE`` events behind and is closed)."""

    tenant_id: str
    after: int
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def offer(self, body: dict[str, Any]) -> None:
        """Queue an event for the socket, unless it is too far behind to catch up."""
        if self.overflowed:
            return
        if self.queue.qsize() >= QUEUE_SIZE:
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(body)


class Feed:
    """This replica's subscribers by tenant, and the pump that fills their queues."""

    def __init__(self, engine: Engine, *, poll_s: float = POLL_S) -> None:
        self.engine = engine
        self.poll_s = poll_s
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._task: asyncio.Task[None] | None = None
        self._cursor = 0  # every event up to here was seen (or given up on)
        self._sent: set[int] = set()  # ids above the cursor already handed out
        self._high = 0  # the highest id handed out
        self._gaps: dict[int, float] = {}  # a missing id above the cursor -> when it was first missed

    def _read(self, after: int) -> list[dict[str, Any]]:
        with session_scope(self.engine) as session:
            return [service.body(e) for e in service.events_after(session, after=after)]

    def _latest(self) -> int:
        with session_scope(self.engine) as session:
            return service.latest_event_id(session)

    @property
    def running(self) -> bool:
        """Whether the pump that reads new events is running."""
        return self._task is not None and not self._task.done()

    async def subscribe(self, tenant_id: str) -> Subscriber:
        """Listen to a tenant's events from now on (starts the pump when it is not running)."""
        if not self.running:
            latest = await asyncio.to_thread(self._latest)
            if not self.running:  # nobody started it while the store was asked
                self._cursor = self._high = latest
                self._sent.clear()
                self._gaps.clear()
                self._task = asyncio.get_running_loop().create_task(self._pump(), name="raylake-events")
        subscriber = Subscriber(tenant_id=tenant_id, after=self._high)
        self._subscribers.setdefault(tenant_id, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop sending events to a subscriber (its socket closed)."""
        listeners = self._subscribers.get(subscriber.tenant_id)
        if listeners is not None:
            listeners.discard(subscriber)
            if not listeners:
                del self._subscribers[subscriber.tenant_id]

    async def _pump(self) -> None:
        while self._subscribers:
            try:
                bodies = await asyncio.to_thread(self._read, self._cursor)
            except Exception:  # the store is busy or unreachable: the next poll tries again
                log.exception("events feed poll failed")
                bodies = []
            self._fan_out(bodies)
            await asyncio.sleep(self.poll_s)

    def _fan_out(self, bodies: list[dict[str, Any]]) -> None:
        for body in bodies:
            event_id = int(body["id"])
            if event_id in self._sent:
                continue
            self._sent.add(event_id)
            self._high = max(self._high, event_id)
            for subscriber in self._subscribers.get(body["tenant_id"], ()):
                if event_id > subscriber.after:
                    subscriber.offer(body)
        self._advance()

    def _advance(self) -> None:
        """Move the cursor over the ids handed out, and over gaps older than ``GAP_S``."""
        now = time.monotonic()
        while self._sent:
            following = self._cursor + 1
            if following in self._sent:
                self._sent.discard(following)
                self._gaps.pop(following, None)
            elif now - self._gaps.setdefault(following, now) >= GAP_S:
                self._gaps.pop(following)
            else:
                break
            self._cursor = following
