"""API keys (``/api-keys``): machine credentials for scripts and services, made by a logged-in user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from raylake_client.models import ApiKey, ApiKeyCreated, Page
from raylake_client.paging import iterate

if TYPE_CHECKING:
    from raylake_client.client import Client


class ApiKeys:
    """``client.api_keys``: create (the key is shown once), list, revoke."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        name: str,
        *,
        role: str | None = None,
        permissions: list[str] | None = None,
        expires_at: datetime | None = None,
    ) -> ApiKeyCreated:
        """A key holding a role's permissions or the ones listed (never more than yours); keep ``.key``."""
        body: dict[str, Any] = {"name": name, "role": role, "permissions": permissions}
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        answer = self._client.http.json("POST", "/api-keys", json={k: v for k, v in body.items() if v})
        return ApiKeyCreated.model_validate(answer)

    def page(self, *, skip: int = 0, limit: int = 100) -> Page[ApiKey]:
        body = self._client.http.json("GET", "/api-keys", params={"skip": skip, "limit": limit})
        return Page[ApiKey](items=body["items"], total=body["total"])

    def list(self, *, page_size: int = 100) -> Iterator[ApiKey]:
        """Your keys (every key of the tenant for a user admin), a page at a time."""
        return iterate(lambda skip, limit: self.page(skip=skip, limit=limit), page_size)

    def revoke(self, key_id: int) -> None:
        self._client.http.json("DELETE", f"/api-keys/{key_id}")
