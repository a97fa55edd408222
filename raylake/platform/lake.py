"""The Iceberg lake: one pyiceberg catalog, namespaces bronze / silver / gold (and default).

The catalog is a pyiceberg ``SqlCatalog`` on the metadata store's own database (the same SQLite file
by default, the same PostgreSQL database in production), so one backup holds both. The warehouse is
a local path or any pyarrow filesystem URL. Tables are plain Iceberg v2: DuckDB, Spark or Trino read
them from the same catalog.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

import polars as pl
import pyarrow.fs as pafs
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.types import (
    BooleanType,
    DateType,
    DoubleType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
)

from raylake.platform.config import Settings
from raylake.platform.storage import FileStore, open_store

# polars plans Iceberg scans with pyiceberg unless its optional planner plugin is installed; say so
# explicitly instead of warning on every scan.
os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")

NAMESPACES = ("bronze", "silver", "gold", "default")
COMMIT_RETRIES = 8
# Rows per Parquet row group: small enough that the streaming writer's buffers stay bounded on wide
# text, large enough for efficient scans.
ROW_GROUP = 100_000
T = TypeVar("T")


@dataclass(frozen=True)
class Lake:
    """The per-process handles for the lake and the file store (built once per API replica or job)."""

    settings: Settings
    catalog: Catalog
    store: FileStore


def catalog_uri(settings: Settings) -> str:
    """The catalog's database: PostgreSQL shares the metadata database; SQLite gets its own file beside it,
    because a request holds the metadata file's write lock while it commits to the lake."""
    if settings.is_sqlite:
        return f"sqlite:///{settings.data_dir / 'iceberg_catalog.db'}"
    return settings.sqlalchemy_url


def warehouse(settings: Settings) -> str:
    """Where the lake's table files live: the configured warehouse, else a folder of the data dir."""
    if settings.lake_warehouse:
        return settings.lake_warehouse
    path = settings.data_dir / "warehouse"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve().as_uri()


def catalog_properties(settings: Settings) -> dict[str, str]:
    """The catalog as plain properties (``pyiceberg.catalog.load_catalog(**...)``): what a Ray Data read
    task needs to open it itself, since a live catalog holds a database engine that does not pickle."""
    return {"name": "raylake", "type": "sql", "uri": catalog_uri(settings), "warehouse": warehouse(settings)}


def open_catalog(settings: Settings) -> Catalog:
    """The Iceberg catalog, its namespaces made when missing."""
    catalog = SqlCatalog("raylake", uri=catalog_uri(settings), warehouse=warehouse(settings))
    for namespace in NAMESPACES:
        catalog.create_namespace_if_not_exists(namespace)
    return catalog


def open_lake(settings: Settings) -> Lake:
    """The lake: its settings, catalog and file store together."""
    return Lake(
        settings=settings,
        catalog=open_catalog(settings),
        store=open_store(settings),
    )


def identifier(namespace: str, name: str) -> str:
    """A table's catalog identifier, ``namespace.name``."""
    return f"{namespace}.{name}"


def load(catalog: Catalog, namespace: str, name: str) -> Table:
    """A lake table by namespace and name."""
    return catalog.load_table(identifier(namespace, name))


def create(catalog: Catalog, namespace: str, name: str, schema: Schema) -> Table:
    """A new lake table with this schema."""
    return catalog.create_table(identifier(namespace, name), schema=schema)


def drop(catalog: Catalog, namespace: str, name: str) -> None:
    """Drop a table and its files (idempotent)."""
    with contextlib.suppress(NoSuchTableError):
        catalog.purge_table(identifier(namespace, name))


def with_commit_retry(table: Table, action: Callable[[Table], T]) -> T:
    """Run a commit against the freshest metadata, retrying when a concurrent writer got in first."""
    for attempt in range(COMMIT_RETRIES):
        try:
            return action(table)
        except CommitFailedException:
            if attempt == COMMIT_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
            table = table.refresh()
    raise AssertionError("unreachable")


def snapshot_id(table: Table) -> int | None:
    """A table's current snapshot id, refreshed; None for an empty table."""
    snapshot = table.refresh().current_snapshot()
    return snapshot.snapshot_id if snapshot else None


def local_path(uri: str) -> Path:
    """A file:// warehouse location as a local path (for polars and for tests)."""
    return Path(uri.removeprefix("file://"))


ICEBERG_TYPES = {
    "String": StringType,
    "Integer": LongType,
    "Float": DoubleType,
    "Boolean": BooleanType,
    "Date": DateType,
    "DateTime": TimestampType,
}


def schema_for(columns: list[tuple[str, str]]) -> Schema:
    """An Iceberg schema (all fields optional) from (name, template type) pairs, in order."""
    fields = [
        NestedField(field_id=i, name=name, field_type=ICEBERG_TYPES[data_type](), required=False)
        for i, (name, data_type) in enumerate(columns, start=1)
    ]
    return Schema(*fields)


def write_parquet(table: Table, frame: pl.LazyFrame, staging: Path) -> str:
    """Sink a lazy frame (streaming) to a new Parquet file in the table's data folder; returns its URI.

    The file is invisible until a commit adds it; callers delete it if the commit never happens.
    """
    name = f"data/{uuid4().hex}.parquet"
    location = table.location().rstrip("/")
    if location.startswith("file://"):
        target = local_path(f"{location}/{name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.sink_parquet(target, compression="zstd", compression_level=1, row_group_size=ROW_GROUP)
        return f"{location}/{name}"
    tmp = staging / f"{uuid4().hex}.parquet"
    frame.sink_parquet(tmp, compression="zstd", compression_level=1, row_group_size=ROW_GROUP)
    fs, path = pafs.FileSystem.from_uri(f"{location}/{name}")
    try:
        with tmp.open("rb") as src, fs.open_output_stream(path) as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
    finally:
        tmp.unlink(missing_ok=True)
    return f"{location}/{name}"


def place_parquet(table: Table, source: Path) -> str:
    """Move (local warehouse) or upload a finished Parquet file into the table's data folder."""
    location = table.location().rstrip("/")
    uri = f"{location}/data/{uuid4().hex}.parquet"
    if location.startswith("file://"):
        target = local_path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)
        return uri
    fs, path = pafs.FileSystem.from_uri(uri)
    with source.open("rb") as src, fs.open_output_stream(path) as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    source.unlink(missing_ok=True)
    return uri


def delete_uri(uri: str) -> None:
    """Delete a file by URI, if it is there."""
    fs, path = pafs.FileSystem.from_uri(uri)
    with contextlib.suppress(FileNotFoundError, OSError):
        fs.delete_file(path)


def evolve_to(table: Table, frame: pl.LazyFrame) -> Table:
    """Add columns the frame has and the table lacks (bronze keeps every raw column it ever saw)."""
    arrow_schema = frame.head(0).collect().to_arrow().schema
    known = {f.name for f in table.schema().fields}
    if all(name in known for name in arrow_schema.names):
        return table
    with table.update_schema() as update:
        update.union_by_name(arrow_schema)
    return table.refresh()
