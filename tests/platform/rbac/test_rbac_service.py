"""Tenant walls and the no-escalation rules, at the service level (no Ray)."""

from __future__ import annotations

import pytest

from raylake.platform.db import session_scope
from raylake.platform.errors import Conflict, Forbidden, Invalid, NotFound
from raylake.platform.rbac import service as rbac
from raylake.platform.users import service as users
from raylake.schemas.rbac import PermissionCreate, RoleCreate
from raylake.schemas.users import UserCreate
from tests.factories import PASSWORD, create_tenant, create_user, superuser_principal, unique


@pytest.fixture
def tenant_admin(engine, settings):
    return create_user(engine, settings, tenant_id=create_tenant(engine), roles=["admin"])


def _new_user(**kw):
    name = unique("u")
    return UserCreate(username=name, email=f"{name}@example.com", password=PASSWORD, **kw)


def test_seed_is_idempotent(engine, tenant_admin):
    with session_scope(engine) as session:
        rbac.seed_tenant(session=session, tenant_id=tenant_admin.tenant_id)
        before = rbac.list_roles(session=session, principal=tenant_admin, skip=0, limit=100)
        rbac.seed_tenant(session=session, tenant_id=tenant_admin.tenant_id)
        assert rbac.list_roles(session=session, principal=tenant_admin, skip=0, limit=100) == before


def test_create_role_with_permissions_and_conflict(engine, tenant_admin):
    with session_scope(engine) as session:
        role = rbac.create_role(
            session=session,
            principal=tenant_admin,
            data=RoleCreate(name="analyst", permissions=["dataset:read", "train:read"]),
        )
    assert role.permissions == ["dataset:read", "train:read"] and role.tenant_id == tenant_admin.tenant_id
    with pytest.raises(Conflict), session_scope(engine) as session:
        rbac.create_role(session=session, principal=tenant_admin, data=RoleCreate(name="analyst"))
    with pytest.raises(Invalid), session_scope(engine) as session:
        rbac.create_role(
            session=session, principal=tenant_admin, data=RoleCreate(name="x", permissions=["nope"])
        )


def test_cannot_grant_what_you_do_not_hold(engine, settings, tenant_admin):
    scientist = create_user(engine, settings, tenant_id=tenant_admin.tenant_id, roles=["data_scientist"])
    scientist = scientist.__class__(
        **{**scientist.__dict__, "permissions": scientist.permissions | {"rbac:admin"}}
    )
    with pytest.raises(Forbidden), session_scope(engine) as session:
        rbac.create_role(
            session=session, principal=scientist, data=RoleCreate(name="boss", permissions=["user:admin"])
        )


def test_user_create_cannot_escalate(engine, settings, tenant_admin):
    scientist = create_user(engine, settings, tenant_id=tenant_admin.tenant_id, roles=["data_scientist"])
    scientist = scientist.__class__(
        **{**scientist.__dict__, "permissions": scientist.permissions | {"user:admin"}}
    )
    with pytest.raises(Forbidden), session_scope(engine) as session:
        users.create_user(session=session, principal=scientist, data=_new_user(roles=["admin"]))
    other_tenant = create_tenant(engine)
    with pytest.raises(NotFound), session_scope(engine) as session:
        users.create_user(session=session, principal=tenant_admin, data=_new_user(tenant_id=other_tenant))


def test_duplicate_username_or_email_conflicts(engine, tenant_admin):
    data = _new_user()
    with session_scope(engine) as session:
        users.create_user(session=session, principal=tenant_admin, data=data)
    with pytest.raises(Conflict), session_scope(engine) as session:
        users.create_user(session=session, principal=tenant_admin, data=data)
    upper = data.model_copy(update={"username": unique("v"), "email": data.email.upper()})
    with pytest.raises(Conflict), session_scope(engine) as session:
        users.create_user(session=session, principal=tenant_admin, data=upper)


def test_other_tenants_rows_are_not_found(engine, settings, tenant_admin):
    stranger = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["admin"])
    with pytest.raises(NotFound), session_scope(engine) as session:
        users.get_user(session=session, principal=tenant_admin, user_id=stranger.user_id)
    with session_scope(engine) as session:
        listed, count = users.list_users(session=session, principal=tenant_admin, skip=0, limit=100)
        assert {u.tenant_id for u in listed} == {tenant_admin.tenant_id} and count == len(listed)
        role_ids = [r.id for r in rbac.list_roles(session=session, principal=stranger, skip=0, limit=100)[0]]
    with pytest.raises(NotFound), session_scope(engine) as session:
        rbac.attach_permissions(
            session=session, principal=tenant_admin, role_id=role_ids[0], names=["train:run"]
        )
    with pytest.raises(NotFound), session_scope(engine) as session:
        rbac.create_permission(
            session=session,
            principal=tenant_admin,
            data=PermissionCreate(name="p", tenant_id=stranger.tenant_id),
        )


def _revoke(engine, principal, user, name):
    with session_scope(engine) as session:
        rbac.revoke_role(
            session=session, principal=principal, user_id=user.user_id, tenant_id=user.tenant_id, name=name
        )


def test_the_last_active_admin_keeps_the_admin_role(engine, settings, tenant_admin):
    with pytest.raises(Conflict):  # their own role, by themselves
        _revoke(engine, tenant_admin, tenant_admin, "admin")
    with pytest.raises(Conflict):  # nor by a superuser
        _revoke(engine, superuser_principal(engine, settings), tenant_admin, "admin")
    other = create_user(engine, settings, tenant_id=tenant_admin.tenant_id, roles=["admin"])
    _revoke(engine, tenant_admin, tenant_admin, "admin")  # another admin is left
    with session_scope(engine) as session:
        assert rbac.user_role_names(session=session, user_ids=[tenant_admin.user_id]) == {
            tenant_admin.user_id: []
        }
    with pytest.raises(Conflict):
        _revoke(engine, other, other, "admin")
    _revoke(engine, other, other, "viewer")  # a role they do not hold, or any other, is fine


def test_the_admin_role_keeps_its_catalogue_permissions(engine, tenant_admin):
    with session_scope(engine) as session:
        (admin_role,) = rbac.roles_by_name(session=session, tenant_id=tenant_admin.tenant_id, names=["admin"])
    with pytest.raises(Conflict), session_scope(engine) as session:
        rbac.detach_permission(
            session=session, principal=tenant_admin, role_id=admin_role.id, name="rbac:admin"
        )
