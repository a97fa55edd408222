"""Failed-login throttling per account and per client, in the metadata store so all replicas share it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, select

from raylake.platform.auth.models import LoginFailure
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.errors import TooManyRequests


def _account_key(username: str) -> str:
    return f"user:{username.lower()[:64]}"


def _keys(username: str, client: str) -> list[str]:
    return [_account_key(username), f"client:{client[:64]}"]


def check(*, session: Session, username: str, client: str, settings: Settings) -> None:
    """429 once an account, or a client address (more room: NAT, proxies), failed too often lately."""
    account, client_key = _keys(username, client)
    limits = {account: settings.login_max_failures, client_key: settings.login_max_failures_per_client}
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    rows = session.exec(
        select(LoginFailure).where(col(LoginFailure.key).in_(limits), LoginFailure.window_started_at > since)
    )
    for row in rows:
        if row.count >= limits[row.key]:
            window_end = row.window_started_at + timedelta(seconds=settings.login_window_seconds)
            retry = int((window_end - utcnow()).total_seconds()) + 1
            raise TooManyRequests(
                "Too many failed login attempts; try again later", headers={"Retry-After": str(max(retry, 1))}
            )


def record_failure(*, session: Session, username: str, client: str, window_s: int) -> None:
    """Count one failure atomically (an upsert), restarting the window once it has passed."""
    now = utcnow()
    stale = now - timedelta(seconds=window_s)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for key in _keys(username, client):
        stmt = insert(LoginFailure).values(key=key, count=1, window_started_at=now)
        table = LoginFailure.__table__  # type: ignore[attr-defined]
        restart = table.c.window_started_at <= literal(stale, table.c.window_started_at.type)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": case((restart, 1), else_=table.c.count + 1),
                "window_started_at": case(
                    (restart, literal(now, table.c.window_started_at.type)), else_=table.c.window_started_at
                ),
            },
        )
        session.exec(stmt)  # type: ignore[call-overload]


def clear_account(*, session: Session, username: str) -> None:
    session.exec(delete(LoginFailure).where(LoginFailure.key == _account_key(username)))  # type: ignore[call-overload]
