"""API keys: ``POST /api-keys`` shows a new key once; ``GET`` lists them; ``DELETE`` revokes one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from raylake.platform.apikeys import service
from raylake.platform.deps import Authenticated, Page, SessionDep, page_params
from raylake.schemas.apikeys import ApiKeyCreate, ApiKeyCreated, ApiKeysPublic
from raylake.schemas.common import Message

router = APIRouter(prefix="/api-keys", tags=["api-keys"])
KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("", response_model=ApiKeyCreated, status_code=201)
def create_api_key(session: SessionDep, principal: Authenticated, body: ApiKeyCreate) -> ApiKeyCreated:
    """A key for scripts and services (``Authorization: Bearer rlk_…`` or ``X-API-Key``): shown in this
    answer only, stored as a hash; it never holds a permission its creator lacks."""
    return service.create(session=session, principal=principal, data=body)


@router.get("", response_model=ApiKeysPublic)
def list_api_keys(
    session: SessionDep, principal: Authenticated, page: Annotated[Page, Depends(page_params)]
) -> ApiKeysPublic:
    """The caller's keys (every key of the tenant for user admins), without the keys themselves."""
    return service.list_keys(session=session, principal=principal, skip=page.skip, limit=page.limit)


@router.delete("/{key_id}", response_model=Message)
def revoke_api_key(session: SessionDep, principal: Authenticated, key_id: KeyId) -> Message:
    """Revoke a key: 401 at once on this API replica, within ``RAYLAKE_AUTH_CACHE_S`` on the others."""
    service.revoke(session=session, principal=principal, key_id=key_id)
    return Message(message=f"API key {key_id} revoked")
