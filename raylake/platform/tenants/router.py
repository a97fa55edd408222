"""Tenants: the reference has none; this is where tenants are made (superusers only)."""

from __future__ import annotations

from fastapi import APIRouter

from raylake.platform.deps import PageDep, SessionDep, Superuser
from raylake.platform.tenants import service
from raylake.schemas.tenants import TenantCreate, TenantPublic, TenantsPublic

router = APIRouter(prefix="/tenants", tags=["tenants"])


@router.post("/", response_model=TenantPublic, status_code=201)
def create_tenant(session: SessionDep, _: Superuser, data: TenantCreate) -> TenantPublic:
    tenant = service.create_tenant(session=session, name=data.name)
    return TenantPublic.model_validate(tenant, from_attributes=True)


@router.get("/", response_model=TenantsPublic)
def list_tenants(
    session: SessionDep,
    _: Superuser,
    page: PageDep,
) -> TenantsPublic:
    tenants, count = service.list_tenants(session=session, skip=page.skip, limit=page.limit)
    return TenantsPublic(
        data=[TenantPublic.model_validate(t, from_attributes=True) for t in tenants], count=count
    )
