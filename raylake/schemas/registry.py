"""API contracts of the model registry: projects, models, versions, aliases, describe and infer."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from raylake.core.vocabulary import MAX_ID, ModelStatus, ModelType, Task
from raylake.schemas.common import Strict
from raylake.schemas.drift import DriftSettings
from raylake.schemas.factory import ColumnsSchema, ColumnsSchemaIn, ModelSpec
from raylake.schemas.feedback import FeedbackSettings
from raylake.schemas.inference import FeatureValue
from raylake.schemas.training import PredictorName, TrainResultBody

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
ProjectName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f/\\]+$")
]
Description = Annotated[str, StringConstraints(max_length=2000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Tags = Annotated[list[Tag], Field(max_length=50)]
AliasName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_.\-]*$")
]
# Free key/values: small, so a model row stays a row.
Metadata = Annotated[dict[str, Any], Field(max_length=100)]
# A model's metrics keep the training metrics a worker or a user reports under this key (beside the test
# figures): the reference's ``training_metrics``; the rest are its ``performance_metrics``.
TRAINING_KEY = "training"
# "schema" is a BaseModel attribute: the field is columns_schema, "schema" on the wire.
BY_ALIAS = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


class ProjectCreate(Strict):
    name: ProjectName
    description: Description | None = None


class ProjectUpdate(Strict):
    name: ProjectName | None = None
    description: Description | None = None


class ProjectPublic(BaseModel):
    id: int
    uid: str
    name: str
    description: str | None
    models: int
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime


class ProjectsPublic(BaseModel):
    items: list[ProjectPublic]
    total: int
    limit: int
    offset: int


class TrainingConfig(Strict):
    """How a model's versions are trained (``POST /models/{id}/train`` may override any of it)."""

    algorithm: str | None = None
    params: dict[str, Any] | None = None
    columns: Annotated[list[dict[str, Any]], Field(max_length=2000)] | None = None
    domain: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] | None = (
        None
    )
    time_budget_s: Annotated[int, Field(ge=5, le=24 * 3600)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    shap_enabled: bool | None = None
    forecast_horizon: Annotated[int, Field(ge=1)] | None = None
    frequency: Annotated[str, StringConstraints(min_length=1, max_length=16)] | None = None
    interval_level: Annotated[float, Field(ge=0.5, le=0.99)] | None = None


class ModelCreate(Strict):
    name: PredictorName
    project_id: RowId | None = None  # the tenant's default project when absent
    description: Description | None = None
    task: Task
    model_type: ModelType = ModelType.AUTO
    template_id: RowId | None = None
    ontology_id: RowId | None = Field(None, description="The reference's name for template_id")
    dataset_id: RowId | None = None
    target: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    training_config: TrainingConfig = TrainingConfig()
    metadata: Metadata = {}
    tags: Tags = []
    owner: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    columns_schema: ColumnsSchemaIn | None = Field(None, alias="schema", description="The model's columns")
    spec: ModelSpec | None = None
    capture_predictions: bool = Field(True, description="Keep every prediction in the lake")

    model_config = BY_ALIAS

    @model_validator(mode="after")
    def _ontology_is_template(self) -> "ModelCreate":
        """``ontology_id`` is another name of ``template_id``: either, or both when they agree."""
        if self.ontology_id is not None:
            if self.template_id is not None and self.template_id != self.ontology_id:
                raise ValueError("ontology_id is template_id's other name: give one, or the same id")
            self.template_id = self.ontology_id
        self.ontology_id = self.template_id
        return self


class ModelUpdate(Strict):
    name: PredictorName | None = None
    description: Description | None = None
    status: ModelStatus | None = None
    metrics: Metadata | None = None
    performance_metrics: Metadata | None = Field(
        None, description="The metrics but their training part (replaces those, keeps training_metrics)"
    )
    training_metrics: Metadata | None = Field(None, description="Stored in the metrics under 'training'")
    metadata: Metadata | None = None
    tags: Tags | None = None
    owner: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    columns_schema: ColumnsSchemaIn | None = Field(None, alias="schema", description="The model's columns")
    spec: ModelSpec | None = None
    capture_predictions: bool | None = None
    drift: DriftSettings | None = Field(None, description="Drift checks: sent whole, replaces the settings")
    feedback: FeedbackSettings | None = Field(
        None, description="Live accuracy from feedback: sent whole, replaces the settings"
    )

    model_config = BY_ALIAS

    @model_validator(mode="after")
    def _metrics_once(self) -> "ModelUpdate":
        """``metrics`` replaces all of them; the reference's two names each replace their part."""
        if self.metrics is not None and (
            self.performance_metrics is not None or self.training_metrics is not None
        ):
            raise ValueError("give metrics, or performance_metrics and training_metrics, not both")
        return self


class VersionSummary(BaseModel):
    version: str
    train_id: int
    status: str
    algorithm: str
    aliases: list[str]
    created_at: datetime


class ModelPublic(BaseModel):
    id: int
    uid: str
    name: str
    description: str | None
    project_id: int
    task: Task
    model_type: str
    template_id: int | None
    ontology_id: int | None = Field(None, description="template_id, under the reference's name")
    dataset_id: int | None
    target: str | None
    training_config: dict[str, Any]
    metadata: dict[str, Any]
    metrics: dict[str, Any] | None
    performance_metrics: dict[str, Any] | None = Field(None, description="metrics but their training part")
    training_metrics: dict[str, Any] | None = Field(None, description="metrics' training part")
    tags: list[str]
    owner: str
    status: ModelStatus
    aliases: dict[str, str]
    versions: list[VersionSummary]
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime
    columns_schema: ColumnsSchema | None = Field(None, alias="schema")
    spec: ModelSpec | None = None
    capture_predictions: bool = True
    drift: DriftSettings | None = None
    feedback: FeedbackSettings | None = None

    model_config = BY_ALIAS


class ModelsPublic(BaseModel):
    items: list[ModelPublic]
    total: int
    limit: int
    offset: int


class ModelTrainRequest(Strict):
    # The reference's body names the model again: accepted when it is the path's (its id or uid).
    model_id: RowId | Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = None
    dataset_id: RowId | None = None
    # The reference's name: its training datasets. A version trains on one (versions.train_request).
    storage_config_ids: Annotated[list[RowId], Field(max_length=100)] | None = None
    training_config: TrainingConfig | None = None


class VersionPublic(BaseModel):
    model_id: int
    version: str
    train_id: int
    status: str
    stage: str
    percent: int
    error: str | None
    algorithm: str
    dataset_id: int | None
    dataset_name: str
    snapshot_id: int | None
    metrics: dict[str, Any] | None
    artifact_key: str | None
    aliases: list[str]
    created_by: str
    created_at: datetime
    finished_at: datetime | None


class VersionsPublic(BaseModel):
    items: list[VersionPublic]
    total: int


class AliasSet(Strict):
    version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class AliasPublic(BaseModel):
    model_id: int
    alias: str
    version: str
    train_id: int


class Describe(BaseModel):
    """The reference's ``describe`` (description, features, target, performance) and JSON Schemas."""

    model_id: int
    version: str
    description: str
    features: list[str]
    target: str | None
    performance: dict[str, Any]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class InferRequest(BaseModel):
    """Flat named fields for one row, or ``{"instances": [...]}`` for many (no other fields then)."""

    model_config = {"extra": "allow"}

    instances: Annotated[list[dict[str, FeatureValue]], Field(min_length=1)] | None = None


class VersionComplete(TrainResultBody):
    """A worker's training-complete report: ``train/result``'s body, with the reference's names too."""

    artifact_path: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    performance_metrics: dict[str, Any] | None = None
    training_metrics: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _performance_is_metrics(self) -> "VersionComplete":
        """``performance_metrics`` is the reference's name of ``metrics``: either, or both when equal."""
        if self.performance_metrics is not None:
            if self.metrics is not None and self.metrics != self.performance_metrics:
                raise ValueError("performance_metrics is metrics' other name: give one")
            self.metrics = self.performance_metrics
        return self


class VersionFailure(BaseModel):
    """A worker's training-failure report."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
