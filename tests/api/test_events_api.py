"""The events feed through the Serve-hosted API: a real WebSocket gets its own tenant's events, written
by another process through the outbox; a bad token is closed 1008."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from raylake.core.vocabulary import EventType
from raylake.platform.db import session_scope
from raylake.platform.events import service
from tests.api.conftest import once_per_session

pytestmark = pytest.mark.ray


def _emit(api, tenant_id: str, type: EventType, **data) -> int:
    with session_scope(api.engine) as session:
        event = service.emit(session, tenant_id=tenant_id, type=type, payload=data)
    assert event.id is not None
    return event.id


def test_the_events_socket_through_serve(api):
    once_per_session(api)
    mine, theirs = api.new_tenant(), api.new_tenant()
    _, headers = api.new_user(mine, ["viewer"])
    token = headers["Authorization"].removeprefix("Bearer ")
    url = str(api.client.base_url).replace("http", "ws", 1).rstrip("/") + "/api/v1/events/ws"

    async def next_message(ws) -> dict:
        return json.loads(await asyncio.wait_for(ws.recv(), 20))

    async def run() -> None:
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"token": token}))
            assert await next_message(ws) == {"type": "subscribed", "tenant_id": mine}
            _emit(api, theirs, EventType.RUN_COMPLETED, train_id=1)
            event_id = _emit(api, mine, EventType.RUN_FAILED, train_id=2, error="boom")
            event = await next_message(ws)
            assert (event["id"], event["type"], event["tenant_id"]) == (event_id, "run.failed", mine)
            assert event["data"] == {"train_id": 2, "error": "boom"}
        async with websockets.connect(url, subprotocols=["bearer", token]) as ws:
            assert ws.subprotocol == "bearer"
            assert (await next_message(ws))["type"] == "subscribed"
            event_id = _emit(api, mine, EventType.SHAP_COMPLETED, train_id=3)
            assert (await next_message(ws))["id"] == event_id
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"token": token + "x"}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 20)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    asyncio.run(run())
