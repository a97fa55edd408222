"""Login, token refresh, logout and password reset, and token validation routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import ValidationError

from raylake.platform.apikeys import service as apikeys
from raylake.platform.auth import service
from raylake.platform.deps import Authenticated, BearerDep, Public, SessionDep, SettingsDep, client_address
from raylake.platform.errors import Invalid
from raylake.platform.security import decode_token, expiry
from raylake.platform.users import service as users
from raylake.schemas.auth import RefreshRequest, ResetPasswordRequest, Token, TokenValidation
from raylake.schemas.common import Message
from raylake.schemas.users import UserPublic

router = APIRouter(tags=["login"])


def _refresh_token(
    refresh_token: Annotated[
        str | None, Query(description="The refresh token (prefer the JSON body)")
    ] = None,
    body: Annotated[RefreshRequest | None, Body()] = None,
) -> str:
    token = body.refresh_token if body is not None else refresh_token
    if not token:
        raise Invalid("refresh_token is required")
    return token


RefreshTokenDep = Annotated[str, Depends(_refresh_token)]


@router.post("/login/access-token", response_model=Token, dependencies=[Public])
def login_access_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """Log in with the OAuth2 password form: an access token and a refresh token (401 for either wrong)."""
    return service.login(
        session=session,
        settings=settings,
        username=form.username,
        password=form.password,
        client=client_address(request),
    )


@router.post("/login/test-token", response_model=UserPublic)
def test_token(session: SessionDep, principal: Authenticated) -> UserPublic:
    """The user behind the bearer token: a check that an access token still works."""
    user = users.get_user(session=session, principal=principal, user_id=principal.user_id)
    return users.user_public(session=session, user=user)


@router.post("/refresh", response_model=Token, dependencies=[Public])
def refresh(session: SessionDep, settings: SettingsDep, token: RefreshTokenDep) -> Token:
    """New access and refresh tokens for a refresh token, which is spent (reusing it ends its session)."""
    return service.refresh(session=session, settings=settings, refresh_token=token)


@router.post("/logout", response_model=Message, dependencies=[Public])
def logout(session: SessionDep, settings: SettingsDep, token: RefreshTokenDep) -> Message:
    """End the session a refresh token belongs to."""
    service.logout(session=session, settings=settings, refresh_token=token)
    return Message(message="User successfully logged out")


def _reset_request(
    user_name: Annotated[str | None, Query()] = None,
    new_password: Annotated[str | None, Query()] = None,
    current_password: Annotated[str | None, Query()] = None,
    body: Annotated[ResetPasswordRequest | None, Body()] = None,
) -> ResetPasswordRequest:
    """The reference's query parameters, or (preferred: kept out of URLs and access logs) a JSON body."""
    if body is not None:
        return body
    try:
        return ResetPasswordRequest.model_validate(
            {"user_name": user_name, "new_password": new_password, "current_password": current_password}
        )
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("query", *err["loc"])} for err in exc.errors(include_input=False)]
        ) from None


@router.post("/reset-password", response_model=Message)
def reset_password(
    session: SessionDep,
    principal: Authenticated,
    data: Annotated[ResetPasswordRequest, Depends(_reset_request)],
) -> Message:
    """Set a new password: your own with the current one, or (superusers) anyone's; their sessions end."""
    service.reset_password(
        session=session,
        principal=principal,
        user_name=data.user_name,
        new_password=data.new_password,
        current_password=data.current_password,
    )
    return Message(message="Password has been reset successfully")


@router.get("/validate-token", response_model=TokenValidation)
def validate_token(
    principal: Authenticated, session: SessionDep, settings: SettingsDep, token: BearerDep
) -> TokenValidation:
    """What the bearer access token (or API key) says: its user, tenant, permissions and when it expires
    (null: an API key without expiry)."""
    if apikeys.is_key(token or ""):
        expires_at = apikeys.expires_at(session=session, key=token or "")
    else:
        expires_at = expiry(decode_token(token or "", secret=settings.secret(), expected_type="access"))
    return TokenValidation(
        user_id=principal.user_id,
        username=principal.username,
        tenant_id=principal.tenant_id,
        is_superuser=principal.is_superuser,
        permissions=sorted(principal.permissions),
        expires_at=expires_at,
    )
