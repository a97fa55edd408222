"""identity: ids never reused (SQLite AUTOINCREMENT), a run's uid naming its model in caches

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 06:45:00.000000

SQLite hands a deleted newest row's id to the next insert unless the table is declared AUTOINCREMENT,
which only a rebuild can add; each table with an integer key is rebuilt in place (rows, keys, indexes
and constraints kept) and its sequence set to the highest id it holds. PostgreSQL's sequences never
go back, so there only the new column is added. Foreign keys are off while tables are rebuilt
(``migrations/env.py``), so dropping the old copy of a parent table cascades nowhere. Reflection does
not see AUTOINCREMENT: a later batch rebuild of these tables must pass the same ``table_kwargs``.
"""

from collections.abc import Sequence
from uuid import uuid4

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table with an integer primary key at revision 0006 (parents before children).
TABLES = (
    "users",
    "permissions",
    "roles",
    "templates",
    "template_columns",
    "datasets",
    "dataset_files",
    "dataset_versions",
    "dataset_statistics",
    "lake_tables",
    "predictors",
    "preprocess_states",
    "training_runs",
    "feature_importance",
    "predictions",
    "model_deployments",
    "job_standbys",
)


def _rebuild(autoincrement: bool) -> None:
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    if autoincrement:
        bind = op.get_bind()
        for table in TABLES:
            # The copy's inserts already moved the sequence; say so explicitly, above the highest id.
            bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
            bind.execute(
                sa.text(
                    f"INSERT INTO sqlite_sequence (name, seq) SELECT :t, COALESCE(MAX(id), 0) FROM {table}"
                ),
                {"t": table},
            )


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("training_runs") as batch:
        batch.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
    runs = sa.table("training_runs", sa.column("id", sa.Integer), sa.column("uid", sa.String))
    for (run_id,) in bind.execute(sa.select(runs.c.id)).all():
        bind.execute(runs.update().where(runs.c.id == run_id).values(uid=uuid4().hex))
    with op.batch_alter_table("training_runs") as batch:
        batch.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
    if bind.dialect.name == "sqlite":
        _rebuild(autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(autoincrement=False)
    with op.batch_alter_table("training_runs") as batch:
        batch.drop_column("uid")
