"""Tenants: the reference has none; this is where tenants are made (superusers only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from raylake.platform.deps import JobsDep, LakeDep, PageDep, SessionDep, SettingsDep, Superuser
from raylake.platform.inference.deps import GatewayDep
from raylake.platform.tenants import service
from raylake.schemas.common import Deleted
from raylake.schemas.tenants import TenantCreate, TenantPublic, TenantsPublic

router = APIRouter(prefix="/tenants", tags=["tenants"])


@router.post("/", response_model=TenantPublic, status_code=201)
def create_tenant(session: SessionDep, _: Superuser, data: TenantCreate) -> TenantPublic:
    """Create a tenant with its built-in roles and default project (superusers only; 409 for a taken name)."""
    tenant = service.create_tenant(session=session, name=data.name)
    return TenantPublic.model_validate(tenant, from_attributes=True)


@router.get("/", response_model=TenantsPublic)
def list_tenants(
    session: SessionDep,
    _: Superuser,
    page: PageDep,
) -> TenantsPublic:
    """A page of tenants, oldest first; and how many there are (superusers only)."""
    tenants, count = service.list_tenants(session=session, skip=page.skip, limit=page.limit)
    return TenantsPublic(
        data=[TenantPublic.model_validate(t, from_attributes=True) for t in tenants], count=count
    )


@router.delete("/{tenant_id}", response_model=Deleted)
def delete_tenant(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    jobs: JobsDep,
    gateway: GatewayDep,
    principal: Superuser,
    tenant_id: Annotated[str, Path(max_length=36)],
) -> Deleted:
    """A tenant and everything it holds: users, roles, templates, datasets, lake tables, files, runs,
    models, deployments and jobs. Not the default tenant, nor your own (409)."""
    service.delete_tenant(
        session=session,
        settings=settings,
        ctx=ctx,
        jobs=jobs,
        principal=principal,
        tenant_id=tenant_id,
        gateway=gateway,
    )
    return Deleted(message="Tenant deleted successfully")
