"""Alembic environment: runs against the engine handed over in ``config.attributes`` (see db.migrate)."""

from alembic import context
from sqlmodel import SQLModel

from raylake.platform import models  # noqa: F401  (registers every table on SQLModel.metadata)

engine = context.config.attributes["engine"]


def _ours(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """Leave tables we do not model alone: the Iceberg catalog's own tables share the PostgreSQL database."""
    return not (type_ == "table" and reflected and compare_to is None)


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
        include_object=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
