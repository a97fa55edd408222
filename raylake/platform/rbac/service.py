"""Roles and permissions within a tenant, and the guard against granting more than one holds."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import Session, col, select

from raylake.platform.db import paged, stored_id
from raylake.platform.errors import Conflict, Forbidden, Invalid
from raylake.platform.rbac.catalogue import ADMIN_ROLE, DEFAULT_ROLES, PERMISSIONS
from raylake.platform.rbac.models import Permission, Role, RolePermission, UserRole
from raylake.platform.tenancy import Principal, get_scoped, scoped, target_tenant
from raylake.platform.users.models import User
from raylake.schemas.rbac import PermissionCreate, PermissionPublic, RoleCreate, RolePublic


def seed_tenant(*, session: Session, tenant_id: str) -> None:
    """Give a tenant the permission catalogue and the default roles (idempotent)."""
    existing = {p.name: p for p in session.exec(select(Permission).where(Permission.tenant_id == tenant_id))}
    for name, description in PERMISSIONS.items():
        if name not in existing:
            existing[name] = Permission(
                tenant_id=tenant_id, name=name, description=description, is_builtin=True
            )
            session.add(existing[name])
    roles = {r.name for r in session.exec(select(Role).where(Role.tenant_id == tenant_id))}
    session.flush()
    for role_name, perms in DEFAULT_ROLES.items():
        if role_name in roles:
            continue
        role = Role(
            tenant_id=tenant_id, name=role_name, is_builtin=True, description=f"Built-in {role_name} role"
        )
        session.add(role)
        session.flush()
        session.add_all(
            RolePermission(role_id=stored_id(role), permission_id=stored_id(existing[p])) for p in perms
        )
    session.flush()


def user_permissions(*, session: Session, user_id: int) -> frozenset[str]:
    """The names of every permission a user holds through their roles."""
    rows = session.exec(
        select(Permission.name)
        .join(RolePermission, col(RolePermission.permission_id) == col(Permission.id))
        .join(UserRole, col(UserRole.role_id) == col(RolePermission.role_id))
        .where(UserRole.user_id == user_id)
    )
    return frozenset(rows)


def user_role_names(*, session: Session, user_ids: list[int]) -> dict[int, list[str]]:
    """Role names per user, in one query for a whole page of users."""
    rows = session.exec(
        select(UserRole.user_id, Role.name)
        .join(Role, col(UserRole.role_id) == col(Role.id))
        .where(col(UserRole.user_id).in_(user_ids))
    )
    names: dict[int, list[str]] = {uid: [] for uid in user_ids}
    for user_id, name in rows:
        names[user_id].append(name)
    return {uid: sorted(v) for uid, v in names.items()}


def role_permission_names(*, session: Session, role_id: int) -> list[str]:
    """The names of a role's permissions, sorted."""
    rows = session.exec(
        select(Permission.name)
        .join(RolePermission, col(RolePermission.permission_id) == col(Permission.id))
        .where(RolePermission.role_id == role_id)
    )
    return sorted(rows)


def _guard_grant(principal: Principal, permissions: Iterable[str]) -> None:
    """Nobody hands out a permission they do not hold themselves (superusers hold all)."""
    missing = sorted(set(permissions) - principal.permissions) if not principal.is_superuser else []
    if missing:
        raise Forbidden(f"Cannot grant permissions you do not hold: {', '.join(missing)}")


def _permissions_by_name(session: Session, tenant_id: str, names: Iterable[str]) -> list[Permission]:
    wanted = set(names)
    found = list(
        session.exec(
            select(Permission).where(Permission.tenant_id == tenant_id, col(Permission.name).in_(wanted))
        )
    )
    unknown = sorted(wanted - {p.name for p in found})
    if unknown:
        raise Invalid(f"Unknown permissions: {', '.join(unknown)}")
    return found


def roles_by_name(*, session: Session, tenant_id: str, names: Iterable[str]) -> list[Role]:
    """A tenant's roles with these names; Invalid naming any that do not exist."""
    wanted = set(names)
    found = list(session.exec(select(Role).where(Role.tenant_id == tenant_id, col(Role.name).in_(wanted))))
    unknown = sorted(wanted - {r.name for r in found})
    if unknown:
        raise Invalid(f"Unknown roles: {', '.join(unknown)}")
    return found


def role_public(*, session: Session, role: Role) -> RolePublic:
    """A role as the API shows it, with its permission names."""
    assert role.id is not None
    return RolePublic(
        id=role.id,
        tenant_id=role.tenant_id,
        name=role.name,
        description=role.description,
        permissions=role_permission_names(session=session, role_id=role.id),
    )


def create_role(*, session: Session, principal: Principal, data: RoleCreate) -> RolePublic:
    """A new role in the caller's (or a named) tenant with permissions the caller may grant."""
    tenant_id = target_tenant(session, principal, data.tenant_id)
    if session.exec(select(Role).where(Role.tenant_id == tenant_id, Role.name == data.name)).first():
        raise Conflict(f"Role {data.name!r} already exists")
    permissions = _permissions_by_name(session, tenant_id, data.permissions)
    _guard_grant(principal, (p.name for p in permissions))
    role = Role(tenant_id=tenant_id, name=data.name, description=data.description)
    session.add(role)
    session.flush()
    session.add_all(RolePermission(role_id=stored_id(role), permission_id=stored_id(p)) for p in permissions)
    session.flush()
    return role_public(session=session, role=role)


def list_roles(
    *, session: Session, principal: Principal, skip: int, limit: int
) -> tuple[list[RolePublic], int]:
    """A page of the tenant's roles with their permissions; and how many roles there are."""
    roles, total = paged(
        session, scoped(select(Role), Role, principal).order_by(col(Role.id)), skip=skip, limit=limit
    )
    return [role_public(session=session, role=r) for r in roles], total


def create_permission(*, session: Session, principal: Principal, data: PermissionCreate) -> PermissionPublic:
    """A new custom permission in the caller's (or a named) tenant."""
    tenant_id = target_tenant(session, principal, data.tenant_id)
    clash = session.exec(
        select(Permission).where(Permission.tenant_id == tenant_id, Permission.name == data.name)
    ).first()
    if clash:
        raise Conflict(f"Permission {data.name!r} already exists")
    perm = Permission(tenant_id=tenant_id, name=data.name, description=data.description)
    session.add(perm)
    session.flush()
    return PermissionPublic.model_validate(perm, from_attributes=True)


def list_permissions(
    *, session: Session, principal: Principal, skip: int, limit: int
) -> tuple[list[PermissionPublic], int]:
    """A page of the tenant's permissions; and how many there are."""
    stmt = scoped(select(Permission), Permission, principal).order_by(col(Permission.id))
    perms, total = paged(session, stmt, skip=skip, limit=limit)
    return [PermissionPublic.model_validate(p, from_attributes=True) for p in perms], total


def attach_permissions(
    *, session: Session, principal: Principal, role_id: int, names: list[str]
) -> RolePublic:
    """Add permissions the caller may grant to a role; the role as it now is."""
    role = get_scoped(session, Role, role_id, principal, "Role")
    permissions = _permissions_by_name(session, role.tenant_id, names)
    _guard_grant(principal, (p.name for p in permissions))
    held = set(role_permission_names(session=session, role_id=role_id))
    session.add_all(
        RolePermission(role_id=role_id, permission_id=stored_id(p)) for p in permissions if p.name not in held
    )
    session.flush()
    return role_public(session=session, role=role)


def detach_permission(*, session: Session, principal: Principal, role_id: int, name: str) -> RolePublic:
    """Take a permission from a role (never a catalogue one from the admin role)."""
    role = get_scoped(session, Role, role_id, principal, "Role")
    (permission,) = _permissions_by_name(session, role.tenant_id, [name])
    link = session.get(RolePermission, (role_id, permission.id))
    if link is not None and role.is_builtin and role.name == ADMIN_ROLE and permission.is_builtin:
        raise Conflict(f"The {ADMIN_ROLE} role keeps every catalogue permission")
    if link is not None:
        session.delete(link)
        session.flush()
    return role_public(session=session, role=role)


def assign_roles(
    *, session: Session, principal: Principal, user_id: int, tenant_id: str, names: list[str]
) -> None:
    """Give a user these roles of a tenant, each only if the caller holds its permissions."""
    roles = roles_by_name(session=session, tenant_id=tenant_id, names=names)
    for role in roles:
        assert role.id is not None
        _guard_grant(principal, role_permission_names(session=session, role_id=role.id))
    held = {r for r in session.exec(select(UserRole.role_id).where(UserRole.user_id == user_id))}
    session.add_all(UserRole(user_id=user_id, role_id=stored_id(r)) for r in roles if r.id not in held)
    session.flush()


def _other_active_admins(session: Session, *, tenant_id: str, user_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(UserRole)
        .join(Role, col(Role.id) == col(UserRole.role_id))
        .join(User, col(User.id) == col(UserRole.user_id))
        .where(
            Role.tenant_id == tenant_id,
            Role.name == ADMIN_ROLE,
            User.is_active == True,  # noqa: E712
            UserRole.user_id != user_id,
        )
    ).one()


def revoke_role(*, session: Session, principal: Principal, user_id: int, tenant_id: str, name: str) -> None:
    """Take a role from a user; never the tenant's last active admin's admin role (409)."""
    (role,) = roles_by_name(session=session, tenant_id=tenant_id, names=[name])
    link = session.get(UserRole, (user_id, role.id))
    user = session.get(User, user_id)
    if (
        link is not None
        and role.name == ADMIN_ROLE
        and user is not None
        and user.is_active
        and _other_active_admins(session, tenant_id=tenant_id, user_id=user_id) == 0
    ):
        raise Conflict(f"This is the tenant's last active {ADMIN_ROLE}: make another user {ADMIN_ROLE} first")
    if link is not None:
        session.delete(link)
        session.flush()
