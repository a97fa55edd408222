from datetime import datetime
from uuid import uuid4

from sqlmodel import Field, SQLModel

from raylake.platform.clock import utcnow


class Tenant(SQLModel, table=True):
    """A wall: every other row belongs to exactly one tenant."""

    __tablename__ = "tenants"

    id: str = Field(default_factory=lambda: str(uuid4()), primary_key=True, max_length=36)
    name: str = Field(unique=True, index=True, max_length=100)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
