"""identity (ids never reused, ownership rows)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 06:45:00.000000
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # RESERVED: filled in by the work on this revision; removed at the end if still empty


def downgrade() -> None:
    pass
