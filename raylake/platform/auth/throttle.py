"""Failed-login throttling, in the metadata store so all replicas share it.

Each failure counts against three keys, each over ``login_window_seconds``:

- the account *and* client pair: ``login_max_failures``, then 429 for that client on that account
  only, so a stranger guessing a password never locks the owner out of their own address;
- the client: ``login_max_failures_per_client`` over every account (password spraying);
- the account alone, for guesses spread over many addresses: from ``login_account_backoff_after``
  failures on, each attempt waits for a delay after the latest failure that doubles with every
  failure (1 s, 2 s, 4 s, ...) up to ``login_account_backoff_max_seconds``. One client adds at most its
  pair limit to it per window, so reaching it takes many addresses, and it slows, never locks.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import case, literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, select

from raylake.platform.auth.models import LoginFailure
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.errors import TooManyRequests


def account_key(username: str) -> str:
    """The throttle's key for failed logins to one account, whatever the address."""
    return f"user:{username.lower()[:64]}"


def client_key(client: str) -> str:
    """The throttle's key for failed logins from one client address."""
    return f"client:{client[:64]}"


def pair_key(username: str, client: str) -> str:
    """The throttle's key for failed logins to one account from one address."""
    return f"pair:{username.lower()[:64]}|{client[:64]}"


def account_delay(failures: int, settings: Settings) -> timedelta:
    """How long an account waits after its latest failure before the next attempt (0 below the threshold)."""
    past = failures - settings.login_account_backoff_after
    if past < 0:
        return timedelta(0)
    return timedelta(seconds=min(2 ** min(past, 32), settings.login_account_backoff_max_seconds))


def check(*, session: Session, username: str, client: str, settings: Settings) -> None:
    """429 with ``Retry-After`` while this client on this account, this client, or the account waits."""
    pair, by_client, account = pair_key(username, client), client_key(client), account_key(username)
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    rows = {
        row.key: row
        for row in session.exec(
            select(LoginFailure).where(
                col(LoginFailure.key).in_([pair, by_client, account]),
                LoginFailure.window_started_at > now - window,
            )
        )
    }
    waits = [timedelta(0)]
    for key, limit in (
        (pair, settings.login_max_failures),
        (by_client, settings.login_max_failures_per_client),
    ):
        row = rows.get(key)
        if row is not None and row.count >= limit:
            waits.append(row.window_started_at + window - now)
    row = rows.get(account)
    if row is not None:
        latest = row.last_failed_at or row.window_started_at
        waits.append(latest + account_delay(row.count, settings) - now)
    wait = max(waits)
    if wait > timedelta(0):
        raise TooManyRequests(
            "Too many failed login attempts; try again later",
            headers={"Retry-After": str(max(math.ceil(wait.total_seconds()), 1))},
        )


def record_failure(*, session: Session, username: str, client: str, settings: Settings) -> None:
    """Count one failure on each key atomically (an upsert), restarting a key's window once it has passed."""
    now = utcnow()
    stale = now - timedelta(seconds=settings.login_window_seconds)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = LoginFailure.__table__  # type: ignore[attr-defined]
    when = table.c.window_started_at.type
    for key in (pair_key(username, client), client_key(client), account_key(username)):
        stmt = insert(LoginFailure).values(key=key, count=1, window_started_at=now, last_failed_at=now)
        restart = table.c.window_started_at <= literal(stale, when)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": case((restart, 1), else_=table.c.count + 1),
                "window_started_at": case((restart, literal(now, when)), else_=table.c.window_started_at),
                "last_failed_at": literal(now, when),
            },
        )
        session.exec(stmt)


def clear_pair(*, session: Session, username: str, client: str) -> None:
    """A good login forgets this client's failures on this account; the client's and the account's
    counts stand, so a valid login of one's own cannot reset a spray or a distributed guess."""
    session.exec(delete(LoginFailure).where(col(LoginFailure.key) == pair_key(username, client)))
