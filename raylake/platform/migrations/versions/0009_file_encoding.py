"""dataset files record their text encoding

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 06:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_files = sa.table(
    "dataset_files",
    sa.column("id", sa.Integer()),
    sa.column("encoding", sa.String()),
    sa.column("error_report", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("dataset_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("encoding", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    # Files uploaded before this revision have their encoding in the validation report only; copied here
    # in Python, as JSON functions differ between SQLite and PostgreSQL.
    conn = op.get_bind()
    rows = conn.execute(sa.select(_files.c.id, _files.c.error_report)).all()
    for file_id, report in rows:
        encoding = (report or {}).get("encoding") if isinstance(report, dict) else None
        if encoding and encoding != "binary":
            conn.execute(sa.update(_files).where(_files.c.id == file_id).values(encoding=str(encoding)[:32]))


def downgrade() -> None:
    with op.batch_alter_table("dataset_files", schema=None) as batch_op:
        batch_op.drop_column("encoding")
