"""API contracts of training (runs, results, feature importance) and of Ray job termination."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from raylake.core.types import DataType
from raylake.core.vocabulary import MAX_ID, ColumnAttribute, JobStatus, ProblemType
from raylake.schemas.common import Strict

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
PredictorName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f/\\]+$")
]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class ColumnRoleIn(Strict):
    column_name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    # Optional: when given it must be the dataset's type for that column (aliases accepted).
    data_type: str | None = None
    attribute_name: str


class TrainRequest(Strict):
    dataset_id: RowId
    predictor_name: PredictorName
    domain: Label
    problem_type: str
    # Columns not listed are Features; list a column as Ignore to leave it out.
    columns: Annotated[list[ColumnRoleIn], Field(max_length=2000)] = []
    is_incremental: bool = False
    algorithm: str | None = None
    shap_enabled: bool = False
    # raylake additions: hyper-parameters for a chosen algorithm, the search budget of "auto", the seed.
    params: dict[str, Any] | None = None
    time_budget_s: Annotated[int, Field(ge=5, le=24 * 3600)] = 60
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    # Forecasting only: steps ahead to backtest and forecast (default by frequency), the frequency
    # (inferred when absent; a given one must match the data) and the prediction interval's level.
    forecast_horizon: Annotated[int, Field(ge=1)] | None = None
    frequency: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)] | None
    ) = None
    interval_level: Annotated[float, Field(ge=0.5, le=0.99)] = 0.9
    # A running Ray job of ``python -m raylake.train_jobs.submit`` (a notebook's ``ray job submit``)
    # that trains this run itself: the platform submits none (training/handoff.py).
    ray_job_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")] | None
    ) = None


class DetailsRequest(BaseModel):
    dataset_id: RowId
    predictor_name: PredictorName | None = None
    domain: Label | None = None
    problem_type: str | None = None


class SchemaColumn(BaseModel):
    column_name: str
    data_type: DataType
    attribute_name: ColumnAttribute | None = None


class DetailsResponse(BaseModel):
    dataset_id: int
    predictor_name: str | None
    domain: str | None
    problem_type: ProblemType | None
    dataset_schema: list[SchemaColumn]
    attributes: list[ColumnAttribute]
    problem_types: list[ProblemType]
    algorithms: list[str]


class TrainPublic(BaseModel):
    id: int
    tenant_id: str
    predictor_id: int
    predictor_name: str
    version: int
    parent_id: int | None
    preprocess_id: int | None
    problem_type: ProblemType
    domain: str
    created_by: str
    dataset_id: int | None
    dataset_name: str
    data_source: str
    snapshot_id: int | None
    created_at: datetime
    modified_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    algorithm: str
    model_algorithm: str | None
    is_incremental: bool
    shap_enabled: bool
    accuracy: float | None
    metrics: dict[str, Any] | None
    ml_model_status: str
    train_status: JobStatus
    training_status: str
    stage: str
    percent: int
    error: str | None
    ray_job_id: str | None


class TrainDetail(TrainPublic):
    columns: list[dict[str, Any]]
    params: dict[str, Any]
    model_params: dict[str, Any] | None
    time_budget_s: int
    seed: int
    trials: list[dict[str, Any]] | None
    rows: dict[str, Any] | None


class TrainList(BaseModel):
    total: int
    data: list[TrainPublic]


class UpdateRequest(Strict):
    train_id: RowId
    preprocess_id: RowId


class DataMessage(BaseModel):
    data: str
    status_code: int = 200
    message: str = "Success"


class RunLogs(BaseModel):
    """A run's Ray job log: what its driver printed, the last part when ``truncated``."""

    train_id: int
    ray_job_id: str | None
    status: str
    logs: str
    truncated: bool


class StatusMessage(BaseModel):
    status_code: int = 200
    message: str


class TrainResultBody(BaseModel):
    """What a training job reports: metrics and artifacts on success, ``error`` on failure."""

    metrics: dict[str, Any] | None = None
    error: str | None = None
    path: str | None = None
    checkpoint: str | None = None
    algorithm: str | None = None
    params: dict[str, Any] | None = None
    trials: list[dict[str, Any]] | None = None
    rows: dict[str, Any] | None = None
    input_schema: list[dict[str, Any]] | None = None
    preprocess: dict[str, Any] | None = None


class TrainResult(BaseModel):
    result: TrainResultBody
    train_id: RowId
    preprocess_id: str | None = None


class ShapResult(BaseModel):
    training_id: RowId
    result: dict[str, float] | None = None
    error: str | None = None


class CallbackAck(BaseModel):
    status: str = "success"
    message: str


class ModelSummary(BaseModel):
    train_id: int
    problem_type: ProblemType
    model_summary: dict[str, Any]
    confusion_matrix: list[list[int]] | None = None
    labels: list[str] | None = None
    rows: dict[str, Any] | None = None
    trials: int


class SchemaDownload(BaseModel):
    train_id: int
    schema_: list[SchemaColumn] = Field(alias="schema", serialization_alias="schema")


class FeatureImportance(BaseModel):
    train_id: int
    feature_importance: dict[str, float] | None
    status: JobStatus
    stage: str
    percent: int
    error: str | None = None
    shap_job_id: str | None = None


class ShapSubmitted(BaseModel):
    status: str = "success"
    message: str
    shap_job_id: str


class TerminateResult(BaseModel):
    status: str = "success"
    message: str
