"""drift: per-model drift settings and schedule, and the reports of every drift check

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 10:00:00.000000

``predictors.drift_settings`` (JSON: enabled, method, threshold, window, min_rows; null: drift not set
up) and ``predictors.drift_next_at`` (when the next scheduled check is due; null: not scheduled).
``drift_reports`` keeps each check (AUTOINCREMENT on SQLite, 0007): its version, source (a window of
captured predictions or a dataset), method, rows, verdict and per-column scores, and the Ray job that
computed it when it ran as one. The baselines themselves are files beside each version's model
(``baseline.json``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
TIME = sqlmodel.sql.sqltypes.UTCDateTime
AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("drift_settings", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("drift_next_at", TIME(), nullable=True))
    op.create_index("ix_predictors_drift_next_at", "predictors", ["drift_next_at"])

    op.create_table(
        "drift_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", STR(length=36), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("train_id", sa.Integer(), nullable=False),
        sa.Column("source", STR(length=16), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("method", STR(length=8), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("min_rows", sa.Integer(), nullable=False),
        sa.Column("window_start", TIME(), nullable=True),
        sa.Column("window_end", TIME(), nullable=True),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("drift_status", STR(length=32), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("status", STR(length=32), nullable=False),
        sa.Column("stage", STR(length=64), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("error", STR(length=2000), nullable=True),
        sa.Column("ray_job_id", STR(length=128), nullable=True),
        sa.Column("callback_secret_hash", STR(length=64), nullable=False),
        sa.Column("created_by", STR(length=64), nullable=False),
        sa.Column("created_at", TIME(), nullable=False),
        sa.Column("updated_at", TIME(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["model_id"], ["predictors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["train_id"], ["training_runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        **AUTOINCREMENT,
    )
    for column in ("tenant_id", "model_id", "train_id", "ray_job_id", "created_at"):
        op.create_index(f"ix_drift_reports_{column}", "drift_reports", [column])


def downgrade() -> None:
    op.drop_table("drift_reports")
    op.drop_index("ix_predictors_drift_next_at", table_name="predictors")
    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT) as batch:
        batch.drop_column("drift_next_at")
        batch.drop_column("drift_settings")
