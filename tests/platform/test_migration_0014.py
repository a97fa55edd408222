"""Migration 0014 on both backends with data in place: an existing model captures its predictions
(the new flag defaults to true); a new model may turn it off; and back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from raylake.platform.db import _alembic_config
from tests.platform.test_migration_0009 import fresh_engine, insert
from tests.platform.test_migration_0012 import NOW


def _model(conn, model_id: int, project_id: int, **extra: object) -> None:
    insert(
        conn,
        "predictors",
        **dict(id=model_id, uid=f"m-{model_id}", tenant_id="t1", project_id=project_id),
        **dict(predictor_name=f"m{model_id}", domain="d", problem_type="Classification"),
        **dict(task="binary_classification", model_type="auto", training_config="{}", metadata="{}"),
        **dict(owner="ann", status="draft", created_by="ann", updated_by="ann"),
        **dict(created_at=NOW, modified_at=NOW),
        **extra,
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0014_captures_by_default_and_downgrades(backend, tmp_path):
    with fresh_engine(backend, tmp_path) as engine:
        config = _alembic_config(engine)
        command.upgrade(config, "0013")
        with engine.begin() as conn:
            insert(conn, "tenants", id="t1", name="t1", is_active=True, created_at=NOW)
            insert(
                conn,
                "projects",
                **dict(id=1, uid="p-1", tenant_id="t1", name="default", created_by="ann", updated_by="ann"),
                **dict(created_at=NOW, updated_at=NOW),
            )
            _model(conn, 7, 1)
        command.upgrade(config, "0014")
        with engine.begin() as conn:
            _model(conn, 8, 1, capture_predictions=False)
            _model(conn, 9, 1)
            flags = dict(conn.execute(text("SELECT id, capture_predictions FROM predictors")).all())
        assert flags == {7: True, 8: False, 9: True}
        command.downgrade(config, "0013")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM predictors")).scalar_one() == 3
        command.upgrade(config, "head")
