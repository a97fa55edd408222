"""The metadata store on both backends: migrations, pragmas, constraints."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from raylake.platform.db import migrate, session_scope
from raylake.platform.rbac.catalogue import DEFAULT_ROLES, PERMISSIONS
from raylake.platform.rbac.models import Permission, Role
from raylake.platform.tenants.models import Tenant
from raylake.platform.users.models import User
from raylake.serve_apps.app_builder import prepare
from tests.factories import create_tenant


def test_migrations_are_idempotent(engine, settings):
    migrate(engine)
    prepare(settings)  # a second start reuses what is there
    with session_scope(engine) as session:
        assert session.exec(select(User).where(User.username == settings.first_superuser)).one().is_superuser
        defaults = session.exec(select(Tenant).where(Tenant.name == settings.default_tenant)).all()
        assert len(defaults) == 1


def test_sqlite_pragmas(engine, settings):
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_foreign_keys_enforced(engine):
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(User(tenant_id="no-such-tenant", username="orphan", email="o@x.io", hashed_password="x"))
        session.flush()


def test_new_tenant_gets_catalogue_and_default_roles(engine):
    tenant_id = create_tenant(engine)
    with session_scope(engine) as session:
        perms = {p.name for p in session.exec(select(Permission).where(Permission.tenant_id == tenant_id))}
        roles = {r.name for r in session.exec(select(Role).where(Role.tenant_id == tenant_id))}
    assert perms == set(PERMISSIONS)
    assert roles == set(DEFAULT_ROLES)


def test_role_names_unique_per_tenant(engine):
    tenant_id = create_tenant(engine)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Role(tenant_id=tenant_id, name="admin"))
        session.flush()
