"""Datasets: upload, list, view, delete, and the statistics job's record."""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from raylake.platform import lake
from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets.ingest import Staged, ingest, require_rows, table_name_taken
from raylake.platform.datasets.models import Dataset, DatasetFile, DatasetVersion
from raylake.platform.datasets.validation import FILE_ID, ColumnSpec
from raylake.platform.db import paged
from raylake.platform.errors import Conflict, Invalid
from raylake.platform.inference import cleanup
from raylake.platform.lake import Lake
from raylake.platform.templates import service as templates
from raylake.platform.templates.models import Template
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.schemas.datasets import USAGES

MAX_PREVIEW = 1000
# A chosen table name: one identifier every SQL engine reading the lake takes unquoted.
TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,127}")


def usability(dataset: Dataset) -> str:
    """The share of a dataset's rows that passed validation, as shown ("87%")."""
    if not dataset.total_records:
        return "0%"
    return f"{100 * dataset.valid_records / dataset.total_records:.0f}%"


def _check_name(session: Session, tenant_id: str, name: str) -> None:
    clash = session.exec(
        select(Dataset.id).where(
            Dataset.tenant_id == tenant_id, func.lower(Dataset.dataset_name) == name.lower()
        )
    ).first()
    if clash is not None:
        raise Conflict(f"A dataset named {name!r} already exists")


def table_name_of(dataset: Dataset) -> str:
    """The name the tenant sees for the dataset's tables: its chosen one, else the generated one."""
    return dataset.table_alias or dataset.iceberg_table_name


def _check_table_name(session: Session, tenant_id: str, name: str) -> None:
    if not TABLE_NAME.fullmatch(name):
        raise Invalid(
            f"iceberg_table_name {name[:140]!r} must be a lower-case identifier of 1-128 characters: "
            "a-z, 0-9 and _, not starting with a digit"
        )
    if table_name_taken(session, tenant_id, name):
        raise Conflict(f"iceberg_table_name {name!r} is taken by another dataset of the tenant")


def check_upload(
    *,
    session: Session,
    principal: Principal,
    dataset_name: str,
    template_id: int | None,
    usage: str,
    iceberg_table_name: str | None = None,
) -> list[ColumnSpec] | None:
    """Everything about an upload that can be refused before the body is read or any file written."""
    if usage not in USAGES:
        raise Invalid("usage must be 't' (training) or 'p' (prediction)")
    _check_name(session, principal.tenant_id, dataset_name)
    if iceberg_table_name is not None:
        _check_table_name(session, principal.tenant_id, iceberg_table_name)
    if template_id is None:
        return None
    template = templates.get_template(session=session, principal=principal, template_id=template_id)
    columns = templates.template_columns(session=session, template=template)
    if not columns:
        return None
    return [ColumnSpec(name=c.column_name, data_type=c.data_type, default=c.default_value) for c in columns]


def upload(
    *,
    session: Session,
    ctx: Lake,
    principal: Principal,
    dataset_name: str,
    template_id: int | None,
    usage: str,
    staged: list[Staged],
    iceberg_table_name: str | None = None,
) -> tuple[Dataset, list[DatasetFile]]:
    """A new dataset from staged files; ``iceberg_table_name`` is the tenant's own name for its tables."""
    specs = check_upload(
        session=session,
        principal=principal,
        dataset_name=dataset_name,
        template_id=template_id,
        usage=usage,
        iceberg_table_name=iceberg_table_name,
    )
    require_rows(staged)
    dataset = Dataset(
        tenant_id=principal.tenant_id,
        dataset_name=dataset_name,
        template_id=template_id,
        usage=usage,
        table_alias=iceberg_table_name,
        column_specs=[{"name": s.name, "data_type": s.data_type, "default": s.default} for s in specs or []],
        created_by=principal.username,
        modified_by=principal.username,
    )
    session.add(dataset)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent upload took the name after check_upload: nothing written yet
        if "table_alias" in str(exc.orig):
            raise Conflict(f"iceberg_table_name {iceberg_table_name!r} is taken by another dataset") from None
        if "dataset_name" not in str(exc.orig):
            raise
        raise Conflict(f"A dataset named {dataset_name!r} already exists") from None
    files = ingest(
        session=session, ctx=ctx, principal=principal, dataset=dataset, staged=staged, change="upload"
    )
    return dataset, files


def get_dataset(*, session: Session, principal: Principal, dataset_id: int) -> Dataset:
    """A dataset the caller may see; NotFound otherwise."""
    return get_scoped(session, Dataset, dataset_id, principal, "Dataset")


def list_datasets(
    *, session: Session, principal: Principal, skip: int, limit: int, validated_only: bool = False
) -> tuple[list[tuple[Dataset, int, str | None]], int]:
    """A page of datasets with their file counts and template names, newest first; and how many there are."""
    stmt = scoped(select(Dataset), Dataset, principal)
    if validated_only:
        stmt = stmt.where(Dataset.is_valid == True)  # noqa: E712
    datasets, total = paged(session, stmt.order_by(col(Dataset.id).desc()), skip=skip, limit=limit)
    ids = [d.id for d in datasets]
    counts = dict(
        session.exec(
            select(DatasetFile.dataset_id, func.count())
            .where(col(DatasetFile.dataset_id).in_(ids))
            .group_by(col(DatasetFile.dataset_id))
        ).all()
    )
    template_ids = {d.template_id for d in datasets if d.template_id}
    names = dict(
        session.exec(
            select(Template.id, Template.template_name).where(col(Template.id).in_(template_ids))
        ).all()
    )
    return [(d, counts.get(d.id, 0), names.get(d.template_id)) for d in datasets], total


def versions(*, session: Session, dataset: Dataset) -> list[dict[str, Any]]:
    """The dataset's snapshots, oldest first, with the change and file that made each."""
    rows = session.exec(
        select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id).order_by(col(DatasetVersion.id))
    )
    return [
        {"snapshot_id": v.snapshot_id, "change": v.change, "file_id": v.file_id, "created_at": v.created_at}
        for v in rows
    ]


def preview(*, ctx: Lake, dataset: Dataset, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the dataset's typed rows at its recorded snapshot."""
    if not dataset.iceberg_table_name or dataset.snapshot_id is None:
        return [], 0
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    frame = pl.scan_iceberg(table, snapshot_id=dataset.snapshot_id).drop(FILE_ID)
    total = int(frame.select(pl.len()).collect().item())
    page = frame.slice(offset, min(limit, MAX_PREVIEW)).collect()
    return page.to_dicts(), total


def delete_dataset(*, session: Session, ctx: Lake, principal: Principal, dataset_id: int) -> None:
    """Remove the dataset's rows, tables and stored files, and the batch predictions made on it (their
    outputs are files of the dataset); tables go last, so a failure leaves it whole."""
    dataset = get_dataset(session=session, principal=principal, dataset_id=dataset_id)
    assert dataset.id is not None
    cleanup.delete_dataset_predictions(session=session, ctx=ctx, dataset_id=dataset.id)
    name = dataset.iceberg_table_name
    session.exec(LakeTable.__table__.delete().where(LakeTable.dataset_id == dataset.id))  # type: ignore[attr-defined]
    session.delete(dataset)
    session.flush()
    if name:
        for namespace in ("silver", "bronze"):
            lake.drop(ctx.catalog, namespace, name)
    ctx.store.delete_prefix(f"{dataset.tenant_id}/{dataset.id}")
