from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from raylake.platform.clock import utcnow


class _Grant(SQLModel):
    """The columns a permission and a role share: a name unique per tenant, built in or custom."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    name: str = Field(max_length=64)
    description: str | None = Field(default=None, max_length=255)
    is_builtin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Permission(_Grant, table=True):
    __tablename__ = "permissions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_permission_tenant_name"),
        {"sqlite_autoincrement": True},
    )


class Role(_Grant, table=True):
    __tablename__ = "roles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_role_tenant_name"),
        {"sqlite_autoincrement": True},
    )


class RolePermission(SQLModel, table=True):
    __tablename__ = "role_permissions"

    role_id: int = Field(foreign_key="roles.id", primary_key=True, ondelete="CASCADE")
    permission_id: int = Field(foreign_key="permissions.id", primary_key=True, ondelete="CASCADE")


class UserRole(SQLModel, table=True):
    __tablename__ = "user_roles"

    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    role_id: int = Field(foreign_key="roles.id", primary_key=True, ondelete="CASCADE", index=True)
