"""Migration 0016 on both backends with a model in place: it gets no live-accuracy settings (the
defaults), the migrated columns are the table's own; and back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from raylake.platform.db import _alembic_config
from raylake.platform.registry.models import Predictor
from tests.platform.test_migration_0009 import fresh_engine, insert
from tests.platform.test_migration_0012 import NOW


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0016_adds_feedback_settings_and_downgrades(backend, tmp_path):
    with fresh_engine(backend, tmp_path) as engine:
        config = _alembic_config(engine)
        command.upgrade(config, "0015")
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
        command.upgrade(config, "0016")
        columns = {c["name"] for c in inspect(engine).get_columns("predictors")}
        assert columns == {c.name for c in Predictor.__table__.columns}
        with engine.begin() as conn:
            assert conn.execute(text("SELECT feedback_settings FROM predictors")).scalar_one() is None
        command.downgrade(config, "0015")
        with engine.connect() as conn:
            assert "feedback_settings" not in {c["name"] for c in inspect(conn).get_columns("predictors")}
            assert conn.execute(text("SELECT count(*) FROM predictors")).scalar_one() == 1
        command.upgrade(config, "head")
