"""API keys: machine credentials of one tenant, stored only as a hash."""

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from raylake.platform.clock import utcnow


class ApiKey(SQLModel, table=True):
    """A key a user made for a script or service: the permissions it holds (never more than its
    creator's, checked at each use), until it expires or is revoked. The key itself is shown once;
    only its SHA-256 is kept (a 256-bit random key needs no slow hash), with its first characters to
    recognise it by."""

    __tablename__ = "api_keys"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    role: str | None = Field(default=None, max_length=64)
    permissions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
