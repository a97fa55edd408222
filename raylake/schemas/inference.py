"""API contracts of inference: real-time, form-based and batch predictions, forecasts, the prediction log."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from raylake.core.types import DataType
from raylake.core.vocabulary import MAX_ID, ColumnAttribute, ExplainMethod, JobStatus, ProblemType
from raylake.schemas.common import Strict

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
# Scalars only: a nested object or list is no feature value.
FeatureValue = str | int | float | bool | None


class PredictRequest(Strict):
    train_id: RowId
    # The reference requires it; raylake accepts it omitted (the run's current preprocessing) and refuses
    # one the run does not use.
    preprocess_id: RowId | None = None
    # One row (the reference's form) or many (``instances``); exactly one of the two.
    features: dict[str, FeatureValue] | None = None
    instances: list[dict[str, FeatureValue]] | None = None
    target: str | None = None
    explain: bool = False


class ForecastRequest(Strict):
    train_id: RowId
    preprocess_id: RowId | None = None  # as for predictions: optional, and must match the run's
    # Validated by the service (not here), so a negative or huge count gets a message naming the limit.
    steps: int
    # The reference requires both; raylake accepts them omitted (the trained frequency; the only series).
    frequency: str | None = None
    unique_id: str | None = None
    # Future values of the model's exogenous features: rows of a dataset, or inline rows, each with the
    # Time column (and the features).
    dataset_id: RowId | None = None
    exogenous: Annotated[list[dict[str, FeatureValue]], Field(max_length=10_000)] | None = None


class ForecastPoint(BaseModel):
    date: str
    value: float
    lower: float
    upper: float
    confidence: float


class ForecastResponse(BaseModel):
    """The reference's ``forecast`` list; ``lower``/``upper`` bound the interval at level ``confidence``."""

    train_id: int
    prediction_id: int
    unique_id: str
    frequency: str
    model: str
    forecast: list[ForecastPoint]


CAPTURE_ID = "The captured row's id (when the model captures predictions): send it back as feedback"


class RowPrediction(BaseModel):
    prediction: Any
    capture_id: str | None = Field(None, description=CAPTURE_ID)
    probabilities: dict[str, float] | None = None
    explanation: dict[str, float] | None = None
    explanation_method: ExplainMethod | None = Field(
        None, description="How the explanation was computed (with explain=true)"
    )
    explanation_fidelity: float | None = Field(
        None, description="The surrogate's fidelity, when a surrogate explained the prediction"
    )


class PredictResponse(BaseModel):
    """``prediction``/``probabilities``/``explanation`` for a ``features`` call; ``predictions`` (one per
    row, in order) for an ``instances`` call. ``accuracy`` is the model's test accuracy (R² for
    regression), as in the reference."""

    train_id: int
    target: str
    accuracy: float | None
    prediction: Any = None
    capture_id: str | None = Field(None, description=CAPTURE_ID)
    probabilities: dict[str, float] | None = None
    explanation: dict[str, float] | None = None
    explanation_method: ExplainMethod | None = None
    explanation_fidelity: float | None = None
    predictions: list[RowPrediction] | None = None


class FormField(BaseModel):
    column_name: str
    data_type: DataType
    default_value: str | None
    attribute_name: ColumnAttribute
    required: bool
    categories: list[str] | None = None


class FormResponse(BaseModel):
    id: int
    headers: list[FormField]
    target: str
    preprocess_id: int | None
    problem_type: ProblemType


class BatchRequest(Strict):
    train_id: RowId
    dataset_id: RowId


class BatchSubmitted(BaseModel):
    message: str
    status_code: int = 202
    prediction_id: int
    status: JobStatus
    ray_job_id: str | None


class BatchResult(BaseModel):
    prediction_id: int
    train_id: int | None
    dataset_id: int | None
    status: JobStatus
    stage: str
    percent: int
    error: str | None
    result_path: str | None
    file_id: int | None
    gold_table: str | None
    no_of_records: int
    accuracy: float | None
    metrics: dict[str, Any] | None
    ray_job_id: str | None


class PredictionLogEntry(BaseModel):
    prediction_id: int
    train_id: int | None
    date: datetime
    dataset_id: int | None
    predictor_name: str
    prediction_type: str
    input_data: str
    status: JobStatus
    no_of_records: int
    accuracy: float | None
    problem_type: ProblemType
    domain_name: str


class PredictionLog(BaseModel):
    data: list[PredictionLogEntry]
    total: int


class BatchResultBody(BaseModel):
    """What a batch job reports: where its output went on success, ``error`` on failure."""

    error: str | None = None
    no_of_records: int | None = None
    accuracy: float | None = None
    metrics: dict[str, Any] | None = None
    gold_table: str | None = None
    csv_key: str | None = None
    csv_size: int | None = None


class BatchCallback(BaseModel):
    prediction_id: RowId
    result: BatchResultBody


class DeployResponse(BaseModel):
    train_id: int
    app_name: str
    replicas: int
    message: str
