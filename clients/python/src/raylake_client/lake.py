"""The lake (``/datalake/...``): its schemas, your tables in them, their columns, facts and statistics."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from raylake_client.models import DistinctCount, LakeColumn, NumericStats, TableMetadata

if TYPE_CHECKING:
    from raylake_client.client import Client


class Lake:
    """``client.lake``: browse the Iceberg lake (bronze, silver, gold) as your tenant sees it."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _get(self, path: str, **params: Any) -> Any:
        return self._client.http.json("GET", f"/datalake{path}", params=params)

    def schemas(self) -> builtins.list[str]:
        """The schemas (namespaces) you may browse."""
        return builtins.list(self._get("/schemas"))

    def tables(self, schema: str, *, skip: int = 0, limit: int = 100) -> builtins.list[str]:
        """Your tables in a schema (a page of them)."""
        return builtins.list(self._get("/schemas/tables", schema_name=schema, skip=skip, limit=limit))

    def columns(self, schema: str, table: str) -> builtins.list[LakeColumn]:
        """A table's columns with their SQL types."""
        found = self._get("/tables/columns", schema_name=schema, table_name=table)
        return [LakeColumn.model_validate(c) for c in found]

    def metadata(self, schema: str, table: str) -> TableMetadata:
        """Owner, times, location, format, row count and current snapshot of a table."""
        found = self._get("/table_metadata", schema_name=schema, table_name=table)
        return TableMetadata.model_validate(found)

    def numeric_stats(self, schema: str, table: str, column: str) -> NumericStats:
        """Count, mean, standard deviation, min, max and median of a numeric column."""
        found = self._get("/numeric_stats", schema_name=schema, table_name=table, column_name=column)
        return NumericStats.model_validate(found)

    def distinct_count(self, schema: str, table: str, column: str) -> DistinctCount:
        found = self._get("/distinct-count", schema=schema, table=table, column=column)
        return DistinctCount.model_validate(found)
