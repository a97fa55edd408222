"""api keys: machine credentials of one tenant, stored as hashes

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:00:00.000000

``api_keys``: the key's SHA-256 (unique) and first characters, its name, creator and tenant, the role or
permissions it was made with, expiry, last use and revocation. AUTOINCREMENT on SQLite (0007): a
revoked key's id is never handed out again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", STR(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", STR(length=64), nullable=False),
        sa.Column("prefix", STR(length=16), nullable=False),
        sa.Column("key_hash", STR(length=64), nullable=False),
        sa.Column("role", STR(length=64), nullable=True),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("expires_at", TIME(), nullable=True),
        sa.Column("last_used_at", TIME(), nullable=True),
        sa.Column("revoked_at", TIME(), nullable=True),
        sa.Column("created_by", STR(length=64), nullable=False),
        sa.Column("created_at", TIME(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_user_id", table_name="api_keys")
    op.drop_index("ix_api_keys_tenant_id", table_name="api_keys")
    op.drop_table("api_keys")
