"""datasets: the tenant's own name for a dataset's tables (iceberg_table_name on upload)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 07:10:00.000000

A plain ADD COLUMN and a unique index: both native on SQLite, so the table is not rebuilt (a rebuild
would drop the AUTOINCREMENT that 0007 gave it). NULLs are distinct in a unique index on both backends,
so datasets without a chosen name never clash.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "datasets", sa.Column("table_alias", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
    )
    op.create_index("uq_dataset_tenant_table_alias", "datasets", ["tenant_id", "table_alias"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_dataset_tenant_table_alias", table_name="datasets")
    with op.batch_alter_table(
        "datasets", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_column("table_alias")
