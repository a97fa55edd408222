"""Datalake: inspect the tenant's Iceberg tables.

A table is reachable only through its ``LakeTable`` row, scoped to the caller's tenant (another tenant's
table is a 404, like one that does not exist); a column only through the table's Iceberg schema. Names are
compared, never interpolated: statistics are polars scans projected onto the one column, at the table's
current snapshot, with no query text anywhere.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import polars.selectors as cs
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.table import Table
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestampNanoType,
    TimestampType,
    TimestamptzNanoType,
    TimestamptzType,
    TimeType,
    UUIDType,
)
from sqlalchemy import func
from sqlmodel import Session, col, select

from raylake.platform import lake
from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets.models import Dataset
from raylake.platform.db import paged
from raylake.platform.errors import Invalid, NotFound
from raylake.platform.lake import Lake
from raylake.platform.tenancy import Principal, scoped
from raylake.schemas.datalake import MAX_NAME, ColumnInfo, DistinctCount, NumericStats, TableMetadata

NUMERIC = (IntegerType, LongType, FloatType, DoubleType, DecimalType)
_SQL_NAMES: list[tuple[type[IcebergType], str]] = [
    (StringType, "varchar"),
    (LongType, "bigint"),
    (IntegerType, "integer"),
    (DoubleType, "double"),
    (FloatType, "real"),
    (BooleanType, "boolean"),
    (DateType, "date"),
    (TimestampType, "timestamp"),
    (TimestampNanoType, "timestamp"),
    (TimestamptzType, "timestamp with time zone"),
    (TimestamptzNanoType, "timestamp with time zone"),
    (TimeType, "time"),
    (UUIDType, "uuid"),
    (BinaryType, "varbinary"),
    (FixedType, "varbinary"),
]
_VALUE = "value"


def check_name(value: str, what: str) -> str:
    """A schema, table or column name as given: 1-160 characters, no control characters (else 422)."""
    if not value or len(value) > MAX_NAME:
        raise Invalid(f"{what} must be 1-{MAX_NAME} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise Invalid(f"{what} must not contain control characters")
    return value


def sql_type(field_type: IcebergType) -> str:
    """The column type in lower-case SQL words (as Trino names them): varchar, bigint, double, ..."""
    if isinstance(field_type, DecimalType):
        return f"decimal({field_type.precision},{field_type.scale})"
    if isinstance(field_type, ListType):
        return f"array({sql_type(field_type.element_type)})"
    if isinstance(field_type, MapType):
        return f"map({sql_type(field_type.key_type)}, {sql_type(field_type.value_type)})"
    if isinstance(field_type, StructType):
        return "row(" + ", ".join(f"{f.name} {sql_type(f.field_type)}" for f in field_type.fields) + ")"
    for kind, name in _SQL_NAMES:
        if isinstance(field_type, kind):
            return name
    return str(field_type).lower()


def _schema(schema_name: str) -> str:
    check_name(schema_name, "schema_name")
    if schema_name not in lake.NAMESPACES:
        raise NotFound(f"Schema {schema_name!r} not found")
    return schema_name


def _shown() -> Any:
    """A table's name as its tenant sees it: its dataset's chosen name (``iceberg_table_name`` on upload),
    else the table's own (generated, catalog-wide unique) name."""
    return func.coalesce(Dataset.table_alias, LakeTable.name)


def _registered(stmt: Any, principal: Principal) -> Any:
    """The caller's registered tables, each joined to its dataset (if it has one) for the name it shows."""
    return scoped(
        stmt.select_from(LakeTable).outerjoin(Dataset, col(Dataset.id) == LakeTable.dataset_id),
        LakeTable,
        principal,
    )


def list_schemas() -> list[str]:
    """The lake's namespaces a caller may browse."""
    return list(lake.NAMESPACES)


def list_tables(
    *, session: Session, principal: Principal, schema_name: str, skip: int = 0, limit: int | None = None
) -> tuple[list[str], int]:
    """A page of the names of the tables in a namespace that the caller's tenant owns (a superuser's:
    every tenant's), by name; and how many there are."""
    namespace = _schema(schema_name)
    stmt = _registered(select(_shown()), principal).where(LakeTable.namespace == namespace).order_by(_shown())
    return paged(session, stmt, skip=skip, limit=limit)


def get_table(*, session: Session, principal: Principal, schema_name: str, table_name: str) -> LakeTable:
    """The caller's registered table (404 for an unknown name and for another tenant's table alike)."""
    namespace = _schema(schema_name)
    check_name(table_name, "table_name")
    row = session.exec(
        _registered(select(LakeTable), principal)
        .where(LakeTable.namespace == namespace, _shown() == table_name)
        .order_by(col(LakeTable.id))
    ).first()
    if row is None:
        raise NotFound("Table not found")
    return row


def _open(
    session: Session, ctx: Lake, principal: Principal, schema_name: str, table_name: str
) -> tuple[LakeTable, Table]:
    row = get_table(session=session, principal=principal, schema_name=schema_name, table_name=table_name)
    try:
        return row, lake.load(ctx.catalog, row.namespace, row.name)
    except (NoSuchTableError, NoSuchNamespaceError):
        raise NotFound("Table not found") from None


def _field(table: Table, column_name: str) -> NestedField:
    check_name(column_name, "column_name")
    for field in table.schema().fields:
        if field.name == column_name:
            return field
    raise NotFound(f"Column {column_name!r} not found")


def table_columns(
    *, session: Session, ctx: Lake, principal: Principal, schema_name: str, table_name: str
) -> list[ColumnInfo]:
    """A visible lake table's columns with their SQL types."""
    _, table = _open(session, ctx, principal, schema_name, table_name)
    return [ColumnInfo(column_name=f.name, data_type=sql_type(f.field_type)) for f in table.schema().fields]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def table_metadata(
    *, session: Session, ctx: Lake, principal: Principal, schema_name: str, table_name: str
) -> TableMetadata:
    """Catalogue facts from the registry and the table's metadata; the row count is the snapshot summary's."""
    row, table = _open(session, ctx, principal, schema_name, table_name)
    snapshot = table.current_snapshot()
    created = _aware(row.created_at)
    row_count = 0
    last_access = created
    if snapshot is not None:
        last_access = datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC)
        total = snapshot.summary.get("total-records") if snapshot.summary is not None else None
        row_count = int(total) if total is not None and str(total).isdigit() else 0
    return TableMetadata(
        schema_=row.namespace,
        table=table_name,
        owner=row.created_by,
        created_time=created,
        last_access_time=last_access,
        location=table.location(),
        format="iceberg",
        row_count=row_count,
        snapshot_id=snapshot.snapshot_id if snapshot is not None else None,
    )


def _column_frame(table: Table, column_name: str) -> pl.LazyFrame | None:
    """The one column, renamed ``value``, scanned at the current snapshot (None while the table is empty).

    ``cs.by_name`` matches the name literally (``pl.col`` would read ``*`` or ``^...$`` as patterns); the
    scan still reads only that column (projection pushdown).
    """
    snapshot = table.current_snapshot()
    if snapshot is None:
        return None
    frame = pl.scan_iceberg(table, snapshot_id=snapshot.snapshot_id)
    return frame.select(cs.by_name(column_name)).rename({column_name: _VALUE})


def _finite(value: Any) -> Any:
    """JSON-safe numbers: Decimal as float, NaN and infinities as null."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def numeric_stats(
    *, session: Session, ctx: Lake, principal: Principal, schema_name: str, table_name: str, column_name: str
) -> NumericStats:
    """count (non-null, non-NaN), mean, sample std_dev, min, max, median of a numeric column."""
    _, table = _open(session, ctx, principal, schema_name, table_name)
    field = _field(table, column_name)
    if not isinstance(field.field_type, NUMERIC):
        raise Invalid(f"Column {column_name!r} is not numeric ({sql_type(field.field_type)})")
    frame = _column_frame(table, column_name)
    if frame is None:
        empty = dict.fromkeys(("mean", "std_dev", "min", "max", "median"))
        return NumericStats(column=column_name, count=0, **empty)
    value = pl.col(_VALUE)
    if isinstance(field.field_type, FloatType | DoubleType):
        value = value.fill_nan(None)
    as_float = value.cast(pl.Float64)
    stats = frame.select(
        value.count().alias("count"),
        as_float.mean().alias("mean"),
        as_float.std().alias("std_dev"),
        value.min().alias("min"),
        value.max().alias("max"),
        as_float.median().alias("median"),
    ).collect()
    row = {key: _finite(item) for key, item in stats.row(0, named=True).items()}
    return NumericStats(column=column_name, **row)


def distinct_count(
    *, session: Session, ctx: Lake, principal: Principal, schema_name: str, table_name: str, column_name: str
) -> DistinctCount:
    """Distinct non-null values of a column (SQL's ``COUNT(DISTINCT column)``)."""
    _, table = _open(session, ctx, principal, schema_name, table_name)
    _field(table, column_name)
    frame = _column_frame(table, column_name)
    if frame is None:
        return DistinctCount(column=column_name, distinct_count=0)
    try:
        result = frame.select(pl.col(_VALUE).drop_nulls().n_unique()).collect().item()
    except pl.exceptions.PolarsError:
        raise Invalid(f"Cannot count distinct values of column {column_name!r}") from None
    return DistinctCount(column=column_name, distinct_count=int(result))
