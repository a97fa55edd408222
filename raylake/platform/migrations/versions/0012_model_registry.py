"""model registry: projects, models (predictors) with uid, task, lifecycle status, tags and aliases

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:20:00.000000

Every tenant gets a ``default`` project and its predictors move into it. A predictor's task comes from
its problem type (a classifier whose latest completed version learnt more than two labels is
multiclass) and its status from its runs: a completed version makes it ``trained``, a run in flight
``training``, runs that all failed ``failed``, none ``draft``. Names become unique per project, not per
tenant. The predictors table is rebuilt on SQLite (a changed unique constraint): its AUTOINCREMENT is
passed again (reflection does not see it, 0007).
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STR = sqlmodel.sql.sqltypes.AutoString
AUTOINCREMENT = {"sqlite_autoincrement": True}


def _labels(metrics: Any) -> int:
    """The most labels any part of a run's metrics names (0 for a regressor's)."""
    if isinstance(metrics, str):
        metrics = json.loads(metrics)
    if isinstance(metrics, dict):
        found = len(metrics["labels"]) if isinstance(metrics.get("labels"), list) else 0
        return max([found, *(_labels(v) for v in metrics.values())])
    return 0


def _task(problem_type: str, metrics: Any) -> str:
    if problem_type == "Regression":
        return "regression"
    if problem_type == "Forecasting":
        return "forecasting"
    return "multiclass_classification" if _labels(metrics) > 2 else "binary_classification"


def _status(statuses: list[str]) -> str:
    if "completed" in statuses:
        return "trained"
    if any(s in ("submitted_to_ray", "running") for s in statuses):
        return "training"
    return "failed" if statuses else "draft"


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", STR(length=36), nullable=False),
        sa.Column("tenant_id", STR(length=36), nullable=False),
        sa.Column("name", STR(length=128), nullable=False),
        sa.Column("description", STR(length=2000), nullable=True),
        sa.Column("created_by", STR(length=64), nullable=False),
        sa.Column("updated_by", STR(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_project_tenant_name"),
        sa.UniqueConstraint("uid"),
        **AUTOINCREMENT,
    )
    op.create_index("ix_projects_tenant_id", "projects", ["tenant_id"])

    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("uid", STR(length=36), nullable=True))
        batch.add_column(sa.Column("project_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("description", STR(length=2000), nullable=True))
        batch.add_column(sa.Column("task", STR(length=32), nullable=True))
        batch.add_column(sa.Column("model_type", STR(length=32), nullable=True))
        batch.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("dataset_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("target", STR(length=128), nullable=True))
        batch.add_column(sa.Column("training_config", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("metadata", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("metrics", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("owner", STR(length=64), nullable=True))
        batch.add_column(sa.Column("status", STR(length=16), nullable=True))
        batch.add_column(sa.Column("updated_by", STR(length=64), nullable=True))

    _backfill()

    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT, recreate="auto") as batch:
        for name, kind in (
            ("uid", STR(length=36)),
            ("project_id", sa.Integer()),
            ("task", STR(length=32)),
            ("model_type", STR(length=32)),
            ("training_config", sa.JSON()),
            ("metadata", sa.JSON()),
            ("owner", STR(length=64)),
            ("status", STR(length=16)),
            ("updated_by", STR(length=64)),
        ):
            batch.alter_column(name, existing_type=kind, nullable=False)
        batch.drop_constraint("uq_predictor_tenant_name", type_="unique")
        batch.create_unique_constraint("uq_predictor_project_name", ["project_id", "predictor_name"])
        batch.create_unique_constraint("uq_predictors_uid", ["uid"])
        batch.create_foreign_key("fk_predictors_project_id", "projects", ["project_id"], ["id"])
        batch.create_foreign_key(
            "fk_predictors_template_id", "templates", ["template_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_foreign_key(
            "fk_predictors_dataset_id", "datasets", ["dataset_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_predictors_project_id", ["project_id"])
        batch.create_index("ix_predictors_status", ["status"])

    op.create_table(
        "model_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", STR(length=36), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("tag", STR(length=64), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["model_id"], ["predictors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id", "tag", name="uq_model_tag"),
        **AUTOINCREMENT,
    )
    op.create_index("ix_model_tags_model_id", "model_tags", ["model_id"])
    op.create_index("ix_model_tags_tag", "model_tags", ["tag"])
    op.create_table(
        "model_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", STR(length=36), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("alias", STR(length=64), nullable=False),
        sa.Column("train_id", sa.Integer(), nullable=False),
        sa.Column("created_by", STR(length=64), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["model_id"], ["predictors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["train_id"], ["training_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id", "alias", name="uq_model_alias"),
        **AUTOINCREMENT,
    )
    op.create_index("ix_model_aliases_model_id", "model_aliases", ["model_id"])
    op.create_index("ix_model_aliases_train_id", "model_aliases", ["train_id"])


def _backfill() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    projects: dict[str, int] = {}
    table = sa.table(
        "projects",
        *(sa.column(name, STR()) for name in ("uid", "tenant_id", "name", "description")),
        *(sa.column(name, STR()) for name in ("created_by", "updated_by")),
        *(sa.column(name, sqlmodel.sql.sqltypes.UTCDateTime()) for name in ("created_at", "updated_at")),
    )
    for (tenant_id,) in bind.execute(sa.text("SELECT id FROM tenants")).all():
        bind.execute(
            table.insert().values(
                uid=str(uuid4()),
                tenant_id=tenant_id,
                name="default",
                description="The tenant's default project",
                created_by="system",
                updated_by="system",
                created_at=now,
                updated_at=now,
            )
        )
        projects[tenant_id] = bind.execute(
            sa.text("SELECT id FROM projects WHERE tenant_id = :t AND name = 'default'"), {"t": tenant_id}
        ).scalar_one()
    predictors = bind.execute(sa.text("SELECT id, tenant_id, problem_type, created_by FROM predictors")).all()
    for predictor_id, tenant_id, problem_type, created_by in predictors:
        runs = bind.execute(
            sa.text(
                "SELECT status, metrics FROM training_runs WHERE predictor_id = :p ORDER BY version DESC"
            ),
            {"p": predictor_id},
        ).all()
        completed = [metrics for status, metrics in runs if status == "completed"]
        bind.execute(
            sa.text(
                "UPDATE predictors SET uid = :uid, project_id = :project, task = :task, model_type = 'auto', "
                "training_config = :empty, metadata = :empty, owner = :owner, status = :status, "
                "updated_by = :owner WHERE id = :id"
            ),
            {
                "uid": str(uuid4()),
                "project": projects[tenant_id],
                "task": _task(problem_type, completed[0] if completed else None),
                "empty": "{}",
                "owner": created_by,
                "status": _status([status for status, _ in runs]),
                "id": predictor_id,
            },
        )


def downgrade() -> None:
    op.drop_table("model_aliases")
    op.drop_table("model_tags")
    with op.batch_alter_table("predictors", table_kwargs=AUTOINCREMENT, recreate="auto") as batch:
        batch.drop_index("ix_predictors_project_id")
        batch.drop_index("ix_predictors_status")
        batch.drop_constraint("fk_predictors_project_id", type_="foreignkey")
        batch.drop_constraint("fk_predictors_template_id", type_="foreignkey")
        batch.drop_constraint("fk_predictors_dataset_id", type_="foreignkey")
        batch.drop_constraint("uq_predictors_uid", type_="unique")
        batch.drop_constraint("uq_predictor_project_name", type_="unique")
        batch.create_unique_constraint("uq_predictor_tenant_name", ["tenant_id", "predictor_name"])
        for name in (
            "uid",
            "project_id",
            "description",
            "task",
            "model_type",
            "template_id",
            "dataset_id",
            "target",
            "training_config",
            "metadata",
            "metrics",
            "owner",
            "status",
            "updated_by",
        ):
            batch.drop_column(name)
    op.drop_table("projects")
