"""Files of a dataset: add, list, view, delete (its rows leave the tables), download."""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session, col, select

from raylake.platform import lake
from raylake.platform.datasets import service as datasets
from raylake.platform.datasets.ingest import Staged, ingest, record_version, require_rows
from raylake.platform.datasets.models import Dataset, DatasetFile
from raylake.platform.datasets.validation import FILE_ID
from raylake.platform.db import paged
from raylake.platform.errors import NotFound
from raylake.platform.lake import Lake
from raylake.platform.tenancy import Principal, get_scoped

PREVIEW_LINES = 10
PREVIEW_BYTES = 64 * 1024


def add_files(
    *, session: Session, ctx: Lake, principal: Principal, dataset_id: int, staged: list[Staged]
) -> tuple[Dataset, list[DatasetFile]]:
    """Append staged files' rows to a dataset as a new snapshot; the dataset and the new file rows."""
    dataset = datasets.get_dataset(session=session, principal=principal, dataset_id=dataset_id)
    require_rows(staged)
    files = ingest(
        session=session, ctx=ctx, principal=principal, dataset=dataset, staged=staged, change="files/add"
    )
    return dataset, files


def list_files(
    *, session: Session, principal: Principal, dataset_id: int, skip: int, limit: int
) -> tuple[list[DatasetFile], int]:
    """A page of a dataset's files, oldest first; and how many it has."""
    dataset = datasets.get_dataset(session=session, principal=principal, dataset_id=dataset_id)
    stmt = select(DatasetFile).where(DatasetFile.dataset_id == dataset.id).order_by(col(DatasetFile.id))
    return paged(session, stmt, skip=skip, limit=limit)


def get_file(*, session: Session, principal: Principal, file_id: int) -> DatasetFile:
    """A dataset file the caller may see; NotFound otherwise."""
    return get_scoped(session, DatasetFile, file_id, principal, "File")


def view_file(*, ctx: Lake, file: DatasetFile, lines: int = PREVIEW_LINES) -> list[str]:
    """The first lines of the raw file as uploaded (text files only), decoded as sniffed."""
    report = file.error_report or {}
    if report.get("format") == "parquet":
        return ["<parquet file: no text preview>"]
    encoding = file.encoding or report.get("encoding") or "utf-8"
    with ctx.store.open(file.storage_key) as fh:
        head = fh.read(PREVIEW_BYTES)
    text = head.decode(encoding if encoding != "binary" else "utf-8", errors="replace")
    return text.splitlines()[:lines]


def delete_file(*, session: Session, ctx: Lake, principal: Principal, file_id: int) -> None:
    """Delete a file: its rows leave bronze and silver (a new snapshot, a new dataset version)."""
    file = get_file(session=session, principal=principal, file_id=file_id)
    dataset = session.get(Dataset, file.dataset_id)
    assert dataset is not None and dataset.id is not None and file.id is not None
    if file.kind == "prediction":  # a batch prediction's output: no rows of the dataset to remove
        key = file.storage_key
        session.delete(file)
        session.flush()
        ctx.store.delete(key)
        return
    if dataset.iceberg_table_name:
        rows = f"{FILE_ID} = {int(file.id)}"
        for namespace in ("bronze", "silver"):
            table = lake.load(ctx.catalog, namespace, dataset.iceberg_table_name)
            lake.with_commit_retry(table, lambda t: t.delete(rows))
            snapshot = lake.snapshot_id(table)
            if namespace == "silver":
                dataset.snapshot_id = snapshot
            else:
                dataset.bronze_snapshot_id = snapshot
    dataset.total_records -= file.total_records
    dataset.valid_records -= file.valid_records
    record_version(session, dataset, principal, "files/delete", file_id=file.id)
    key = file.storage_key
    session.delete(file)
    session.flush()
    ctx.store.delete(key)


def resolve_download(
    *, session: Session, ctx: Lake, principal: Principal, file_path: str | None, file_id: int | None
) -> tuple[DatasetFile, Iterator[bytes]]:
    """A file by id, or by the store path the API handed out (resolved only inside the caller's tenant)."""
    if file_id is not None:
        file = get_file(session=session, principal=principal, file_id=file_id)
    else:
        key = ctx.store.resolve_user_path(principal.tenant_id, file_path or "")
        found = session.exec(
            select(DatasetFile).where(
                DatasetFile.storage_key == key, DatasetFile.tenant_id == principal.tenant_id
            )
        ).first()
        if found is None:
            raise NotFound("File not found")
        file = found
    return file, ctx.store.iter_bytes(file.storage_key)
