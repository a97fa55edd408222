"""login throttling per account and client: an account's backoff runs from its latest failure

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Counters kept: an existing row's latest failure reads as its window start (auth/throttle.py).
    op.add_column(
        "login_failures", sa.Column("last_failed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_column("last_failed_at")
