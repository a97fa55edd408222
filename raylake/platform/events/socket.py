"""A WebSocket on the events feed: authenticated without the token in the URL (the first message
``{"token": ...}``, or the subprotocols ``["bearer", <token>]``), then sent its tenant's events until
it disconnects or its token expires. A socket without a valid token is closed with 1008.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from raylake.platform.auth import service as auth
from raylake.platform.db import session_scope
from raylake.platform.errors import RaylakeError
from raylake.platform.events.feed import Feed, Subscriber

AUTH_TIMEOUT_S = 5.0
SUBPROTOCOL = "bearer"
PERMISSION = "train:read"
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
INTERNAL_ERROR = 1011

log = logging.getLogger(__name__)


def offered_token(subprotocols: list[str]) -> str | None:
    """The token a client offered as subprotocols ``bearer, <token>`` (None when it did not)."""
    if len(subprotocols) == 2 and subprotocols[0] == SUBPROTOCOL and subprotocols[1]:
        return subprotocols[1]
    return None


async def first_message_token(websocket: WebSocket, timeout_s: float) -> str | None:
    """The token of the client's first message ``{"token": ...}``, if it comes within ``timeout_s``."""
    try:
        message = await asyncio.wait_for(websocket.receive_text(), timeout_s)
        token = json.loads(message).get("token")
    except (TimeoutError, WebSocketDisconnect, KeyError, ValueError, AttributeError, RuntimeError):
        return None
    return token if isinstance(token, str) and token else None


def _verify(websocket: WebSocket, token: str) -> auth.Authenticated | None:
    state = websocket.app.state
    try:
        with session_scope(state.engine) as session:
            return auth.authenticate(session=session, settings=state.settings, token=token)
    except RaylakeError:
        return None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # the client went first
            await websocket.close(code=code, reason=reason)


async def _relay(websocket: WebSocket, subscriber: Subscriber, expires_at: float) -> None:
    async def send_events() -> None:
        """Forward the subscriber's events; close (try again later) when the client fell too far behind."""
        while True:
            body = await subscriber.queue.get()
            if body is None:
                await _close(websocket, TRY_AGAIN_LATER, "Too far behind: reconnect")
                return
            await websocket.send_json(body)

    async def until_disconnected() -> None:
        """Wait for the client to go away, ignoring anything it sends."""
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # clients have nothing to say after authenticating

    tasks: set[asyncio.Task[Any]] = {
        asyncio.create_task(send_events()),
        asyncio.create_task(until_disconnected()),
    }
    done, pending = await asyncio.wait(
        tasks, timeout=max(expires_at - time.time(), 0.0), return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if not done:
        await _close(websocket, POLICY_VIOLATION, "Token expired")
    for task in done:
        error = None if task.cancelled() else task.exception()
        if error is not None and not isinstance(error, WebSocketDisconnect):
            log.warning("events socket ended: %s", error)
            await _close(websocket, INTERNAL_ERROR, "Internal error")


async def serve(websocket: WebSocket, feed: Feed) -> None:
    """Authenticate a socket and send it its tenant's events (needs ``train:read``)."""
    token = offered_token(list(websocket.scope.get("subprotocols") or []))
    if token is not None:
        await websocket.accept(subprotocol=SUBPROTOCOL)
    else:
        await websocket.accept()
        token = await first_message_token(websocket, AUTH_TIMEOUT_S)
    verified = await asyncio.to_thread(_verify, websocket, token) if token else None
    if verified is None:
        await _close(websocket, POLICY_VIOLATION, "Not authenticated")
        return
    principal = verified.principal
    if not principal.can(PERMISSION):
        await _close(websocket, POLICY_VIOLATION, f"Missing permission: {PERMISSION}")
        return
    subscriber = await feed.subscribe(principal.tenant_id)
    try:
        await websocket.send_json({"type": "subscribed", "tenant_id": principal.tenant_id})
        await _relay(websocket, subscriber, float(verified.claims["exp"]))
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away
    finally:
        feed.unsubscribe(subscriber)
