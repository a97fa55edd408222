"""API contracts of API keys: machine credentials a user makes for scripts and services."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from raylake.schemas.common import Name, Strict


class ApiKeyCreate(Strict):
    """A key holding one of the tenant's roles' permissions, or the permissions listed (never one its
    creator lacks), until ``expires_at`` (none: until revoked)."""

    name: Name
    role: Name | None = None
    permissions: Annotated[list[Name], Field(min_length=1, max_length=100)] | None = None
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _one_grant(self) -> ApiKeyCreate:
        if (self.role is None) == (self.permissions is None):
            raise ValueError("give a role or permissions, one of the two")
        return self


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it by")
    role: str | None
    permissions: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_by: str
    created_at: datetime


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself: shown this once, never again")


class ApiKeysPublic(BaseModel):
    items: list[ApiKeyPublic]
    total: int
