"""Ids are never reused, on both backends, and migration 0007 makes an existing SQLite store so in place."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Integer, text
from sqlmodel import SQLModel, select

from raylake.platform.datalake.models import LakeTable
from raylake.platform.db import _alembic_config, make_engine, session_scope
from raylake.platform.rbac import service as rbac
from raylake.platform.rbac.models import Role
from raylake.platform.templates import service as templates
from raylake.platform.tenants.models import Tenant
from raylake.schemas.templates import TemplateCreate
from tests.factories import create_tenant, create_user, unique

COLUMNS = [{"column_name": "x", "data_type": "Integer", "default_value": "0"}]


def _integer_keyed() -> list[str]:
    return [
        table.name
        for table in SQLModel.metadata.sorted_tables
        if [type(c.type) for c in table.primary_key.columns] == [Integer]
    ]


def test_every_integer_key_is_autoincrement():
    """A new table with an integer key must say so too, or SQLite hands its deleted newest id out again."""
    missing = [
        name
        for name in _integer_keyed()
        if not SQLModel.metadata.tables[name].dialect_kwargs.get("sqlite_autoincrement")
    ]
    assert missing == []


def test_the_migrated_sqlite_store_keeps_autoincrement(engine, settings):
    """Reflection does not see AUTOINCREMENT: a later migration that rebuilds a table (batch mode) must
    pass ``table_kwargs={"sqlite_autoincrement": True}`` or it silently drops it."""
    if not settings.is_sqlite:
        pytest.skip("SQLite only: PostgreSQL's sequences never go back")
    with engine.connect() as conn:
        schema = _schema(conn)
    assert [name for name in _integer_keyed() if "AUTOINCREMENT" not in schema[name]] == []


def test_deleting_the_newest_row_does_not_free_its_id(engine, settings):
    admin = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["admin"])

    def create() -> int:
        data = TemplateCreate(template_name=unique("t"), template_schema=COLUMNS)
        with session_scope(engine) as session:
            return templates.create_template(session=session, principal=admin, data=data).id

    first = create()
    with session_scope(engine) as session:
        templates.delete_template(session=session, principal=admin, template_id=first)
    assert create() > first

    with session_scope(engine) as session:
        row = LakeTable(tenant_id=admin.tenant_id, namespace="gold", name=unique("t"), created_by="test")
        session.add(row)
        session.flush()
        newest = row.id
        session.delete(row)
    with session_scope(engine) as session:
        again = LakeTable(tenant_id=admin.tenant_id, namespace="gold", name=unique("t"), created_by="test")
        session.add(again)
        session.flush()
        assert again.id is not None and newest is not None and again.id > newest


def _schema(conn) -> dict[str, str]:
    return dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")).all())


def test_migration_0007_upgrades_a_sqlite_store_in_place(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = _alembic_config(engine)
    command.upgrade(config, "0006")
    with session_scope(engine) as session:
        # A tenant as the service made one then: roles, permissions, their links (no project before 0012).
        tenant = Tenant(name="old")
        session.add(tenant)
        session.flush()
        rbac.seed_tenant(session=session, tenant_id=tenant.id)
        tenant_id = tenant.id
        session.add(Role(tenant_id=tenant_id, name="newest"))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM roles WHERE name = 'newest'"))  # freed before the migration
        conn.execute(
            text(
                "INSERT INTO predictors (tenant_id, predictor_name, domain, problem_type, created_by, "
                "created_at, modified_at) VALUES (:t, 'p', 'd', 'Regression', 'x', :day, :day)"
            ),
            {"t": tenant_id, "day": "2026-01-01"},
        )
        for version in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO training_runs (tenant_id, predictor_id, version, dataset_name, data_source, "
                    "problem_type, domain, columns, algorithm, params, time_budget_s, seed, is_incremental, "
                    "shap_enabled, status, stage, percent, callback_secret_hash, created_by, created_at, "
                    "modified_at) VALUES (:t, 1, :v, 'd', 'csv', 'Regression', 'd', '[]', 'lightgbm', '{}', "
                    "60, 0, 0, 0, 'completed', 'done', 100, '', 'x', '2026-01-01', '2026-01-01')"
                ),
                {"t": tenant_id, "v": version},
            )
        before = {
            table: conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")).all()
            for table in ("roles", "permissions", "role_permissions", "predictors")
        }
        indexes = {name for name, sql in _schema(conn).items() if sql.startswith("CREATE INDEX")}

    command.upgrade(config, "head")

    with engine.connect() as conn:
        schema = _schema(conn)
        for table, rows in before.items():  # rows, keys and links kept: no cascade while rebuilding
            now = conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")).all()
            assert [tuple(row)[: len(rows[0])] for row in now] == [tuple(row) for row in rows]
        # 0012: the predictor is a registered model in its tenant's default project, trained by its runs
        assert conn.execute(
            text(
                "SELECT p.status, p.task, j.name FROM predictors p JOIN projects j ON j.id = p.project_id "
                "AND j.tenant_id = p.tenant_id"
            )
        ).all() == [("trained", "regression", "default")]
        assert indexes <= set(schema)
        assert "AUTOINCREMENT" in schema["roles"] and "AUTOINCREMENT" in schema["training_runs"]
        uids = conn.execute(text("SELECT uid FROM training_runs")).scalars().all()
        assert len(set(uids)) == 2 and all(len(u) == 32 for u in uids)
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # the pooled connection too
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        highest = conn.execute(text("SELECT max(id) FROM roles")).scalar()
    with session_scope(engine) as session:
        role = Role(tenant_id=tenant_id, name="after")
        session.add(role)
        session.flush()
        assert role.id == highest + 1
        assert session.exec(select(Role).where(Role.tenant_id == tenant_id)).all()
    command.downgrade(config, "0006")  # and back, rows kept
    with engine.connect() as conn:
        assert "AUTOINCREMENT" not in _schema(conn)["roles"]
        assert conn.execute(text("SELECT count(*) FROM role_permissions")).scalar() == len(
            before["role_permissions"]
        )
    engine.dispose()
