"""The tenant's live events over the WebSocket ``/api/v1/events/ws``, and the catch-up list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed, ConnectionClosedOK
from websockets.sync.client import ClientConnection, connect

from raylake_client.errors import Forbidden, RaylakeError, Unauthorized
from raylake_client.models import Event

if TYPE_CHECKING:
    from raylake_client.client import Client

POLICY_VIOLATION = 1008


class EventStream:
    """An open events socket: iterate it for ``Event``s (blocking); ``timeout`` bounds each wait, after
    which iteration raises ``TimeoutError``. Use as a context manager, or ``close()`` it."""

    def __init__(self, client: Client, *, timeout: float | None = None, open_timeout: float = 30) -> None:
        url = client.http.url.replace("http", "ws", 1) + "/api/v1/events/ws"
        self.timeout = timeout
        self._ws: ClientConnection = connect(url, open_timeout=open_timeout, max_size=2**24)
        # The token goes in the first message, never in the URL (URLs end up in logs).
        self._ws.send(json.dumps({"token": client.http.bearer()}))
        first = self._receive(open_timeout)
        if first.get("type") != "subscribed":
            self.close()
            raise RaylakeError(f"unexpected first message on the events socket: {first}")
        self.tenant_id: str = str(first.get("tenant_id"))

    def _receive(self, timeout: float | None) -> dict[str, Any]:
        try:
            message = self._ws.recv(timeout=timeout)
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == POLICY_VIOLATION:
                reason = exc.rcvd.reason or "not authenticated"
                cls = Forbidden if reason.startswith("Missing permission") else Unauthorized
                raise cls(f"events socket closed: {reason}", status_code=cls.status_code) from None
            raise
        body = json.loads(message)
        if not isinstance(body, dict):
            raise RaylakeError(f"unexpected message on the events socket: {body!r}")
        return body

    def __iter__(self) -> Iterator[Event]:
        while True:
            try:
                body = self._receive(self.timeout)
            except ConnectionClosedOK:
                return
            yield Event.model_validate(body)

    def next(self, timeout: float | None = None) -> Event:
        """The next event, waiting at most ``timeout`` seconds (``TimeoutError`` after)."""
        return Event.model_validate(self._receive(timeout if timeout is not None else self.timeout))

    def close(self) -> None:
        self._ws.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Events:
    """``client.events``: ``stream()`` follows events live; ``since(id)`` lists the ones already sent."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def stream(self, *, timeout: float | None = None) -> EventStream:
        """An open socket on the tenant's events (needs ``train:read``)."""
        return EventStream(self._client, timeout=timeout)

    def __iter__(self) -> Iterator[Event]:
        with self.stream() as stream:
            yield from stream

    def since(self, after: int = 0, *, limit: int = 100) -> Iterator[Event]:
        """The tenant's events numbered above ``after``, oldest first, a page at a time."""
        while True:
            body = self._client.http.json("GET", "/events", params={"after": after, "limit": limit})
            if not body["items"]:
                return
            yield from (Event.model_validate(e) for e in body["items"])
            after = int(body["next_after"])
