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


class Tenant(Wire):
    id: str
    name: str
    is_active: bool
    created_at: datetime


class User(Wire):
    id: int
    tenant_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str
    username: str
    is_active: bool
    is_superuser: bool = False
    roles: list[str] = []


class Role(Wire):
    id: int
    tenant_id: str
    name: str
    description: str | None = None
    permissions: list[str] = []


class Permission(Wire):
    id: int
    name: str
    tenant_id: str
    description: str | None = None


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


class Statistics(Wire):
    """A dataset's statistics job: its status and progress, and the per-column statistics once completed."""

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

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES | {"succeeded"}


# --- the lake ----------------------------------------------------------------------------------------


class LakeColumn(Wire):
    column_name: str
    data_type: str


class TableMetadata(Wire):
    """A lake table's catalogue facts (``schema`` as the API spells it is ``schema_name`` here)."""

    schema_name: str = Field(alias="schema")
    table: str
    owner: str
    created_time: datetime
    last_access_time: datetime
    location: str
    format: str
    row_count: int
    snapshot_id: int | None


class NumericStats(Wire):
    column: str
    count: int
    mean: float | None
    std_dev: float | None
    min: float | None
    max: float | None
    median: float | None


class DistinctCount(Wire):
    column: str
    distinct_count: int


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


class TrainingDetails(Wire):
    """What a dataset offers for training: its columns and types, the column roles, problem types and
    algorithms (``POST /train/get_details``)."""

    dataset_id: int
    predictor_name: str | None
    domain: str | None
    problem_type: str | None
    dataset_schema: list[dict[str, Any]]
    attributes: list[str]
    problem_types: list[str]
    algorithms: list[str]


# --- inference ---------------------------------------------------------------------------------------


class RowPrediction(Wire):
    prediction: Any
    capture_id: str | None = None
    probabilities: dict[str, float] | None = None
    explanation: dict[str, float] | None = None
    explanation_method: str | None = None


class Prediction(Wire):
    """One row's answer to ``POST /inference/`` with ``features``: the target, the model's test accuracy."""

    train_id: int
    target: str
    accuracy: float | None = None  # omitted for a model without test figures (one trained elsewhere)
    prediction: Any = None
    capture_id: str | None = None
    probabilities: dict[str, float] | None = None
    explanation: dict[str, float] | None = None
    explanation_method: str | None = None


class FormField(Wire):
    column_name: str
    data_type: str
    default_value: str | None
    attribute_name: str
    required: bool
    categories: list[str] | None = None


class PredictionForm(Wire):
    """The fields a run's model takes (``GET /inference/form-based-prediction``)."""

    id: int
    headers: list[FormField]
    target: str
    preprocess_id: int | None
    problem_type: str


class LoggedPrediction(Wire):
    """One entry of the prediction log (real-time, batch and forecast predictions)."""

    prediction_id: int
    date: datetime


class RunDeployment(Wire):
    """A run's own deployment (``POST /inference/deploy``)."""

    train_id: int
    app_name: str
    replicas: int
    message: str


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


class CapturedPrediction(Wire):
    """A predicted row captured in the lake: who asked, when, what the version answered, its inputs."""

    capture_id: str | None
    request_id: str
    ts: datetime
    model_id: int
    train_id: int
    version: int
    caller: str | None
    source: str
    latency_ms: float | None
    prediction: str | None
    prediction_value: float | None
    probability: float | None
    probabilities: dict[str, float] | None
    inputs: dict[str, Any]


class DriftReport(Wire):
    """A drift check of a version's inputs against its training baseline; ``status`` (``ok``,
    ``drift``, ``insufficient_data``) is None while its Ray job runs (``job_status``, ``stage``)."""

    id: int
    model_id: int
    version: str
    train_id: int
    source: str
    method: str
    threshold: float
    min_rows: int
    rows: int | None
    status: str | None
    drifted: list[str]
    columns: list[dict[str, Any]]
    prediction: dict[str, Any] | None
    job_status: str
    stage: str
    percent: int
    error: str | None

    @property
    def done(self) -> bool:
        return self.job_status in FINAL_STATUSES


class FactoryResult(Wire):
    """The model factory's reading of a sample: per column its type, range, categories, bins; a spec."""

    columns_schema: dict[str, Any] = Field(alias="schema")
    spec: dict[str, Any]
    sample_rows: int
    dataset_id: int | None
    file_id: int | None
    model_id: int | None

    @property
    def columns(self) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.columns_schema.get("columns", [])}


class Artifact(Wire):
    """A file uploaded to a model; ``format`` (``skops``, ``onnx``...) told from a model file's bytes."""

    id: int
    uid: str
    model_id: int
    file_kind: str
    filename: str
    format: str | None
    size: int
    sha256: str
    created_at: datetime


class Surrogate(Wire):
    """A surrogate tree fitted to a version's predictions so TreeSHAP explains it; ``fidelity``: agreement
    with the model on held-out rows (R² for a regressor)."""

    model_id: int
    version: str
    train_id: int
    status: str
    stage: str
    percent: int
    error: str | None
    dataset_id: int | None
    fidelity: float | None = None
    metric: str | None = None
    rows: int | None = None

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES


class Operation(Wire):
    """One call of a deployment: caller, status, latency and rows."""

    id: int
    deployment_id: int
    caller: str
    status_code: int
    latency_ms: float
    rows: int
    error: str | None
    created_at: datetime


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
