"""Alembic environment: runs against the engine handed over in ``config.attributes`` (see db.migrate)."""

from alembic import context
from sqlmodel import SQLModel

from raylake.platform import models  # noqa: F401  (registers every table on SQLModel.metadata)

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
