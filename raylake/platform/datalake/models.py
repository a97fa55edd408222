from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from raylake.platform.clock import utcnow


class LakeTable(SQLModel, table=True):
    """Which tenant owns which Iceberg table: the datalake API lists and resolves names only here."""

    __tablename__ = "lake_tables"
    __table_args__ = (
        UniqueConstraint("namespace", "name", name="uq_lake_table"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    namespace: str = Field(max_length=32)
    name: str = Field(max_length=160)
    dataset_id: int | None = Field(default=None, foreign_key="datasets.id", ondelete="CASCADE")
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
