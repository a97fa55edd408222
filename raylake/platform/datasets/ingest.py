"""Ingest: staged files -> validated against the dataset's columns -> one atomic Iceberg append.

The order keeps failures invisible: Parquet files are written first (unreferenced), bronze and then
silver are committed with ``add_files`` (one snapshot each for all files of the request), and only
then are the raw files moved into the store. Any failure undoes what was done, in reverse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import func
from sqlmodel import Session, select

from raylake.platform import lake
from raylake.platform.clock import utcnow
from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets.models import Dataset, DatasetFile, DatasetVersion
from raylake.platform.datasets.sniff import sniff
from raylake.platform.datasets.validation import (
    FILE_ID,
    ROW,
    ColumnSpec,
    Validated,
    absent_columns,
    validate_file,
)
from raylake.platform.errors import Conflict, Invalid
from raylake.platform.lake import Lake
from raylake.platform.storage import safe_filename, staging_dir
from raylake.platform.tenancy import Principal


@dataclass
class Staged:
    path: Path
    file_name: str
    size: int


@dataclass
class _Undo:
    parquet: list[str] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    bronze_file_ids: list[int] = field(default_factory=list)
    scratch: list[Path] = field(default_factory=list)


def table_name(dataset_name: str, dataset_id: int) -> str:
    """The lake table name of a dataset: its name as a lower-case slug, suffixed with its id."""
    slug = re.sub(r"[^a-z0-9]+", "_", dataset_name.lower()).strip("_")[:60] or "dataset"
    return f"{slug}_{dataset_id}"


def table_name_taken(session: Session, tenant_id: str, name: str) -> bool:
    """Whether a dataset of the tenant shows its tables under this name (chosen or generated)."""
    shown = func.coalesce(Dataset.table_alias, Dataset.iceberg_table_name)
    return (
        session.exec(select(Dataset.id).where(Dataset.tenant_id == tenant_id, shown == name)).first()
        is not None
    )


def specs_of(dataset: Dataset) -> list[ColumnSpec] | None:
    """The dataset's template column specs, or None for a dataset without a template."""
    return [ColumnSpec(**c) for c in dataset.column_specs] if dataset.column_specs else None


def _create_tables(
    session: Session, ctx: Lake, dataset: Dataset, first: Validated, principal: Principal, undo: _Undo
) -> None:
    assert dataset.id is not None
    name = table_name(dataset.dataset_name, dataset.id)
    if dataset.table_alias is None and table_name_taken(session, dataset.tenant_id, name):
        # Generated names are unique in the catalog, but a tenant may have chosen this one for another
        # dataset: two tables of one tenant must never show the same name.
        raise Conflict(
            f"the table name {name!r} is another dataset's iceberg_table_name: choose one for this upload"
        )
    silver_cols = [(FILE_ID, "Integer"), *[(s.name, s.data_type) for s in first.specs]]
    bronze_cols = [(FILE_ID, "Integer"), (ROW, "Integer")]
    raw_names = pl.read_parquet_schema(first.bronze_path)
    bronze_cols += [(c, "String") for c in raw_names if c not in (FILE_ID, ROW)]
    lake.create(ctx.catalog, "silver", name, lake.schema_for(silver_cols))
    undo.tables.append(("silver", name))
    lake.create(ctx.catalog, "bronze", name, lake.schema_for(bronze_cols))
    undo.tables.append(("bronze", name))
    for namespace in ("bronze", "silver"):
        session.add(
            LakeTable(
                tenant_id=dataset.tenant_id,
                namespace=namespace,
                name=name,
                dataset_id=dataset.id,
                created_by=principal.username,
            )
        )
    dataset.iceberg_table_name = name
    dataset.column_specs = [
        {"name": s.name, "data_type": s.data_type, "default": s.default} for s in first.specs
    ]


def _commit(ctx: Lake, dataset: Dataset, results: list[tuple[DatasetFile, Validated]], undo: _Undo) -> None:
    staging = staging_dir(ctx.settings.data_dir)
    bronze = lake.load(ctx.catalog, "bronze", dataset.iceberg_table_name)
    silver = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    bronze_uris, silver_uris = [], []
    for _, validated in results:
        silver_uris.append(lake.write_parquet(silver, validated.silver, staging))  # reads the raw file
        undo.parquet.append(silver_uris[-1])
        bronze = lake.evolve_to(bronze, pl.scan_parquet(validated.bronze_path))
        bronze_uris.append(lake.place_parquet(bronze, validated.bronze_path))  # then moves it
        undo.parquet.append(bronze_uris[-1])
    lake.with_commit_retry(bronze, lambda t: t.add_files(bronze_uris))
    undo.bronze_file_ids = [row.id for row, _ in results if row.id is not None]
    lake.with_commit_retry(silver, lambda t: t.add_files(silver_uris))
    undo.parquet.clear()  # committed: the files now belong to the tables
    dataset.bronze_snapshot_id = lake.snapshot_id(bronze)
    dataset.snapshot_id = lake.snapshot_id(silver)


def _rollback(ctx: Lake, dataset: Dataset, undo: _Undo) -> None:
    for key in undo.stored:
        ctx.store.delete(key)
    created = set(undo.tables)
    if undo.bronze_file_ids and ("bronze", dataset.iceberg_table_name) not in created:
        ids = ", ".join(str(i) for i in undo.bronze_file_ids)
        bronze = lake.load(ctx.catalog, "bronze", dataset.iceberg_table_name)
        lake.with_commit_retry(bronze, lambda t: t.delete(f"{FILE_ID} in ({ids})"))
    for uri in undo.parquet:
        lake.delete_uri(uri)
    for namespace, name in undo.tables:
        lake.drop(ctx.catalog, namespace, name)


def ingest(
    *, session: Session, ctx: Lake, principal: Principal, dataset: Dataset, staged: list[Staged], change: str
) -> list[DatasetFile]:
    """Validate and append files to a dataset (new or existing); everything or nothing lands."""
    assert dataset.id is not None
    sniffed = [sniff(s.path, s.file_name) for s in staged]
    formats = {s.format for s in sniffed}
    rows = []
    for item, sniff_result in zip(staged, sniffed, strict=True):
        row = DatasetFile(
            dataset_id=dataset.id,
            tenant_id=dataset.tenant_id,
            file_name=safe_filename(item.file_name),
            encoding=sniff_result.encoding if sniff_result.format == "csv" else None,
            size_bytes=item.size,
            created_by=principal.username,
        )
        session.add(row)
        rows.append(row)
    session.flush()

    specs = specs_of(dataset)
    absent: list[str] = []
    if dataset.usage == "p" and specs and not dataset.iceberg_table_name:
        # A new prediction dataset keeps the template columns its first file has: the target, or any
        # column a model does not read, may be absent (batchPrediction checks the model's inputs). With
        # none of the template's columns it is refused as missing them, like any upload.
        header = {name.casefold() for name in sniffed[0].header}
        if any(s.name.casefold() in header for s in specs):
            absent = absent_columns(specs, sniffed[0].header)
        specs = [s for s in specs if s.name not in absent]
    results: list[tuple[DatasetFile, Validated]] = []
    undo = _Undo()
    try:
        for row, item, sniff_result in zip(rows, staged, sniffed, strict=True):
            assert row.id is not None
            raw_target = item.path.with_name(f"{item.path.name}.raw.parquet")
            undo.scratch.append(raw_target)
            validated = validate_file(
                item.path,
                sniff_result,
                file_name=row.file_name,
                file_id=row.id,
                specs=specs,
                raw_target=raw_target,
            )
            undo.scratch += validated.scratch
            specs = specs or validated.specs  # files after the first follow the first file's inferred schema
            results.append((row, validated))
        if dataset.usage == "p" and not dataset.iceberg_table_name:
            results[0][1].report["absent_columns"] = absent
        if not dataset.iceberg_table_name:
            _create_tables(session, ctx, dataset, results[0][1], principal, undo)
            dataset.data_source = "parquet" if formats == {"parquet"} else "csv"
        _commit(ctx, dataset, results, undo)
        for (row, validated), item in zip(results, staged, strict=True):
            row.storage_key = f"{dataset.tenant_id}/{dataset.id}/{row.id}_{row.file_name}"
            ctx.store.put_file(row.storage_key, item.path)
            undo.stored.append(row.storage_key)
            row.total_fields = validated.total_fields
            row.total_records = validated.total_records
            row.valid_records = validated.valid_records
            row.is_valid = validated.is_valid
            row.error_report = validated.report
            session.add(row)
    except BaseException:
        _rollback(ctx, dataset, undo)
        raise
    finally:
        for scratch in undo.scratch:
            scratch.unlink(missing_ok=True)

    dataset.total_records += sum(v.total_records for _, v in results)
    dataset.valid_records += sum(v.valid_records for _, v in results)
    record_version(session, dataset, principal, change)
    session.flush()
    return rows


def record_version(
    session: Session, dataset: Dataset, principal: Principal, change: str, file_id: int | None = None
) -> None:
    """Stamp the dataset (validity, who changed it and when) and record its new snapshots as a version."""
    assert dataset.id is not None
    dataset.is_valid = dataset.valid_records > 0
    dataset.modified_at = utcnow()
    dataset.modified_by = principal.username
    session.add(dataset)
    session.add(
        DatasetVersion(
            dataset_id=dataset.id,
            snapshot_id=dataset.snapshot_id,
            bronze_snapshot_id=dataset.bronze_snapshot_id,
            change=change,
            file_id=file_id,
            created_by=principal.username,
        )
    )


def require_rows(staged: list[Staged]) -> None:
    """Refuse a request that sends no files."""
    if not staged:
        raise Invalid("At least one file is required (multipart field 'files')")
