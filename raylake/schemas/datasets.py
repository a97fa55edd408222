from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

USAGES = {"t": "Training", "p": "Prediction"}
Usage = Literal["t", "p"]


class FilePublic(BaseModel):
    dataset_id: int
    id: int
    file_name: str
    created_at: datetime
    modified_at: datetime
    total_fields: int
    total_records: int
    valid_records: int
    is_valid: bool
    encoding: str | None = None
    error_report: dict[str, Any] | None = None


class FileDetail(FilePublic):
    csv_file_path: str
    # The reference's HDF5 copy of the file: raylake keeps none (the lake holds the typed rows), so null.
    hdf_file_path: str | None = None
    size_bytes: int


class FilesPublic(BaseModel):
    total: int
    data: list[FilePublic]


class UploadResult(BaseModel):
    dataset_id: int
    dataset_name: str
    data_source: str
    iceberg_table_name: str
    is_valid: bool
    dataset_usability: str
    usage: str
    dataset_usage: str
    snapshot_id: int | None
    files: list[FilePublic]


class ValidatedDataset(BaseModel):
    id: int
    tenant_id: str
    dataset_name: str
    file_count: int
    is_valid: bool
    created_by: str
    template_id: int | None


# A listed dataset: the summary /list_validated returns, and where it lives and how usable it is.
class DatasetPublic(ValidatedDataset):
    template_name: str | None
    data_source: str
    iceberg_table_name: str
    created_at: datetime
    modified_at: datetime
    dataset_usability: str
    usage: str
    dataset_usage: str
    total_records: int
    valid_records: int
    snapshot_id: int | None


class DatasetsPublic(BaseModel):
    total: int
    data: list[DatasetPublic]


class ColumnPublic(BaseModel):
    column_name: str
    data_type: str
    default_value: str | None = None


class DatasetDetail(BaseModel):
    id: int
    dataset_name: str
    dataset_path: str
    validated_path: str
    iceberg_table_name: str
    data_source: str
    usage: str
    dataset_usage: str
    is_valid: bool
    snapshot_id: int | None
    columns: list[ColumnPublic]
    versions: list[dict[str, Any]]


class DatasetPreview(BaseModel):
    dataset_id: int
    total: int
    limit: int
    offset: int
    preview: list[dict[str, Any]]


class FilePreview(BaseModel):
    file_id: int
    content_preview: list[str]


class StatisticsJob(BaseModel):
    status: str
    message: str
    job_id: str
    statistics_id: int


class StatisticsResult(BaseModel):
    dataset_id: int
    statistics_id: int
    job_id: str | None
    status: str
    stage: str
    percent: int
    snapshot_id: int | None
    error: str | None
    statistics: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
