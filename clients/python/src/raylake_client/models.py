"""What the client returns, typed: pydantic models of the API's answers. Each keeps fields the server adds
later (``extra="allow"``), so a newer server does not break an older client."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


class Wire(BaseModel):
    """Base of every answer: unknown fields kept, field names as the API spells them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())


class Page(Wire, Generic[T]):
    """One page of a list, and how many items the whole list holds."""

    items: list[T]
    total: int


# --- auth -------------------------------------------------------------------------------------------


class Me(Wire):
    """Who the credential belongs to (``GET /validate-token``)."""

    user_id: int
    username: str
    tenant_id: str
    is_superuser: bool = False
    permissions: list[str] = []
    expires_at: datetime | None = None


# --- templates and datasets ----------------------------------------------------------------------------


class TemplateColumn(Wire):
    column_name: str
    data_type: str
    default_value: str | None = None


class Template(Wire):
    id: int
    template_name: str
    tenant_id: str
    no_of_columns: int
    created_by: str
    created_at: datetime
    template_schema: list[TemplateColumn] = []


class DatasetFile(Wire):
    """One uploaded file and its validation: rows read, rows valid, and the per-column error report."""

    id: int
    dataset_id: int
    file_name: str
    total_fields: int
    total_records: int
    valid_records: int
    is_valid: bool
    error_report: dict[str, Any] | None = None


class UploadReport(Wire):
    """What an upload answers: the dataset, how usable it is (``"67%"``) and each file's validation."""

    dataset_id: int
    dataset_name: str
    iceberg_table_name: str
    is_valid: bool
    dataset_usability: str
    usage: str
    snapshot_id: int | None
    files: list[DatasetFile]

    @property
    def total_records(self) -> int:
        return sum(f.total_records for f in self.files)

    @property
    def valid_records(self) -> int:
        return sum(f.valid_records for f in self.files)


class Dataset(Wire):
    id: int
    dataset_name: str
    tenant_id: str
    template_id: int | None
    is_valid: bool
    usage: str
    total_records: int
    valid_records: int
    iceberg_table_name: str
    snapshot_id: int | None
    created_at: datetime


# --- training --------------------------------------------------------------------------------------


class RunInfo(Wire):
    """A training run as the API answers it: status, stage and percent while it trains, then results."""

    id: int
    tenant_id: str
    predictor_id: int
    predictor_name: str
    version: int
    preprocess_id: int | None
    problem_type: str
    dataset_id: int | None
    algorithm: str
    model_algorithm: str | None
    accuracy: float | None
    metrics: dict[str, Any] | None
    train_status: str
    stage: str
    percent: int
    error: str | None
    ray_job_id: str | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def done(self) -> bool:
        return self.train_status in FINAL_STATUSES


class ModelSummary(Wire):
    train_id: int
    problem_type: str
    model_summary: dict[str, Any]
    confusion_matrix: list[list[int]] | None = None
    labels: list[str] | None = None


class FeatureImportance(Wire):
    train_id: int
    status: str
    stage: str
    percent: int
    feature_importance: dict[str, float] | None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES


# --- inference ---------------------------------------------------------------------------------------


class RowPrediction(Wire):
    prediction: Any
    capture_id: str | None = None
    probabilities: dict[str, float] | None = None
    explanation: dict[str, float] | None = None
    explanation_method: str | None = None


class BatchResult(Wire):
    prediction_id: int
    train_id: int | None
    dataset_id: int | None
    status: str
    stage: str
    percent: int
    error: str | None
    file_id: int | None
    gold_table: str | None
    no_of_records: int
    accuracy: float | None

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES


class ForecastPoint(Wire):
    date: str
    value: float
    lower: float
    upper: float
    confidence: float


class Forecast(Wire):
    train_id: int
    prediction_id: int
    unique_id: str
    frequency: str
    model: str
    forecast: list[ForecastPoint]


# --- registry ----------------------------------------------------------------------------------------


class VersionSummary(Wire):
    version: str
    train_id: int
    status: str
    algorithm: str
    aliases: list[str]


class Model(Wire):
    """A registered model (a predictor): its task, status, aliases and versions."""

    id: int
    uid: str
    name: str
    description: str | None
    project_id: int
    task: str
    status: str
    target: str | None
    tags: list[str]
    aliases: dict[str, str]
    versions: list[VersionSummary]
    created_at: datetime


class Version(Wire):
    model_id: int
    version: str
    train_id: int
    status: str
    stage: str
    percent: int
    error: str | None
    algorithm: str
    metrics: dict[str, Any] | None
    aliases: list[str]


class Alias(Wire):
    model_id: int
    alias: str
    version: str
    train_id: int


class Describe(Wire):
    model_id: int
    version: str
    description: str
    features: list[str]
    target: str | None
    performance: dict[str, Any]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class Deployment(Wire):
    id: int
    uid: str
    model_id: int
    version: str
    train_id: int
    app_name: str
    replicas: int
    status: str
    reason: str | None
    ready_replicas: int
    target_replicas: int


class FeedbackReport(Wire):
    """What a feedback call recorded (``matched`` labels named a captured prediction) and live accuracy."""

    model_id: int
    received: int
    matched: int
    unmatched: list[str]
    metric: str
    versions: list[dict[str, Any]]
    degraded: bool


# --- events ------------------------------------------------------------------------------------------


class Event(Wire):
    """One event of the tenant's feed (``run.completed``, ``model.status_changed``, ...)."""

    id: int
    type: str
    tenant_id: str
    created_at: str
    data: dict[str, Any] = Field(default_factory=dict)


# --- API keys ----------------------------------------------------------------------------------------


class ApiKey(Wire):
    """An API key as listed: never the key itself, only its first characters (``prefix``)."""

    id: int
    name: str
    prefix: str
    role: str | None
    permissions: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_by: str
    created_at: datetime


class ApiKeyCreated(ApiKey):
    """A new key: ``key`` (``rlk_...``) is in this answer only, never again."""

    key: str
