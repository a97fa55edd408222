"""Dataset files: add, list, view, delete, download, details."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import StreamingResponse

from raylake.platform.datasets import service as datasets
from raylake.platform.datasets.views import DatasetId, file_public, upload_result
from raylake.platform.deps import (
    MAX_ID,
    DatasetRead,
    DatasetWrite,
    IdPath,
    LakeDep,
    PageDep,
    SessionDep,
    SettingsDep,
)
from raylake.platform.errors import Invalid
from raylake.platform.files import service
from raylake.platform.uploads import staged_uploads
from raylake.schemas.common import Deleted
from raylake.schemas.datasets import FileDetail, FilePreview, FilesPublic, UploadResult

router = APIRouter(prefix="/files", tags=["files"])
FileId = Annotated[int, Query(ge=1, le=MAX_ID)]


@router.post("/add", response_model=UploadResult, status_code=201)
def add_files(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    principal: DatasetWrite,
    dataset_id: DatasetId,
    files: Annotated[list[UploadFile], File(description="CSV or Parquet files")],
) -> UploadResult:
    """Add CSV or Parquet files to a dataset as a new version of its rows: 201 with the validation report."""
    datasets.get_dataset(session=session, principal=principal, dataset_id=dataset_id)
    with staged_uploads(settings, files) as staged:
        dataset, rows = service.add_files(
            session=session, ctx=ctx, principal=principal, dataset_id=dataset_id, staged=staged
        )
    return upload_result(dataset, rows)


@router.get("/list", response_model=FilesPublic)
def list_files(
    session: SessionDep, principal: DatasetRead, dataset_id: DatasetId, page: PageDep
) -> FilesPublic:
    """A page of a dataset's files, oldest first; and how many it has."""
    files, total = service.list_files(
        session=session, principal=principal, dataset_id=dataset_id, skip=page.skip, limit=page.limit
    )
    return FilesPublic(total=total, data=[file_public(f) for f in files])


@router.get("/view", response_model=FilePreview)
def view_file(
    session: SessionDep,
    ctx: LakeDep,
    principal: DatasetRead,
    file_id: FileId,
    lines: Annotated[int, Query(ge=1, le=100)] = service.PREVIEW_LINES,
) -> FilePreview:
    """The first lines of a file as uploaded (text files only)."""
    file = service.get_file(session=session, principal=principal, file_id=file_id)
    return FilePreview(file_id=file_id, content_preview=service.view_file(ctx=ctx, file=file, lines=lines))


@router.delete("/delete/{file_id}", response_model=Deleted)
def delete_file(session: SessionDep, ctx: LakeDep, principal: DatasetWrite, file_id: IdPath) -> Deleted:
    """Delete a file: its rows leave the dataset's tables as a new version."""
    service.delete_file(session=session, ctx=ctx, principal=principal, file_id=file_id)
    return Deleted(message="File deleted successfully")


@router.get(
    "/download/",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The raw file"}},
)
def download(
    session: SessionDep,
    ctx: LakeDep,
    principal: DatasetRead,
    file_path: Annotated[str | None, Query(max_length=1024)] = None,
    file_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> StreamingResponse:
    """Download a file as uploaded, by id or by the path the API gave (only your tenant's files)."""
    if file_path is None and file_id is None:
        raise Invalid("file_path or file_id is required")
    file, body = service.resolve_download(
        session=session, ctx=ctx, principal=principal, file_path=file_path, file_id=file_id
    )
    return StreamingResponse(
        body,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{file.file_name}"'},
    )


@router.get("/get_file_by_id/", response_model=FileDetail)
def get_file_by_id(session: SessionDep, principal: DatasetRead, file_id: FileId) -> FileDetail:
    """A file's details: its dataset, name, stored path and size."""
    file = service.get_file(session=session, principal=principal, file_id=file_id)
    return FileDetail(
        **file_public(file).model_dump(), csv_file_path=file.storage_key, size_bytes=file.size_bytes
    )
