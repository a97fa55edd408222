"""Test data: unique names per call, so tests share one store without stepping on each other."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine

from raylake.platform.auth.service import authenticate
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.rbac import service as rbac
from raylake.platform.tenancy import Principal
from raylake.platform.tenants import service as tenants
from raylake.platform.users import service as users
from raylake.platform.users.models import User
from raylake.schemas.users import UserCreate

PASSWORD = "correct-horse-battery"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def superuser_principal(engine: Engine, settings: Settings) -> Principal:
    with session_scope(engine) as session:
        from sqlmodel import select

        admin = session.exec(select(User).where(User.username == settings.first_superuser)).one()
        assert admin.id is not None
        return Principal(
            user_id=admin.id, username=admin.username, tenant_id=admin.tenant_id, is_superuser=True
        )


def create_tenant(engine: Engine) -> str:
    with session_scope(engine) as session:
        return tenants.create_tenant(session=session, name=unique("tenant-")).id


def create_user(
    engine: Engine, settings: Settings, *, tenant_id: str, roles: list[str], password: str = PASSWORD
) -> Principal:
    """A user in a tenant with the given roles, returned as the Principal the API would build for them."""
    su = superuser_principal(engine, settings)
    name = unique("user")
    with session_scope(engine) as session:
        public = users.create_user(
            session=session,
            principal=su,
            data=UserCreate(
                tenant_id=tenant_id,
                username=name,
                email=f"{name}@example.com",
                password=password,
                roles=roles,
            ),
        )
        permissions = rbac.user_permissions(session=session, user_id=public.id)
    return Principal(user_id=public.id, username=name, tenant_id=tenant_id, permissions=permissions)


__all__ = ["PASSWORD", "authenticate", "create_tenant", "create_user", "superuser_principal", "unique"]
