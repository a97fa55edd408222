"""Datasets: upload, list, view, delete, statistics."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import APIRouter, File, Query, Response, UploadFile

from raylake.platform.datasets import service, statistics
from raylake.platform.datasets.models import Dataset
from raylake.platform.datasets.views import DatasetId, upload_result
from raylake.platform.deps import (
    MAX_ID,
    TOTAL_COUNT,
    TOTAL_HEADER,
    DatasetRead,
    DatasetWrite,
    IdPath,
    JobsDep,
    LakeDep,
    PageDep,
    SessionDep,
    SettingsDep,
)
from raylake.platform.uploads import staged_uploads
from raylake.schemas.common import Deleted
from raylake.schemas.datasets import (
    USAGES,
    ColumnPublic,
    DatasetDetail,
    DatasetPreview,
    DatasetPublic,
    DatasetsPublic,
    StatisticsJob,
    StatisticsResult,
    UploadResult,
    ValidatedDataset,
)

router = APIRouter(prefix="/dataset", tags=["dataset"])
DatasetName = Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f/\\]+$")]


class _UploadForm(TypedDict):
    """An upload's query parameters, checked before its files are staged and used to make the dataset."""

    dataset_name: str
    template_id: int | None
    usage: str
    iceberg_table_name: str | None


@router.post("/upload", response_model=UploadResult, status_code=201)
def upload(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    principal: DatasetWrite,
    dataset_name: DatasetName,
    usage: Annotated[str, Query(description="'t' training or 'p' prediction")],
    files: Annotated[list[UploadFile], File(description="CSV or Parquet files")],
    template_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    iceberg_table_name: Annotated[
        str | None,
        Query(
            max_length=256,
            description="Your name for the dataset's tables (a lower-case identifier, unique in the tenant)",
        ),
    ] = None,
) -> UploadResult:
    """Upload CSV or Parquet files as a new dataset checked against its template: 201 with the report."""
    form = _UploadForm(
        dataset_name=dataset_name, template_id=template_id, usage=usage, iceberg_table_name=iceberg_table_name
    )
    service.check_upload(session=session, principal=principal, **form)  # before the files are read
    with staged_uploads(settings, files) as staged:
        dataset, rows = service.upload(session=session, ctx=ctx, principal=principal, staged=staged, **form)
    return upload_result(dataset, rows)


def dataset_public(dataset: Dataset, file_count: int, template_name: str | None) -> DatasetPublic:
    """A dataset as the list shows it, with its file count, template name and usability."""
    return DatasetPublic(
        **dataset.model_dump(
            include={
                "id",
                "tenant_id",
                "dataset_name",
                "is_valid",
                "created_by",
                "template_id",
                "data_source",
                "created_at",
                "modified_at",
                "usage",
                "total_records",
                "valid_records",
                "snapshot_id",
            }
        ),
        iceberg_table_name=service.table_name_of(dataset),
        file_count=file_count,
        template_name=template_name,
        dataset_usability=service.usability(dataset),
        dataset_usage=USAGES[dataset.usage],
    )


@router.get("/list", response_model=DatasetsPublic)
def list_datasets(session: SessionDep, principal: DatasetRead, page: PageDep) -> DatasetsPublic:
    """A page of your tenant's datasets, newest first, with their file counts; and how many there are."""
    rows, total = service.list_datasets(
        session=session, principal=principal, skip=page.skip, limit=page.limit
    )
    return DatasetsPublic(total=total, data=[dataset_public(*row) for row in rows])


@router.get("/list_validated", response_model=list[ValidatedDataset], responses=TOTAL_HEADER)
def list_validated(
    session: SessionDep, response: Response, principal: DatasetRead, page: PageDep
) -> list[ValidatedDataset]:
    """The reference answers a bare list here, so its total is the ``X-Total-Count`` header."""
    rows, total = service.list_datasets(
        session=session, principal=principal, skip=page.skip, limit=page.limit, validated_only=True
    )
    response.headers[TOTAL_COUNT] = str(total)
    return [
        ValidatedDataset(
            id=d.id or 0,
            tenant_id=d.tenant_id,
            dataset_name=d.dataset_name,
            file_count=count,
            is_valid=d.is_valid,
            created_by=d.created_by,
            template_id=d.template_id,
        )
        for d, count, _ in rows
    ]


@router.get("/get_dataset_by_id", response_model=DatasetDetail)
def get_dataset_by_id(session: SessionDep, principal: DatasetRead, dataset_id: DatasetId) -> DatasetDetail:
    """A dataset's details: its tables, columns with their types, and versions (snapshots)."""
    dataset = service.get_dataset(session=session, principal=principal, dataset_id=dataset_id)
    assert dataset.id is not None
    return DatasetDetail(
        id=dataset.id,
        dataset_name=dataset.dataset_name,
        dataset_path=f"{dataset.tenant_id}/{dataset.id}",
        validated_path=f"silver.{service.table_name_of(dataset)}",
        iceberg_table_name=service.table_name_of(dataset),
        data_source=dataset.data_source,
        usage=dataset.usage,
        dataset_usage=USAGES[dataset.usage],
        is_valid=dataset.is_valid,
        snapshot_id=dataset.snapshot_id,
        columns=[
            ColumnPublic(column_name=c["name"], data_type=c["data_type"], default_value=c.get("default"))
            for c in dataset.column_specs
        ],
        versions=service.versions(session=session, dataset=dataset),
    )


@router.get("/view", response_model=DatasetPreview)
def view(
    session: SessionDep,
    ctx: LakeDep,
    principal: DatasetRead,
    dataset_id: DatasetId,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PREVIEW)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**40)] = 0,
) -> DatasetPreview:
    """A page of a dataset's validated rows at its current version."""
    dataset = service.get_dataset(session=session, principal=principal, dataset_id=dataset_id)
    rows, total = service.preview(ctx=ctx, dataset=dataset, limit=limit, offset=offset)
    return DatasetPreview(dataset_id=dataset_id, total=total, limit=limit, offset=offset, preview=rows)


@router.delete("/delete/{dataset_id}", response_model=Deleted)
def delete(session: SessionDep, ctx: LakeDep, principal: DatasetWrite, dataset_id: IdPath) -> Deleted:
    """Delete a dataset: its rows, tables, files and the batch predictions made on it."""
    service.delete_dataset(session=session, ctx=ctx, principal=principal, dataset_id=dataset_id)
    return Deleted(message="Dataset deleted successfully")


@router.post("/generate_statistics", response_model=StatisticsJob, status_code=202)
def generate_statistics(
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    principal: DatasetWrite,
    dataset_id: DatasetId,
) -> StatisticsJob:
    """Start a Ray job computing a dataset's statistics: 202 with the job id and the statistics id to poll."""
    row = statistics.submit(
        session=session, settings=settings, jobs=jobs, principal=principal, dataset_id=dataset_id
    )
    assert row.id is not None and row.ray_job_id is not None
    return StatisticsJob(
        status="success",
        message="Statistics generation job submitted successfully.",
        job_id=row.ray_job_id,
        statistics_id=row.id,
    )


@router.get("/statistics", response_model=StatisticsResult)
def get_statistics(
    session: SessionDep, jobs: JobsDep, principal: DatasetRead, dataset_id: DatasetId
) -> StatisticsResult:
    """The dataset's latest statistics job: its status and progress, and the statistics once completed."""
    row = statistics.latest(session=session, jobs=jobs, principal=principal, dataset_id=dataset_id)
    assert row.id is not None
    return StatisticsResult(
        dataset_id=row.dataset_id,
        statistics_id=row.id,
        job_id=row.ray_job_id,
        status=row.status,
        stage=row.stage,
        percent=row.percent,
        snapshot_id=row.snapshot_id,
        error=row.error,
        statistics=row.result,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
