"""A busy metadata store: SQLite's write lock held by another writer past the busy timeout.

Under 50 concurrent writing clients (bench/memory.py) writers waited out the busy timeout behind uploads
that hold the lock while they ingest: those requests were 500s and the real-time prediction log dropped
its rows. Now the request is a 503 with Retry-After that wrote nothing, and the log keeps its rows.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select

from raylake.platform.app import create_app
from raylake.platform.db import session_scope
from raylake.platform.deps import SessionDep
from raylake.platform.inference.log import PredictionLog
from raylake.platform.inference.models import Prediction
from raylake.platform.tenants.models import Tenant


@contextmanager
def write_lock(settings) -> Iterator[None]:
    """Another writer holding SQLite's write lock."""
    holder = sqlite3.connect(settings.sqlalchemy_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


@pytest.fixture
def impatient_engine(settings):
    """The store with a 50 ms busy timeout, so a held lock fails fast instead of after 30 s."""
    if not settings.is_sqlite:
        pytest.skip("SQLite's write lock")
    engine = create_engine(settings.sqlalchemy_url, connect_args={"timeout": 0.05})
    yield engine
    engine.dispose()


def test_a_write_behind_a_held_lock_is_503_with_retry_after(settings, impatient_engine):
    app = create_app(settings)
    app.state.engine = impatient_engine
    name = f"busy-{uuid.uuid4().hex[:8]}"

    def write(session: SessionDep) -> None:
        session.add(Tenant(name=name))
        session.flush()

    app.router.add_api_route("/write", write, methods=["POST"])

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.post("/write")

    with write_lock(settings):
        resp = asyncio.run(call())
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"] == "ServiceUnavailable" and int(resp.headers["Retry-After"]) >= 1
    with session_scope(impatient_engine) as session:
        assert session.exec(select(Tenant).where(Tenant.name == name)).first() is None


def test_the_prediction_log_keeps_what_a_busy_store_refused(settings, impatient_engine):
    with session_scope(impatient_engine) as session:
        tenant = Tenant(name=f"log-{uuid.uuid4().hex[:8]}")
        session.add(tenant)
        session.flush()
        tenant_id = tenant.id
    prediction_log = PredictionLog(impatient_engine, flush_s=3600)
    row = dict(
        tenant_id=tenant_id,
        train_id=2**31 - 2,
        predictor_name="p",
        problem_type="Classification",
        domain_name="d",
        username="u",
        accuracy=None,
        rows=2,
        sample={"a": 1},
    )
    prediction_log.record(**row)
    with write_lock(settings):
        prediction_log.flush()  # refused: kept
    prediction_log.record(**row)  # a call while the store was busy
    prediction_log.flush()
    with session_scope(impatient_engine) as session:
        logged = session.exec(select(Prediction).where(Prediction.tenant_id == tenant_id)).all()
    assert [(p.no_of_records, p.input_data.startswith("2 calls")) for p in logged] == [(4, True)]


def test_a_broken_statement_is_a_500_not_a_retry(settings, impatient_engine):
    """Only a busy or unreachable store is worth a retry: SQLite's "no such table" is a bug, a 500."""
    app = create_app(settings)
    app.state.engine = impatient_engine

    def broken(session: SessionDep) -> None:
        session.exec(text("SELECT * FROM no_such_table"))  # type: ignore[call-overload]

    app.router.add_api_route("/broken", broken, methods=["GET"])

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/broken")

    resp = asyncio.run(call())
    assert resp.status_code == 500 and resp.json()["error"] == "InternalError"
    assert "Retry-After" not in resp.headers
