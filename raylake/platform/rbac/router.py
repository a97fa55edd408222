"""Roles and permissions (RBAC), plus what the reference leaves out: listing, attaching, assigning."""

from __future__ import annotations

from fastapi import APIRouter

from raylake.platform.deps import IdPath, PageDep, RbacAdmin, RbacRead, SessionDep
from raylake.platform.rbac import service
from raylake.platform.users import service as users
from raylake.schemas.rbac import (
    PermissionCreate,
    PermissionNames,
    PermissionPublic,
    PermissionsPublic,
    RoleCreate,
    RoleNames,
    RolePublic,
    RolesPublic,
)
from raylake.schemas.users import UserPublic

router = APIRouter(prefix="/rbac", tags=["rbac"])


@router.post("/roles/", response_model=RolePublic, status_code=201)
def create_role(session: SessionDep, principal: RbacAdmin, data: RoleCreate) -> RolePublic:
    """Create a role with permissions you hold yourself: 201 with the role."""
    return service.create_role(session=session, principal=principal, data=data)


@router.get("/roles/", response_model=RolesPublic)
def list_roles(session: SessionDep, principal: RbacRead, page: PageDep) -> RolesPublic:
    """A page of your tenant's roles with their permissions; and how many there are."""
    roles, count = service.list_roles(session=session, principal=principal, skip=page.skip, limit=page.limit)
    return RolesPublic(data=roles, count=count)


@router.post("/permissions/", response_model=PermissionPublic, status_code=201)
def create_permission(session: SessionDep, principal: RbacAdmin, data: PermissionCreate) -> PermissionPublic:
    """Create a custom permission in your tenant: 201 with the permission."""
    return service.create_permission(session=session, principal=principal, data=data)


@router.get("/permissions/", response_model=PermissionsPublic)
def list_permissions(session: SessionDep, principal: RbacRead, page: PageDep) -> PermissionsPublic:
    """A page of your tenant's permissions; and how many there are."""
    perms, count = service.list_permissions(
        session=session, principal=principal, skip=page.skip, limit=page.limit
    )
    return PermissionsPublic(data=perms, count=count)


@router.post("/roles/{role_id}/permissions", response_model=RolePublic)
def attach_permissions(
    session: SessionDep, principal: RbacAdmin, role_id: IdPath, data: PermissionNames
) -> RolePublic:
    """Add permissions you hold to a role: the role as it now is."""
    return service.attach_permissions(
        session=session, principal=principal, role_id=role_id, names=data.permissions
    )


@router.delete("/roles/{role_id}/permissions/{permission_name}", response_model=RolePublic)
def detach_permission(
    session: SessionDep, principal: RbacAdmin, role_id: IdPath, permission_name: str
) -> RolePublic:
    """Take a permission from a role: the role as it now is."""
    return service.detach_permission(
        session=session, principal=principal, role_id=role_id, name=permission_name
    )


@router.post("/users/{user_id}/roles", response_model=UserPublic)
def assign_roles(session: SessionDep, principal: RbacAdmin, user_id: IdPath, data: RoleNames) -> UserPublic:
    """Give a user roles of their tenant (only roles whose permissions you hold): the user as they now are."""
    user = users.get_user(session=session, principal=principal, user_id=user_id)
    service.assign_roles(
        session=session, principal=principal, user_id=user_id, tenant_id=user.tenant_id, names=data.roles
    )
    return users.user_public(session=session, user=user)


@router.delete("/users/{user_id}/roles/{role_name}", response_model=UserPublic)
def revoke_role(session: SessionDep, principal: RbacAdmin, user_id: IdPath, role_name: str) -> UserPublic:
    """Take a role from a user (never the last active admin's admin role: 409): the user as they now are."""
    user = users.get_user(session=session, principal=principal, user_id=user_id)
    service.revoke_role(
        session=session, principal=principal, user_id=user_id, tenant_id=user.tenant_id, name=role_name
    )
    return users.user_public(session=session, user=user)
