"""prediction capture: a model's predictions are captured in the lake unless it says not to

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 09:00:00.000000

``predictors.capture_predictions`` (on by default, so existing models capture from now on). The
captured rows themselves live in the tenant's lake (``gold.prediction_log_<model id>``), not here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT) as batch:
        batch.add_column(
            sa.Column("capture_predictions", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT) as batch:
        batch.drop_column("capture_predictions")
