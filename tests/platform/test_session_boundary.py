"""A request's transaction ends however the request ends, a client's disconnect included.

Serve cancels the task of a request whose client disconnected. The session boundary then ended the
session while the sync route still used it in its worker thread, and the route's next statement began a
transaction nobody ended: on SQLite a write lock held until the process exited, so every later write in
the platform failed with "database is locked" (seen under bench/memory.py). The platform's own app
stack runs here, with one extra route.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid

import httpx
from fastapi import FastAPI
from sqlmodel import select

from raylake.platform.app import create_app
from raylake.platform.db import session_scope
from raylake.platform.deps import SessionDep
from raylake.platform.tenants.models import Tenant


class Steps:
    """Where the route's worker thread is, so the test can cancel the request in the middle of it."""

    def __init__(self) -> None:
        self.wrote, self.cancelled, self.done = threading.Event(), threading.Event(), threading.Event()


def _app(settings, steps: Steps) -> FastAPI:
    app = create_app(settings)

    def write(name: str, session: SessionDep) -> None:
        try:
            session.add(Tenant(name=name))
            session.flush()  # on SQLite this takes the database's write lock
            steps.wrote.set()
            steps.cancelled.wait(10)
            session.add(Tenant(name=f"{name}-second"))  # the work goes on after the client left
            session.flush()
        finally:
            steps.done.set()

    app.router.add_api_route("/write/{name}", write, methods=["POST"])
    return app


async def _cancel_mid_request(app: FastAPI, name: str, steps: Steps) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        task = asyncio.create_task(client.post(f"/write/{name}"))
        await asyncio.to_thread(steps.wrote.wait, 10)
        task.cancel()  # what Serve does to a request whose client disconnected
        with contextlib.suppress(asyncio.CancelledError):
            await task
        steps.cancelled.set()
        await asyncio.to_thread(steps.done.wait, 10)
        await asyncio.sleep(0.5)  # the request's own end, where it still runs


def test_a_cancelled_request_ends_its_transaction(settings):
    steps = Steps()
    name = f"cancelled-{uuid.uuid4().hex[:8]}"
    app = _app(settings, steps)
    asyncio.run(_cancel_mid_request(app, name, steps))
    engine = app.state.engine
    assert engine.pool.checkedout() == 0
    with session_scope(engine) as session:  # a write from elsewhere is not blocked by the cancelled one
        session.add(Tenant(name=f"after-{name}"))
        session.flush()
        # the abandoned request ran to its end and committed both rows
        assert session.exec(select(Tenant).where(Tenant.name == f"{name}-second")).first() is not None
