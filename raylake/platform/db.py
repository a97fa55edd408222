"""The metadata store: one SQLAlchemy engine per process, SQLite (WAL) by default, PostgreSQL by URL.

Services never commit; ``session_scope`` (the request, job or replica boundary) commits or rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, event, func, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine, select

from raylake.platform.errors import RaylakeError

if TYPE_CHECKING:
    from alembic.config import Config

# How long a SQLite writer waits for another's write lock before giving up (the API answers 503 then):
# writers are serialised, and an upload holds the lock while it ingests its files.
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine with the backend's safety settings: SQLite pragmas per connection, pre-ping on servers."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def redacted(url: str) -> str:
    """The URL with its password hidden, for log lines."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except RaylakeError as exc:
            session.commit() if exc.keep_changes else session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise


def paged(session: Session, stmt: Any, *, skip: int, limit: int | None) -> tuple[list[Any], int]:
    """One page of a select's rows, in its order (``limit`` None: all from ``skip``), and how many rows the
    whole select has."""
    total = session.exec(select(func.count()).select_from(stmt.order_by(None).subquery())).one()
    return list(session.exec(stmt.offset(skip).limit(limit)).all()), int(total)


class _Row(Protocol):
    @property
    def id(self) -> int | None:
        """The row's primary key (None before it is flushed)."""


def stored_id(row: _Row) -> int:
    """A flushed row's primary key (``id`` is None only until the row is inserted)."""
    assert row.id is not None
    return row.id


def ping(engine: Engine) -> None:
    """Check the database answers (the health check)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # only migrations need Alembic: jobs and replicas start faster

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), "head")
