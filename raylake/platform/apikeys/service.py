"""API keys: made, listed and revoked by users; checked wherever a bearer token is.

A key is ``rlk_`` and 256 random bits; the store keeps its SHA-256 (a key that random needs no slow
hash, so checking one costs a hash and one query, and the replica's principal cache makes that once per
``RAYLAKE_AUTH_CACHE_S``). A key holds the permissions it was made with that its creator still holds:
the two are intersected at every check, so a creator who loses a role takes it from their keys too, and
a deactivated creator or tenant, an expired or revoked key, all answer 401.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from raylake.platform.apikeys.models import ApiKey
from raylake.platform.clock import utcnow
from raylake.platform.errors import Forbidden, Invalid, NotFound, Unauthorized
from raylake.platform.rbac import service as rbac
from raylake.platform.rbac.models import Permission
from raylake.platform.tenancy import Principal
from raylake.platform.tenants.models import Tenant
from raylake.platform.users.models import User
from raylake.schemas.apikeys import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, ApiKeysPublic

KEY_PREFIX = "rlk_"
SHOWN_PREFIX = 12  # characters of a key kept in clear to recognise it by
SESSION_PREFIX = "key:"  # a key's principals carry ``key:<id>`` as their session id
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key
CACHE_AT_MOST_S = 3600.0  # a key without expiry is re-checked at least this often, whatever the cache


def is_key(token: str) -> bool:
    """Whether a bearer credential is an API key (else an access token)."""
    return token.startswith(KEY_PREFIX)


def digest(key: str) -> str:
    """What the store keeps of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _public(key: ApiKey) -> ApiKeyPublic:
    assert key.id is not None
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        permissions=sorted(key.permissions),
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        created_by=key.created_by,
        created_at=key.created_at,
    )


def _granted(session: Session, principal: Principal, data: ApiKeyCreate) -> list[str]:
    """The permissions a new key holds: its role's or those listed, all of them the tenant's and the
    creator's (403 naming any the creator lacks)."""
    if data.role is not None:
        [role] = rbac.roles_by_name(session=session, tenant_id=principal.tenant_id, names=[data.role])
        assert role.id is not None
        wanted = set(rbac.role_permission_names(session=session, role_id=role.id))
    else:
        wanted = set(data.permissions or [])
        known = set(
            session.exec(
                select(Permission.name).where(
                    Permission.tenant_id == principal.tenant_id, col(Permission.name).in_(wanted)
                )
            ).all()
        )
        if unknown := sorted(wanted - known):
            raise Invalid(f"Unknown permissions: {', '.join(unknown)}")
    if not principal.is_superuser and (missing := sorted(wanted - principal.permissions)):
        raise Forbidden(f"An API key cannot hold permissions you do not hold: {', '.join(missing)}")
    return sorted(wanted)


def create(*, session: Session, principal: Principal, data: ApiKeyCreate) -> ApiKeyCreated:
    """A new key for the caller's tenant; the key itself is in this answer only."""
    if principal.session_id.startswith(SESSION_PREFIX):
        raise Forbidden("An API key cannot make API keys: log in as a user")
    if data.expires_at is not None and _aware(data.expires_at) <= utcnow():
        raise Invalid("expires_at must be in the future")
    permissions = _granted(session, principal, data)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        name=data.name,
        prefix=secret[:SHOWN_PREFIX],
        key_hash=digest(secret),
        role=data.role,
        permissions=permissions,
        expires_at=_aware(data.expires_at) if data.expires_at is not None else None,
        created_by=principal.username,
    )
    session.add(key)
    session.flush()
    return ApiKeyCreated(**_public(key).model_dump(), key=secret)


def _aware(moment: datetime) -> datetime:
    """A stored or sent moment as UTC (SQLite gives naive ones back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _visible(principal: Principal) -> SelectOfScalar[ApiKey]:
    """The keys a caller may see: their own, or every key of their tenant with ``user:admin``."""
    query = select(ApiKey).where(ApiKey.tenant_id == principal.tenant_id)
    if not principal.can("user:admin"):
        query = query.where(ApiKey.user_id == principal.user_id)
    return query


def list_keys(*, session: Session, principal: Principal, skip: int, limit: int) -> ApiKeysPublic:
    """The caller's keys (the tenant's, for user admins), newest first; revoked ones say so."""
    keys = session.exec(_visible(principal).order_by(col(ApiKey.id).desc())).all()
    return ApiKeysPublic(items=[_public(k) for k in keys[skip : skip + limit]], total=len(keys))


def revoke(*, session: Session, principal: Principal, key_id: int) -> None:
    """End a key at once on this replica, within ``RAYLAKE_AUTH_CACHE_S`` on the others (404 one the
    caller may not see)."""
    key = session.exec(_visible(principal).where(ApiKey.id == key_id)).first()
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()


def expires_at(*, session: Session, key: str) -> datetime | None:
    """When a (verified) key expires; None when it does not."""
    found = session.exec(select(ApiKey.expires_at).where(ApiKey.key_hash == digest(key))).first()
    return _aware(found) if found is not None else None


@dataclass(frozen=True)
class Checked:
    principal: Principal
    cache_until: float  # epoch seconds: the key's expiry, or a bound on how long it is trusted unchecked


def check(*, session: Session, key: str) -> Checked:
    """The caller behind a key: live, unexpired, its creator and tenant active; its permissions those it
    was made with that the creator still holds (401 otherwise)."""
    row = session.exec(
        select(ApiKey, User, Tenant)
        .join(User, col(User.id) == col(ApiKey.user_id))
        .join(Tenant, col(Tenant.id) == col(ApiKey.tenant_id))
        .where(ApiKey.key_hash == digest(key))
    ).first()
    if row is None:
        raise Unauthorized()
    found, user, tenant = row
    now = utcnow()
    expires = _aware(found.expires_at) if found.expires_at is not None else None
    if (
        found.revoked_at is not None
        or (expires is not None and expires <= now)
        or not user.is_active
        or not tenant.is_active
        or user.tenant_id != found.tenant_id
    ):
        raise Unauthorized()
    assert user.id is not None and found.id is not None
    held = None if user.is_superuser else rbac.user_permissions(session=session, user_id=user.id)
    permissions = frozenset(found.permissions) if held is None else frozenset(found.permissions) & held
    if found.last_used_at is None or _aware(found.last_used_at) < now - LAST_USED_EVERY:
        found.last_used_at = now
        session.add(found)
    principal = Principal(
        user_id=user.id,
        username=user.username,
        tenant_id=found.tenant_id,
        permissions=permissions,
        session_id=f"{SESSION_PREFIX}{found.id}",
    )
    until = now.timestamp() + CACHE_AT_MOST_S
    return Checked(principal, min(until, expires.timestamp()) if expires is not None else until)
