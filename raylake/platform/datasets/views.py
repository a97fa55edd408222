"""What the datasets and files routers share: the dataset id parameter, and how a dataset's upload and
its files are shown in a response (kept here so neither router imports the other)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from raylake.platform.datasets import service
from raylake.platform.datasets.models import Dataset, DatasetFile
from raylake.platform.deps import MAX_ID
from raylake.schemas.datasets import USAGES, FilePublic, UploadResult

DatasetId = Annotated[int, Query(ge=1, le=MAX_ID)]


def file_public(file: DatasetFile) -> FilePublic:
    """A dataset file as the API shows it."""
    return FilePublic.model_validate(file, from_attributes=True)


def upload_result(dataset: Dataset, files: list[DatasetFile]) -> UploadResult:
    """What an upload or file addition answers: the dataset and its new files."""
    assert dataset.id is not None
    return UploadResult(
        dataset_id=dataset.id,
        dataset_name=dataset.dataset_name,
        data_source=dataset.data_source,
        iceberg_table_name=service.table_name_of(dataset),
        is_valid=dataset.is_valid,
        dataset_usability=service.usability(dataset),
        usage=dataset.usage,
        dataset_usage=USAGES[dataset.usage],
        snapshot_id=dataset.snapshot_id,
        files=[file_public(f) for f in files],
    )
