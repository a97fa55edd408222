"""Alembic environment: runs against the engine handed over in ``config.attributes`` (see db.migrate)."""

from typing import Any

from alembic import context
from sqlmodel import SQLModel

from raylake.platform import models  # noqa: F401  (registers every table on SQLModel.metadata)

engine = context.config.attributes["engine"]


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave tables we do not model alone: the Iceberg catalog's own tables share the PostgreSQL database."""
    return not (type_ == "table" and reflected and compare_to is None)


sqlite = engine.dialect.name == "sqlite"
with engine.connect() as connection:
    if sqlite:
        # A rebuilt table (batch mode) drops its old copy: with foreign keys on, that drop would delete
        # (cascade) or orphan every child row. SQLite takes this pragma only outside a transaction.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=sqlite,
            compare_type=True,
            include_object=_ours,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows whose foreign keys point nowhere: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:  # the connection goes back to the pool: never with foreign keys off
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
