from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from raylake.platform.clock import utcnow


class Template(SQLModel, table=True):
    """A tenant's data contract. ``name_key`` (the case-folded name) makes names unique per tenant
    regardless of case, the same on every backend."""

    __tablename__ = "templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name_key", name="uq_template_tenant_name"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    template_name: str = Field(max_length=128)
    name_key: str = Field(max_length=512)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    modified_by: str = Field(max_length=64)
    modified_at: datetime = Field(default_factory=utcnow)


class TemplateColumn(SQLModel, table=True):
    """One column of a template's schema, in order; ``data_type`` is a canonical ``types.DataType``."""

    __tablename__ = "template_columns"
    __table_args__ = (
        UniqueConstraint("template_id", "position", name="uq_template_column_position"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="templates.id", ondelete="CASCADE")  # indexed by the unique key
    position: int
    column_name: str = Field(max_length=256)
    data_type: str = Field(max_length=16)
    default_value: str | None = Field(default=None, max_length=1024)
