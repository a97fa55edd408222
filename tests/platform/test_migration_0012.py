"""Migration 0012 on both backends with data in place: every tenant gets its default project and each
predictor becomes a registered model in it, its task and status read from its runs; and back."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import text

from raylake.platform.db import _alembic_config
from tests.platform.test_migration_0009 import fresh_engine, insert

NOW = "2026-01-01 00:00:00"
# predictor id, problem type, its runs' (status, metrics) -> the task and status 0012 gives it
PREDICTORS = [
    (
        1,
        "Classification",
        [("completed", {"accuracy": 0.9, "labels": ["a", "b", "c"]})],
        "multiclass_classification",
        "trained",
    ),
    (
        2,
        "Classification",
        [("failed", None), ("completed", {"labels": ["no", "yes"]})],
        "binary_classification",
        "trained",
    ),
    (3, "Regression", [("failed", None), ("cancelled", None)], "regression", "failed"),
    (4, "Forecasting", [("running", None)], "forecasting", "training"),
    (5, "Regression", [], "regression", "draft"),
]


def _run(conn, run_id: int, predictor_id: int, version: int, status: str, metrics: dict | None) -> None:
    insert(
        conn,
        "training_runs",
        **dict(id=run_id, tenant_id="t1", predictor_id=predictor_id, version=version, dataset_name="d"),
        **dict(data_source="csv", problem_type="x", domain="d", columns="[]", algorithm="LightGBM"),
        **dict(params="{}", time_budget_s=60, seed=0, is_incremental=False, shap_enabled=False),
        **dict(
            status=status, stage="s", percent=0, callback_secret_hash="", created_by="u", uid=f"u{run_id}"
        ),
        **dict(metrics=None if metrics is None else json.dumps(metrics), created_at=NOW, modified_at=NOW),
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0012_registers_predictors_in_default_projects_and_downgrades(backend, tmp_path):
    with fresh_engine(backend, tmp_path) as engine:
        config = _alembic_config(engine)
        command.upgrade(config, "0011")
        with engine.begin() as conn:
            for tenant in ("t1", "t2"):
                insert(conn, "tenants", id=tenant, name=tenant, is_active=True, created_at=NOW)
            run_id = 0
            for predictor_id, problem, runs, _, _ in PREDICTORS:
                insert(
                    conn,
                    "predictors",
                    **dict(id=predictor_id, tenant_id="t1", predictor_name=f"p{predictor_id}", domain="d"),
                    **dict(problem_type=problem, created_by="ann", created_at=NOW, modified_at=NOW),
                )
                for version, (status, metrics) in enumerate(reversed(runs), start=1):
                    run_id += 1
                    _run(conn, run_id, predictor_id, version, status, metrics)
        command.upgrade(config, "0012")
        with engine.connect() as conn:
            projects = conn.execute(
                text("SELECT tenant_id, name, id, uid FROM projects ORDER BY tenant_id")
            ).all()
            assert [(t, n) for t, n, _, _ in projects] == [("t1", "default"), ("t2", "default")]
            rows = conn.execute(
                text("SELECT id, project_id, task, status, owner, uid FROM predictors ORDER BY id")
            ).all()
        assert [(r.id, r.task, r.status) for r in rows] == [(p[0], p[3], p[4]) for p in PREDICTORS]
        assert {r.project_id for r in rows} == {projects[0].id} and {r.owner for r in rows} == {"ann"}
        assert len({r.uid for r in rows} | {p.uid for p in projects}) == len(rows) + 2
        command.downgrade(config, "0011")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM predictors")).scalar_one() == len(PREDICTORS)
            assert conn.execute(text("SELECT count(*) FROM training_runs")).scalar_one() == run_id
        command.upgrade(config, "head")
