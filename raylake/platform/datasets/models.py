from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from raylake.core.vocabulary import JobStatus
from raylake.platform.clock import utcnow


class Dataset(SQLModel, table=True):
    """A named collection of uploaded files validated against one template, stored as Iceberg tables.

    ``snapshot_id`` is the silver table's current snapshot: the dataset's version. Every change is also
    kept as a ``DatasetVersion`` row, so a training run can name exactly the data it read.
    """

    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dataset_name", name="uq_dataset_tenant_name"),
        Index("uq_dataset_tenant_table_alias", "tenant_id", "table_alias", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    dataset_name: str = Field(max_length=128)
    template_id: int | None = Field(default=None, foreign_key="templates.id", index=True)
    usage: str = Field(max_length=1)
    data_source: str = Field(default="csv", max_length=16)
    iceberg_table_name: str = Field(default="", max_length=160)
    # The name the tenant chose for the dataset's tables (``iceberg_table_name`` on upload), unique in the
    # tenant and shown everywhere instead of the generated one. The Iceberg tables themselves keep their
    # generated names (``iceberg_table_name`` here), which are unique in the whole shared catalog.
    table_alias: str | None = Field(default=None, max_length=128)
    column_specs: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_valid: bool = False
    total_records: int = 0
    valid_records: int = 0
    snapshot_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    bronze_snapshot_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_by: str = Field(max_length=64)
    modified_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    modified_at: datetime = Field(default_factory=utcnow)


class DatasetFile(SQLModel, table=True):
    __tablename__ = "dataset_files"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="datasets.id", index=True, ondelete="CASCADE")
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    file_name: str = Field(max_length=255)
    # "upload": rows of it are in the dataset's tables; "prediction": a batch prediction's output CSV,
    # downloadable like any file but holding no rows of the dataset.
    kind: str = Field(default="upload", max_length=16)
    storage_key: str = Field(default="", max_length=512)
    # The text encoding the file was read in ("utf-8", "utf-8-sig", "utf-16", or a detected code page
    # such as "cp1250" or "koi8_r"); None for Parquet and for outputs raylake wrote itself.
    encoding: str | None = Field(default=None, max_length=32)
    size_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    total_fields: int = 0
    total_records: int = 0
    valid_records: int = 0
    is_valid: bool = False
    error_report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    modified_at: datetime = Field(default_factory=utcnow)


class DatasetVersion(SQLModel, table=True):
    """One committed change of a dataset's tables: which snapshot it produced and why."""

    __tablename__ = "dataset_versions"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="datasets.id", index=True, ondelete="CASCADE")
    snapshot_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    bronze_snapshot_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    change: str = Field(max_length=32)
    file_id: int | None = None
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class DatasetStatistics(SQLModel, table=True):
    """A statistics job for one dataset snapshot, its progress and its result."""

    __tablename__ = "dataset_statistics"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="datasets.id", index=True, ondelete="CASCADE")
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    snapshot_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    ray_job_id: str | None = Field(default=None, max_length=128)
    status: str = Field(default=JobStatus.SUBMITTED.value, max_length=32)
    stage: str = Field(default="queued", max_length=64)
    percent: int = 0
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=2000)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
