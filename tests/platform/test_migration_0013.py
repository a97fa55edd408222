"""Migration 0013 on both backends with data in place: an existing dedicated deployment gets its run's
model, the version it serves, a uid and ``running``; the new tables take rows; and back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from raylake.platform.db import _alembic_config
from tests.platform.test_migration_0009 import fresh_engine, insert
from tests.platform.test_migration_0012 import NOW, _run


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0013_backfills_deployments_and_downgrades(backend, tmp_path):
    with fresh_engine(backend, tmp_path) as engine:
        config = _alembic_config(engine)
        command.upgrade(config, "0012")
        with engine.begin() as conn:
            insert(conn, "tenants", id="t1", name="t1", is_active=True, created_at=NOW)
            insert(
                conn,
                "projects",
                **dict(id=1, uid="p-1", tenant_id="t1", name="default", created_by="ann", updated_by="ann"),
                **dict(created_at=NOW, updated_at=NOW),
            )
        with engine.begin() as conn:
            project = conn.execute(text("SELECT id FROM projects WHERE tenant_id = 't1'")).scalar_one()
            insert(
                conn,
                "predictors",
                **dict(id=7, uid="m-7", tenant_id="t1", project_id=project, predictor_name="churn"),
                **dict(domain="d", problem_type="Classification", task="binary_classification"),
                **dict(model_type="auto", training_config="{}", metadata="{}", owner="ann", status="trained"),
                **dict(created_by="ann", updated_by="ann", created_at=NOW, modified_at=NOW),
            )
            _run(conn, 11, 7, 1, "completed", None)
            _run(conn, 12, 7, 2, "completed", None)
            insert(
                conn,
                "model_deployments",
                **dict(id=3, tenant_id="t1", train_id=12, app_name="raylake-model-t1-12", replicas=2),
                **dict(created_by="ann", created_at=NOW),
            )
        command.upgrade(config, "0013")
        with engine.begin() as conn:
            row = conn.execute(
                text("SELECT uid, model_id, version, placement, status, replicas FROM model_deployments")
            ).one()
            assert (row.model_id, row.version, row.status, row.replicas) == (7, "v2", "running", 2)
            assert len(row.uid) == 36
            insert(
                conn,
                "model_artifacts",
                **dict(id=1, uid="a-1", tenant_id="t1", model_id=7, file_kind="model", filename="m.onnx"),
                **dict(
                    format="onnx", size=10, sha256="0" * 64, storage_key="k", created_by="ann", created_at=NOW
                ),
            )
            insert(
                conn,
                "deployment_operations",
                **dict(id=1, tenant_id="t1", deployment_id=3, caller="ann", status_code=200, latency_ms=1.5),
                **dict(rows=1, created_at=NOW),
            )
            conn.execute(text("UPDATE training_runs SET source_artifact_id = 1 WHERE id = 12"))
        command.downgrade(config, "0012")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM model_deployments")).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM training_runs")).scalar_one() == 2
        command.upgrade(config, "head")
