"""Migration 0015 on both backends with data in place: an existing model gets no drift settings and no
schedule, the migrated columns are the tables' own, a report can be kept; and back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from raylake.platform.db import _alembic_config
from raylake.platform.monitoring.drift_models import DriftReport
from raylake.platform.registry.models import Predictor
from tests.platform.test_migration_0009 import fresh_engine, insert
from tests.platform.test_migration_0012 import NOW, _run


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0015_adds_drift_settings_and_reports_and_downgrades(backend, tmp_path):
    with fresh_engine(backend, tmp_path) as engine:
        config = _alembic_config(engine)
        command.upgrade(config, "0014")
        with engine.begin() as conn:
            insert(conn, "tenants", id="t1", name="t1", is_active=True, created_at=NOW)
            insert(
                conn,
                "projects",
                **dict(id=1, uid="p-1", tenant_id="t1", name="default", created_by="ann", updated_by="ann"),
                **dict(created_at=NOW, updated_at=NOW),
            )
            insert(
                conn,
                "predictors",
                **dict(id=7, uid="m-7", tenant_id="t1", project_id=1, predictor_name="churn"),
                **dict(domain="d", problem_type="Classification", task="binary_classification"),
                **dict(model_type="auto", training_config="{}", metadata="{}", owner="ann", status="trained"),
                **dict(created_by="ann", updated_by="ann", created_at=NOW, modified_at=NOW),
            )
            _run(conn, 11, 7, 1, "completed", None)
        command.upgrade(config, "0015")
        found = inspect(engine)
        later = {"feedback_settings"}  # 0016's
        for table in (Predictor.__table__, DriftReport.__table__):
            assert {c["name"] for c in found.get_columns(table.name)} == {
                c.name for c in table.columns
            } - later
        with engine.begin() as conn:
            row = conn.execute(text("SELECT drift_settings, drift_next_at FROM predictors")).one()
            assert tuple(row) == (None, None)
            insert(
                conn,
                "drift_reports",
                **dict(id=1, tenant_id="t1", model_id=7, train_id=11, source="predictions", method="psi"),
                **dict(min_rows=100, scheduled=True, rows=500, drift_status="ok", scores="{}"),
                **dict(status="completed", stage="done", percent=100, callback_secret_hash=""),
                **dict(created_by="ann", created_at=NOW, updated_at=NOW),
            )
        command.downgrade(config, "0014")
        with engine.connect() as conn:
            assert "drift_reports" not in inspect(conn).get_table_names()
            assert conn.execute(text("SELECT count(*) FROM predictors")).scalar_one() == 1
        command.upgrade(config, "head")
