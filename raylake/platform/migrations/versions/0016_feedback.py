"""feedback: per-model settings of the live-accuracy watch

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 09:00:00.000000

``predictors.feedback_settings`` (JSON: enabled, metric, max_drop, min_rows; null: the defaults). The
labels themselves live in the tenant's lake (``gold.feedback_<model id>``), beside the captured
predictions they label.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("feedback_settings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT) as batch:
        batch.drop_column("feedback_settings")
