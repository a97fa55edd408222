"""Datalake: the reference's paths and parameter names; every table is the caller's tenant's.

The two statistics endpoints accept both spellings the reference uses: ``schema``/``table``/``column``
(distinct-count) and ``schema_name``/``table_name``/``column_name`` (numeric_stats).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from raylake.platform.datalake import service
from raylake.platform.deps import TOTAL_COUNT, TOTAL_HEADER, DatalakeRead, LakeDep, PageDep, SessionDep
from raylake.platform.errors import Invalid
from raylake.schemas.datalake import ColumnInfo, DistinctCount, LakeName, NumericStats, TableMetadata

router = APIRouter(prefix="/datalake", tags=["datalake"])

SchemaName = Annotated[LakeName, Query(description="The schema (namespace): bronze, silver, gold or default")]
TableName = Annotated[LakeName, Query(description="A table of the schema that your tenant owns")]
OptionalName = Annotated[LakeName | None, Query(description="Either spelling of the parameter")]


def _either(primary: str | None, alias: str | None, names: str) -> str:
    """One value from two spellings of a parameter: the one given, or both when they agree (else 422)."""
    if primary is not None and alias is not None and primary != alias:
        raise Invalid(f"Conflicting values for {names}")
    value = primary if primary is not None else alias
    if value is None:
        raise Invalid(f"Missing query parameter: {names}")
    return value


@router.get("/schemas", response_model=list[str])
def list_schemas(principal: DatalakeRead) -> list[str]:
    """The lake's schemas (namespaces) you may browse: bronze, silver, gold, default."""
    return service.list_schemas()


@router.get("/schemas/tables", response_model=list[str], responses=TOTAL_HEADER)
def list_tables(
    session: SessionDep,
    response: Response,
    principal: DatalakeRead,
    schema_name: SchemaName,
    page: PageDep,
) -> list[str]:
    """A bare list as in the reference; its total is the ``X-Total-Count`` header."""
    names, total = service.list_tables(
        session=session, principal=principal, schema_name=schema_name, skip=page.skip, limit=page.limit
    )
    response.headers[TOTAL_COUNT] = str(total)
    return names


@router.get("/tables/columns", response_model=list[ColumnInfo])
def table_columns(
    session: SessionDep,
    ctx: LakeDep,
    principal: DatalakeRead,
    schema_name: SchemaName,
    table_name: TableName,
) -> list[ColumnInfo]:
    """A table's columns with their SQL types (404 for a table your tenant does not own)."""
    return service.table_columns(
        session=session, ctx=ctx, principal=principal, schema_name=schema_name, table_name=table_name
    )


@router.get("/table_metadata", response_model=TableMetadata)
def table_metadata(
    session: SessionDep,
    ctx: LakeDep,
    principal: DatalakeRead,
    schema_name: SchemaName,
    table_name: TableName,
) -> TableMetadata:
    """A table's catalogue facts: owner, times, location, format, row count and current snapshot."""
    return service.table_metadata(
        session=session, ctx=ctx, principal=principal, schema_name=schema_name, table_name=table_name
    )


@router.get("/numeric_stats", response_model=NumericStats)
def numeric_stats(
    session: SessionDep,
    ctx: LakeDep,
    principal: DatalakeRead,
    schema_name: OptionalName = None,
    table_name: OptionalName = None,
    column_name: OptionalName = None,
    schema: OptionalName = None,
    table: OptionalName = None,
    column: OptionalName = None,
) -> NumericStats:
    """Count, mean, sample standard deviation, min, max and median of a numeric column."""
    return service.numeric_stats(
        session=session,
        ctx=ctx,
        principal=principal,
        schema_name=_either(schema_name, schema, "schema_name (or schema)"),
        table_name=_either(table_name, table, "table_name (or table)"),
        column_name=_either(column_name, column, "column_name (or column)"),
    )


@router.get("/distinct-count", response_model=DistinctCount)
def distinct_count(
    session: SessionDep,
    ctx: LakeDep,
    principal: DatalakeRead,
    schema: OptionalName = None,
    table: OptionalName = None,
    column: OptionalName = None,
    schema_name: OptionalName = None,
    table_name: OptionalName = None,
    column_name: OptionalName = None,
) -> DistinctCount:
    """How many distinct non-null values a column holds."""
    return service.distinct_count(
        session=session,
        ctx=ctx,
        principal=principal,
        schema_name=_either(schema, schema_name, "schema (or schema_name)"),
        table_name=_either(table, table_name, "table (or table_name)"),
        column_name=_either(column, column_name, "column (or column_name)"),
    )
