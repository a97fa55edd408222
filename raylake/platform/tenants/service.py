"""Tenants: created by superusers, each seeded with the permission catalogue and default roles."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from raylake.platform.errors import Conflict
from raylake.platform.rbac import service as rbac
from raylake.platform.tenants.models import Tenant


def create_tenant(*, session: Session, name: str) -> Tenant:
    if session.exec(select(Tenant).where(func.lower(Tenant.name) == name.lower())).first():
        raise Conflict(f"Tenant {name!r} already exists")
    tenant = Tenant(name=name)
    session.add(tenant)
    session.flush()
    rbac.seed_tenant(session=session, tenant_id=tenant.id)
    return tenant


def list_tenants(*, session: Session, skip: int, limit: int) -> tuple[list[Tenant], int]:
    total = session.exec(select(func.count()).select_from(Tenant)).one()
    return list(
        session.exec(select(Tenant).order_by(col(Tenant.created_at)).offset(skip).limit(limit))
    ), total


def get_by_name(*, session: Session, name: str) -> Tenant | None:
    return session.exec(select(Tenant).where(Tenant.name == name)).first()
