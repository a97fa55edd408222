"""Login, refresh-token rotation with re-use detection, logout, password reset and token checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid4

from sqlmodel import Session, col, select

from raylake.platform.apikeys import service as apikeys
from raylake.platform.auth import throttle
from raylake.platform.auth.models import AuthSession, RefreshToken
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.db import stored_id
from raylake.platform.errors import Forbidden, NotFound, Unauthorized
from raylake.platform.rbac import service as rbac
from raylake.platform.security import (
    burn_password_check,
    decode_token,
    hash_password,
    issue_token,
    verify_password,
)
from raylake.platform.tenancy import Principal
from raylake.platform.tenants.models import Tenant
from raylake.platform.users import service as users
from raylake.platform.users.models import User
from raylake.schemas.auth import Token

BAD_CREDENTIALS = "Incorrect username or password"


def _tokens(*, session: Session, settings: Settings, user: User, auth_session: AuthSession) -> Token:
    assert user.id is not None
    refresh, claims = issue_token(
        secret=settings.secret(),
        token_type="refresh",
        user_id=user.id,
        tenant_id=user.tenant_id,
        session_id=auth_session.id,
        ttl=timedelta(days=settings.refresh_token_days),
    )
    session.add(
        RefreshToken(jti=claims["jti"], session_id=auth_session.id, expires_at=auth_session.expires_at)
    )
    access_ttl = timedelta(minutes=settings.access_token_minutes)
    access, _ = issue_token(
        secret=settings.secret(),
        token_type="access",
        user_id=user.id,
        tenant_id=user.tenant_id,
        session_id=auth_session.id,
        ttl=access_ttl,
    )
    session.flush()
    return Token(access_token=access, refresh_token=refresh, expires_in=int(access_ttl.total_seconds()))


def login(*, session: Session, settings: Settings, username: str, password: str, client: str) -> Token:
    """Unknown user and wrong password are the same 401, at the same cost; failures are counted."""
    throttle.check(session=session, username=username, client=client, settings=settings)
    user = users.find_by_login(session=session, username=username)
    if user is None:
        burn_password_check(password)
        ok = False
    else:
        ok = verify_password(password, user.hashed_password) and user.is_active
    tenant = session.get(Tenant, user.tenant_id) if ok and user else None
    if not ok or user is None or tenant is None or not tenant.is_active:
        throttle.record_failure(session=session, username=username, client=client, settings=settings)
        raise Unauthorized(BAD_CREDENTIALS, keep_changes=True)
    throttle.clear_pair(session=session, username=username, client=client)
    auth_session = AuthSession(
        id=str(uuid4()),
        user_id=stored_id(user),
        expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
    )
    session.add(auth_session)
    return _tokens(session=session, settings=settings, user=user, auth_session=auth_session)


def _live_refresh(session: Session, settings: Settings, token: str) -> tuple[RefreshToken, AuthSession]:
    claims = decode_token(token, secret=settings.secret(), expected_type="refresh")
    record = session.get(RefreshToken, claims["jti"])
    auth_session = session.get(AuthSession, claims["sid"])
    if record is None or auth_session is None or record.session_id != auth_session.id:
        raise Unauthorized()
    if auth_session.revoked_at is not None or auth_session.expires_at <= utcnow():
        raise Unauthorized()
    return record, auth_session


def refresh(*, session: Session, settings: Settings, refresh_token: str) -> Token:
    """Rotate: the presented token is spent; presenting a spent token again revokes its whole family."""
    record, auth_session = _live_refresh(session, settings, refresh_token)
    if record.used_at is not None:
        auth_session.revoked_at = utcnow()
        auth_session.revoked_reason = "refresh_token_reuse"
        session.add(auth_session)
        raise Unauthorized("Refresh token was already used; the session has been revoked", keep_changes=True)
    user = session.get(User, auth_session.user_id)
    if user is None or not user.is_active:
        raise Unauthorized()
    record.used_at = utcnow()
    session.add(record)
    return _tokens(session=session, settings=settings, user=user, auth_session=auth_session)


def logout(*, session: Session, settings: Settings, refresh_token: str) -> None:
    """Revoke the session a refresh token belongs to."""
    _, auth_session = _live_refresh(session, settings, refresh_token)
    auth_session.revoked_at = utcnow()
    auth_session.revoked_reason = "logout"
    session.add(auth_session)


def revoke_user_sessions(*, session: Session, user_id: int, reason: str) -> None:
    """Revoke every live session of a user (password change, deactivation), with the reason."""
    live = session.exec(
        select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at == None)  # noqa: E711
    )
    now = utcnow()
    for auth_session in live:
        auth_session.revoked_at = now
        auth_session.revoked_reason = reason
        session.add(auth_session)


def reset_password(
    *,
    session: Session,
    principal: Principal,
    user_name: str,
    new_password: str,
    current_password: str | None,
) -> None:
    """A superuser resets anyone's password; everyone else only their own, proving the current one."""
    target = users.find_by_login(session=session, username=user_name)
    if principal.is_superuser:
        if target is None:
            raise NotFound(f"User {user_name} not found")
    else:
        if target is None or target.id != principal.user_id:
            raise Forbidden("You can only reset your own password")
        if current_password is None or not verify_password(current_password, target.hashed_password):
            raise Forbidden("Current password is incorrect")
    assert target.id is not None
    users.check_new_password(
        session=session,
        password=new_password,
        tenant_id=target.tenant_id,
        username=target.username,
        email=target.email,
        first_name=target.first_name,
        last_name=target.last_name,
    )
    target.hashed_password = hash_password(new_password)
    target.updated_at = utcnow()
    session.add(target)
    revoke_user_sessions(session=session, user_id=target.id, reason="password_reset")


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    claims: dict


def authenticate(*, session: Session, settings: Settings, token: str) -> Authenticated:
    """The caller behind an access token (signature, claims, live session, active user and tenant) or
    an API key (``apikeys.check``)."""
    if apikeys.is_key(token):
        checked = apikeys.check(session=session, key=token)
        return Authenticated(principal=checked.principal, claims={"exp": checked.cache_until})
    claims = decode_token(token, secret=settings.secret(), expected_type="access")
    row = session.exec(
        select(User, AuthSession, Tenant)
        .join(AuthSession, col(AuthSession.user_id) == col(User.id))
        .join(Tenant, col(Tenant.id) == col(User.tenant_id))
        .where(User.id == int(claims["sub"]), AuthSession.id == claims["sid"])
    ).first()
    if row is None:
        raise Unauthorized()
    user, auth_session, tenant = row
    if (
        auth_session.user_id != user.id
        or auth_session.revoked_at is not None
        or not user.is_active
        or not tenant.is_active
        or user.tenant_id != claims["tid"]
    ):
        raise Unauthorized()
    assert user.id is not None
    permissions = (
        frozenset() if user.is_superuser else rbac.user_permissions(session=session, user_id=user.id)
    )
    principal = Principal(
        user_id=user.id,
        username=user.username,
        tenant_id=user.tenant_id,
        is_superuser=user.is_superuser,
        permissions=permissions,
        session_id=auth_session.id,
    )
    return Authenticated(principal=principal, claims=claims)
