"""The events feed over real WebSockets and HTTP: the platform's app served by uvicorn on the loopback
(no Ray), a real ``websockets`` client, events written through the outbox on both backends."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
import websockets
from websockets.exceptions import ConnectionClosed

from raylake.core.vocabulary import EventType
from raylake.platform.app import create_app
from raylake.platform.auth import service as auth
from raylake.platform.db import session_scope
from raylake.platform.events import service
from raylake.platform.events.socket import AUTH_TIMEOUT_S
from raylake.platform.tenancy import Principal
from tests.factories import PASSWORD, create_tenant, create_user

WAIT_S = 10.0


@dataclass
class Served:
    http: str
    ws: str


@pytest.fixture
def served(settings) -> Iterator[Served]:
    """The app on a loopback port, with webhooks allowed to the loopback."""
    app = create_app(settings.model_copy(update={"webhook_allowed_hosts": "127.0.0.1"}))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    yield Served(http=f"http://127.0.0.1:{port}/api/v1", ws=f"ws://127.0.0.1:{port}/api/v1/events/ws")
    server.should_exit = True
    thread.join(10)
    app.state.webhooks.stop()
    sock.close()


def _token(engine, settings, principal: Principal) -> str:
    with session_scope(engine) as session:
        return auth.login(
            session=session,
            settings=settings,
            username=principal.username,
            password=PASSWORD,
            client="127.0.0.1",
        ).access_token


def _emit(engine, tenant_id: str, type: EventType, **data) -> int:
    with session_scope(engine) as session:
        event = service.emit(session, tenant_id=tenant_id, type=type, payload=data)
    assert event.id is not None
    return event.id


async def _next(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))


async def _closed_with(ws) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT_S + AUTH_TIMEOUT_S)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.fixture
def pair(engine, settings) -> tuple[Principal, Principal]:
    """A member of one tenant and a member of another."""
    mine = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["viewer"])
    theirs = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])
    return mine, theirs


def test_first_message_auth_gets_its_own_tenants_events_only(engine, settings, served, pair):
    mine, theirs = pair
    token = _token(engine, settings, mine)

    async def run() -> None:
        async with websockets.connect(served.ws) as ws:
            await ws.send(json.dumps({"token": token}))
            assert await _next(ws) == {"type": "subscribed", "tenant_id": mine.tenant_id}
            _emit(engine, theirs.tenant_id, EventType.RUN_COMPLETED, train_id=1)  # not ours
            first = _emit(engine, mine.tenant_id, EventType.RUN_PROGRESS, train_id=2, progress=0.5)
            second = _emit(
                engine, mine.tenant_id, EventType.MODEL_STATUS_CHANGED, model_id=3, status="trained"
            )
            got = [await _next(ws), await _next(ws)]
            assert [e["id"] for e in got] == [first, second]
            assert got[0]["type"] == "run.progress" and got[0]["data"] == {"train_id": 2, "progress": 0.5}
            assert got[1]["type"] == "model.status_changed" and got[1]["tenant_id"] == mine.tenant_id
            assert all(e["created_at"].endswith("Z") for e in got)

    asyncio.run(run())


def test_subprotocol_auth_and_events_from_other_writers(engine, settings, served, pair):
    mine, _ = pair
    token = _token(engine, settings, mine)

    async def run() -> None:
        async with websockets.connect(served.ws, subprotocols=["bearer", token]) as ws:
            assert ws.subprotocol == "bearer"
            assert (await _next(ws))["type"] == "subscribed"
            # written by another process's transaction, as another replica or a job would
            event_id = await asyncio.to_thread(
                _emit, engine, mine.tenant_id, EventType.BATCH_COMPLETED, prediction_id=8
            )
            event = await _next(ws)
            assert (event["id"], event["type"], event["data"]) == (
                event_id,
                "batch.completed",
                {"prediction_id": 8},
            )

    asyncio.run(run())


def test_a_socket_without_a_valid_token_is_closed_1008(engine, settings, served, pair):
    mine, _ = pair
    nobody = create_user(engine, settings, tenant_id=mine.tenant_id, roles=[])  # no train:read

    async def run() -> None:
        async with websockets.connect(served.ws) as ws:
            await ws.send(json.dumps({"token": "not-a-token"}))
            assert await _closed_with(ws) == 1008
        async with websockets.connect(served.ws) as ws:
            await ws.send("not json")
            assert await _closed_with(ws) == 1008
        async with websockets.connect(served.ws, subprotocols=["bearer", "not-a-token"]) as ws:
            assert await _closed_with(ws) == 1008
        async with websockets.connect(served.ws) as ws:
            await ws.send(json.dumps({"token": _token(engine, settings, nobody)}))
            assert await _closed_with(ws) == 1008
        async with websockets.connect(f"{served.ws}?token={_token(engine, settings, mine)}") as ws:
            assert await _closed_with(ws) == 1008  # a token in the URL is not read: none came in time

    asyncio.run(run())


def test_webhook_routes(engine, settings, served, pair):
    mine, theirs = pair
    headers = {"Authorization": f"Bearer {_token(engine, settings, theirs)}"}
    viewer = {"Authorization": f"Bearer {_token(engine, settings, mine)}"}
    with httpx.Client(base_url=served.http, headers=headers, timeout=WAIT_S) as client:
        body = {"url": "http://127.0.0.1:9/hook", "events": ["run.completed"], "secret": "s3cret-value-1"}
        created = client.post("/webhooks", json=body)
        assert created.status_code == 201, created.text
        hook = created.json()
        assert "s3cret-value-1" not in created.text and hook["signed"] is True
        assert client.get(f"/webhooks/{hook['id']}").json() == hook
        assert hook["id"] in [h["id"] for h in client.get("/webhooks").json()["data"]]
        for bad in (
            {**body, "url": "http://10.0.0.1/hook"},
            {**body, "url": "http://user:pw@127.0.0.1/hook"},
            {**body, "url": "gopher://127.0.0.1/hook"},
            {**body, "events": ["run.exploded"]},
        ):
            answer = client.post("/webhooks", json=bad)
            assert answer.status_code == 422 and "s3cret-value-1" not in answer.text
        _emit(engine, theirs.tenant_id, EventType.RUN_COMPLETED, train_id=5)
        deliveries = client.get(f"/webhooks/{hook['id']}/deliveries").json()
        assert deliveries["count"] == 1 and deliveries["data"][0]["webhook_id"] == hook["id"]
        # another tenant's webhook is not there; a viewer may read but not create
        assert httpx.get(f"{served.http}/webhooks/{hook['id']}", headers=viewer).status_code == 404
        assert httpx.get(f"{served.http}/webhooks/{hook['id']}/deliveries", headers=viewer).status_code == 404
        assert httpx.delete(f"{served.http}/webhooks/{hook['id']}", headers=viewer).status_code == 403
        assert httpx.post(f"{served.http}/webhooks", json=body, headers=viewer).status_code == 403
        assert client.delete(f"/webhooks/{hook['id']}").status_code == 200
        assert client.get(f"/webhooks/{hook['id']}").status_code == 404


def test_a_client_catches_up_on_what_it_missed(engine, settings, served, pair):
    mine, theirs = pair
    headers = {"Authorization": f"Bearer {_token(engine, settings, mine)}"}
    first = _emit(engine, mine.tenant_id, EventType.RUN_PROGRESS, train_id=1, percent=10)
    _emit(engine, theirs.tenant_id, EventType.RUN_COMPLETED, train_id=2)
    last = _emit(engine, mine.tenant_id, EventType.RUN_COMPLETED, train_id=1)
    with httpx.Client(base_url=served.http, headers=headers, timeout=WAIT_S) as client:
        page = client.get("/events", params={"after": first - 1}).json()
        assert [(e["id"], e["type"]) for e in page["items"]] == [
            (first, "run.progress"),
            (last, "run.completed"),
        ]
        assert page["next_after"] == last and page["items"][1]["data"] == {"train_id": 1}
        one = client.get("/events", params={"after": first - 1, "limit": 1}).json()
        assert [e["id"] for e in one["items"]] == [first] and one["next_after"] == first
        assert client.get("/events", params={"after": last}).json() == {"items": [], "next_after": last}
        for bad in ({"after": -1}, {"limit": 0}, {"limit": 1001}):
            assert client.get("/events", params=bad).status_code == 422
    assert httpx.get(f"{served.http}/events", timeout=WAIT_S).status_code == 401


def test_a_webhook_switched_off_gets_no_deliveries(engine, settings, served, pair):
    mine, theirs = pair
    headers = {"Authorization": f"Bearer {_token(engine, settings, theirs)}"}
    viewer = {"Authorization": f"Bearer {_token(engine, settings, mine)}"}
    with httpx.Client(base_url=served.http, headers=headers, timeout=WAIT_S) as client:
        body = {"url": "http://127.0.0.1:9/hook", "events": ["run.completed"], "secret": "s3cret-value-1"}
        hook = client.post("/webhooks", json=body).json()
        path = f"/webhooks/{hook['id']}"
        off = client.patch(path, json={"is_active": False, "events": ["run.failed", "run.completed"]})
        assert off.status_code == 200 and off.json()["is_active"] is False
        assert off.json()["events"] == ["run.completed", "run.failed"]
        _emit(engine, theirs.tenant_id, EventType.RUN_COMPLETED, train_id=5)
        assert client.get(f"{path}/deliveries").json()["count"] == 0
        assert client.patch(path, json={"url": "http://10.0.0.1/hook"}).status_code == 422
        assert client.patch(path, json={"secret": "short"}).status_code == 422
        unsigned = client.patch(path, json={"secret": "", "is_active": True}).json()
        assert unsigned["signed"] is False and unsigned["is_active"] is True
        _emit(engine, theirs.tenant_id, EventType.RUN_COMPLETED, train_id=6)
        assert client.get(f"{path}/deliveries").json()["count"] == 1
        assert client.patch(path, json={"colour": "red"}).status_code == 422
    # a viewer (of another tenant) may not change webhooks at all: refused before any lookup
    assert httpx.patch(f"{served.http}{path}", json={"is_active": False}, headers=viewer).status_code == 403
