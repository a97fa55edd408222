"""external models and deployments: artifacts, column schemas, surrogates, placed deployments, operations

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 13:45:00.000000

New tables (AUTOINCREMENT on SQLite, 0007): model artifacts, surrogate jobs and deployment operations.
Models gain their column schema and spec; runs the artifact an external version came from and their
surrogate. Dedicated deployments gain a uid, their model, the version asked for, autoscaling bounds,
placement and status: existing rows get their run's model, the version they serve (``v<n>``) and
``running``.
"""

from collections.abc import Sequence
from uuid import uuid4

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
TIME = sqlmodel.sql.sqltypes.UTCDateTime
AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "model_artifacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", STR(length=36), nullable=False),
        sa.Column("tenant_id", STR(length=36), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("file_kind", STR(length=16), nullable=False),
        sa.Column("filename", STR(length=255), nullable=False),
        sa.Column("format", STR(length=16), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", STR(length=64), nullable=False),
        sa.Column("storage_key", STR(length=512), nullable=False),
        sa.Column("created_by", STR(length=64), nullable=False),
        sa.Column("created_at", TIME(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["model_id"], ["predictors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
        **AUTOINCREMENT,
    )
    op.create_index("ix_model_artifacts_tenant_id", "model_artifacts", ["tenant_id"])
    op.create_index("ix_model_artifacts_model_id", "model_artifacts", ["model_id"])

    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("columns_schema", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("spec", sa.JSON(), nullable=True))

    with op.batch_alter_table("training_runs", table_kwargs=AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("source_artifact_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("surrogate", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            "fk_training_runs_source_artifact_id",
            "model_artifacts",
            ["source_artifact_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "surrogate_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", STR(length=36), nullable=False),
        sa.Column("training_run_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("status", STR(length=32), nullable=False),
        sa.Column("stage", STR(length=64), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("error", STR(length=2000), nullable=True),
        sa.Column("ray_job_id", STR(length=128), nullable=True),
        sa.Column("callback_secret_hash", STR(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_by", STR(length=64), nullable=False),
        sa.Column("created_at", TIME(), nullable=False),
        sa.Column("updated_at", TIME(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["training_run_id"], ["training_runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        **AUTOINCREMENT,
    )
    op.create_index("ix_surrogate_jobs_tenant_id", "surrogate_jobs", ["tenant_id"])
    op.create_index("ix_surrogate_jobs_training_run_id", "surrogate_jobs", ["training_run_id"])
    op.create_index("ix_surrogate_jobs_ray_job_id", "surrogate_jobs", ["ray_job_id"])

    with op.batch_alter_table("model_deployments", table_kwargs=AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("uid", STR(length=36), nullable=True))
        batch.add_column(sa.Column("model_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("version", STR(length=64), nullable=True))
        batch.add_column(sa.Column("min_replicas", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_replicas", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("placement", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("status", STR(length=16), nullable=True))
        batch.add_column(sa.Column("reason", STR(length=2000), nullable=True))
        batch.add_column(sa.Column("updated_at", TIME(), nullable=True))

    _backfill_deployments()

    with op.batch_alter_table("model_deployments", table_kwargs=AUTOINCREMENT, recreate="auto") as batch:
        for name, kind in (
            ("uid", STR(length=36)),
            ("model_id", sa.Integer()),
            ("version", STR(length=64)),
            ("placement", sa.JSON()),
            ("status", STR(length=16)),
            ("updated_at", TIME()),
        ):
            batch.alter_column(name, existing_type=kind, nullable=False)
        batch.create_unique_constraint("uq_model_deployments_uid", ["uid"])
        batch.create_foreign_key(
            "fk_model_deployments_model_id", "predictors", ["model_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_model_deployments_model_id", ["model_id"])

    op.create_table(
        "deployment_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", STR(length=36), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("caller", STR(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("error", STR(length=500), nullable=True),
        sa.Column("created_at", TIME(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["deployment_id"], ["model_deployments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        **AUTOINCREMENT,
    )
    op.create_index("ix_deployment_operations_tenant_id", "deployment_operations", ["tenant_id"])
    op.create_index("ix_deployment_operations_deployment_id", "deployment_operations", ["deployment_id"])
    op.create_index("ix_deployment_operations_caller", "deployment_operations", ["caller"])
    op.create_index("ix_deployment_operations_created_at", "deployment_operations", ["created_at"])


def _backfill_deployments() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT d.id, r.predictor_id, r.version, d.created_at FROM model_deployments d "
            "JOIN training_runs r ON r.id = d.train_id"
        )
    ).all()
    for deployment_id, model_id, version, created_at in rows:
        bind.execute(
            sa.text(
                "UPDATE model_deployments SET uid = :uid, model_id = :model_id, version = :version, "
                "placement = :placement, status = 'running', updated_at = :at WHERE id = :id"
            ),
            {
                "uid": str(uuid4()),
                "model_id": model_id,
                "version": f"v{version}",
                "placement": "{}",
                "at": created_at,
                "id": deployment_id,
            },
        )


def downgrade() -> None:
    op.drop_table("deployment_operations")
    with op.batch_alter_table("model_deployments", table_kwargs=AUTOINCREMENT, recreate="auto") as batch:
        batch.drop_index("ix_model_deployments_model_id")
        batch.drop_constraint("fk_model_deployments_model_id", type_="foreignkey")
        batch.drop_constraint("uq_model_deployments_uid", type_="unique")
        for name in (
            "uid",
            "model_id",
            "version",
            "min_replicas",
            "max_replicas",
            "placement",
            "status",
            "reason",
            "updated_at",
        ):
            batch.drop_column(name)
    op.drop_table("surrogate_jobs")
    with op.batch_alter_table("training_runs", table_kwargs=AUTOINCREMENT, recreate="auto") as batch:
        batch.drop_constraint("fk_training_runs_source_artifact_id", type_="foreignkey")
        batch.drop_column("source_artifact_id")
        batch.drop_column("surrogate")
    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT) as batch:
        batch.drop_column("columns_schema")
        batch.drop_column("spec")
    op.drop_table("model_artifacts")
