"""API keys at the service level on both backends (no Ray): shown once and stored as a hash, accepted
where an access token is with the permissions they were made with, never more than their creator holds
(now or later); revoked, expired, or a deactivated creator: 401; another tenant's key is a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from raylake.platform.apikeys import service as apikeys
from raylake.platform.apikeys.models import ApiKey
from raylake.platform.auth import service as auth
from raylake.platform.clock import utcnow
from raylake.platform.db import session_scope
from raylake.platform.errors import Forbidden, Invalid, NotFound, Unauthorized
from raylake.platform.rbac import service as rbac
from raylake.platform.users.models import User
from raylake.schemas.apikeys import ApiKeyCreate
from tests.factories import create_tenant, create_user


def _make(engine, principal, **body):
    with session_scope(engine) as session:
        return apikeys.create(session=session, principal=principal, data=ApiKeyCreate.model_validate(body))


def _who(engine, settings, key):
    with session_scope(engine) as session:
        return auth.authenticate(session=session, settings=settings, token=key).principal


def test_a_key_is_shown_once_kept_as_a_hash_and_holds_its_grant(engine, settings, member):
    made = _make(engine, member, name="ci", permissions=["inference:run", "train:read"])
    assert made.key.startswith("rlk_") and len(made.key) > 40 and made.prefix == made.key[:12]
    with session_scope(engine) as session:
        stored = session.get(ApiKey, made.id)
        assert stored.key_hash == apikeys.digest(made.key) and made.key not in stored.model_dump_json()
    who = _who(engine, settings, made.key)
    assert (who.user_id, who.tenant_id, who.session_id) == (
        member.user_id,
        member.tenant_id,
        f"key:{made.id}",
    )
    assert who.permissions == {"inference:run", "train:read"} and not who.is_superuser
    with session_scope(engine) as session:
        assert session.get(ApiKey, made.id).last_used_at is not None
        listed = apikeys.list_keys(session=session, principal=member, skip=0, limit=10)
    assert [k.id for k in listed.items] == [made.id] and "key" not in listed.items[0].model_dump()

    by_role = _make(engine, member, name="role", role="data_scientist")
    assert set(by_role.permissions) == set(member.permissions)


def test_a_key_never_holds_what_its_creator_lacks(engine, settings, member):
    with pytest.raises(Forbidden, match="user:admin"):
        _make(engine, member, name="greedy", permissions=["inference:run", "user:admin"])
    with pytest.raises(Forbidden):
        _make(engine, member, name="admin", role="admin")
    with pytest.raises(Invalid, match="Unknown permissions"):
        _make(engine, member, name="odd", permissions=["nope:never"])
    with pytest.raises(Invalid, match="future"):
        _make(engine, member, name="old", permissions=["train:read"], expires_at=utcnow() - timedelta(1))
    made = _make(engine, member, name="ci", permissions=["train:run", "train:read"])
    with pytest.raises(Forbidden, match="cannot make API keys"):
        _make(engine, _who(engine, settings, made.key), name="child", permissions=["train:read"])

    # The creator loses a role: the key loses its permissions with it.
    with session_scope(engine) as session:
        rbac.revoke_role(
            session=session,
            principal=_admin(engine, settings, member.tenant_id),
            user_id=member.user_id,
            tenant_id=member.tenant_id,
            name="data_scientist",
        )
    assert _who(engine, settings, made.key).permissions == frozenset()


def _admin(engine, settings, tenant_id):
    return create_user(engine, settings, tenant_id=tenant_id, roles=["admin"])


def test_revoked_expired_or_deactivated_is_401(engine, settings, member):
    revoked = _make(engine, member, name="a", permissions=["train:read"])
    with session_scope(engine) as session:
        apikeys.revoke(session=session, principal=member, key_id=revoked.id)
    expiring = _make(engine, member, name="b", permissions=["train:read"], expires_at=utcnow() + timedelta(1))
    with session_scope(engine) as session:
        session.get(ApiKey, expiring.id).expires_at = utcnow() - timedelta(seconds=1)
    for key in (revoked.key, expiring.key, revoked.key[:-1] + "x", "rlk_unknown"):
        with pytest.raises(Unauthorized):
            _who(engine, settings, key)

    live = _make(engine, member, name="c", permissions=["train:read"])
    assert _who(engine, settings, live.key).username == member.username
    with session_scope(engine) as session:
        session.exec(select(User).where(User.id == member.user_id)).one().is_active = False
    with pytest.raises(Unauthorized):
        _who(engine, settings, live.key)


def test_keys_are_walled_by_tenant_and_owner(engine, settings, member):
    mine = _make(engine, member, name="mine", permissions=["train:read"])
    colleague = create_user(engine, settings, tenant_id=member.tenant_id, roles=["data_scientist"])
    outsider = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["admin"])
    for other in (colleague, outsider):
        with session_scope(engine) as session, pytest.raises(NotFound):
            apikeys.revoke(session=session, principal=other, key_id=mine.id)
        with session_scope(engine) as session:
            assert apikeys.list_keys(session=session, principal=other, skip=0, limit=10).total == 0
    admin = _admin(engine, settings, member.tenant_id)  # a user admin of the tenant sees and revokes all
    with session_scope(engine) as session:
        assert mine.id in [
            k.id for k in apikeys.list_keys(session=session, principal=admin, skip=0, limit=50).items
        ]
        apikeys.revoke(session=session, principal=admin, key_id=mine.id)
    with pytest.raises(Unauthorized):
        _who(engine, settings, mine.key)
