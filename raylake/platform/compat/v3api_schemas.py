"""Wire shapes of reference document 001 (model REST API v3): its envelopes, models, columns, jobs and
request bodies, under the document's own names."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from raylake.core.types import DataType
from raylake.core.vocabulary import MAX_ID, ModelStatus, Task
from raylake.schemas.common import Strict
from raylake.schemas.factory import MAX_CARDINALITY, MAX_SAMPLE, ColumnsSchemaIn, ModelSpec
from raylake.schemas.registry import BY_ALIAS, Description
from raylake.schemas.training import PredictorName

API_VERSION = "3.0"
T = TypeVar("T")
Text = Annotated[str, StringConstraints(max_length=256)]
Owner = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=256)]
VersionLabel = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class V3Status(StrEnum):
    """A model's status in the document's words: raylake's lifecycle, ``trained`` spelled ``LIVE``."""

    LIVE = "LIVE"
    DRAFT = "DRAFT"
    TRAINING = "TRAINING"
    FAILED = "FAILED"
    DEGRADED = "DEGRADED"
    DEPRECATED = "DEPRECATED"
    ARCHIVED = "ARCHIVED"

    @property
    def native(self) -> ModelStatus:
        """The raylake status this one is."""
        return ModelStatus.TRAINED if self is V3Status.LIVE else ModelStatus(self.value.lower())

    @classmethod
    def of(cls, status: str) -> V3Status:
        """The document's word for a raylake status."""
        return cls.LIVE if status == ModelStatus.TRAINED else cls(status.upper())


class InputType(StrEnum):
    STRUCTURED = "structured"
    TEXT = "text"
    LLM = "llm"


class ArtifactStatus(StrEnum):
    NO_MODEL = "no_model"
    SURROGATE = "surrogate"
    USER_UPLOADED = "user_uploaded"


# A column's type in the document's words; a String column listing its categories is a ``category``.
V3_TYPES: dict[DataType, str] = {
    DataType.STRING: "str",
    DataType.INTEGER: "int",
    DataType.FLOAT: "float",
    DataType.BOOLEAN: "bool",
    DataType.DATE: "date",
    DataType.DATETIME: "timestamp",
}


def _native_types(value: Any) -> Any:
    """A schema's ``category`` columns as raylake's String columns (the other names are its aliases)."""
    if isinstance(value, dict) and isinstance(value.get("columns"), list):
        value = {
            **value,
            "columns": [
                {**c, "data_type": DataType.STRING.value}
                if isinstance(c, dict) and str(c.get("data_type", "")).strip().lower() == "category"
                else c
                for c in value["columns"]
            ],
        }
    return value


class TaskParams(BaseModel):
    binary_classification_threshold: float | None = None
    target_class_order: Annotated[list[Label], Field(max_length=10_000)] | None = None
    group_by: Text | None = None
    top_k: int | None = None
    class_weights: Annotated[list[float], Field(max_length=10_000)] | None = None
    weighted_ref_histograms: bool | None = None


class XaiParams(BaseModel):
    custom_explain_methods: Annotated[list[Text], Field(max_length=100)] = []
    default_explain_method: Text | None = None


class _ModelFields(Strict):
    """What a create and a patch both take."""

    model_config = ConfigDict(extra="forbid", **BY_ALIAS)

    version: VersionLabel | None = None
    columns_schema: ColumnsSchemaIn | None = Field(None, alias="schema", description="The model's columns")
    spec: ModelSpec | None = None
    task_params: TaskParams | None = None
    xai_params: XaiParams | None = None
    description: Description | None = None
    owner_id: Owner | None = Field(None, description="The owner's user id: their username")
    deployment_date: datetime | None = None
    algorithm: Text | None = None
    framework: Text | None = None
    event_id_col: Text | None = None
    event_ts_col: Text | None = None
    event_ts_format: Text | None = None

    _types = field_validator("columns_schema", mode="before")(_native_types)


# Fields of the document's model that raylake has no column for: kept in the model's metadata.
EXTRA_FIELDS = (
    "version",
    "input_type",
    "task_params",
    "xai_params",
    "deployment_date",
    "algorithm",
    "framework",
    "event_id_col",
    "event_ts_col",
    "event_ts_format",
)


class ModelCreateV3(_ModelFields):
    name: PredictorName
    version: VersionLabel = "v1"
    project_id: UUID
    status: Literal["LIVE", "DRAFT"] = Field(
        "LIVE", description="Accepted; a model is a DRAFT until its first artifact is deployed"
    )
    input_type: InputType
    task: Task


class ModelUpdateV3(_ModelFields):
    status: V3Status | None = None
    input_type: InputType | None = None
    task: Task | None = Field(None, description="A model's task is fixed: the same one, or 422")


class FactoryRequestV3(Strict):
    file_id: Annotated[int, Field(ge=1, le=MAX_ID)] = Field(description="An uploaded file's id (raylake's)")
    spec: ModelSpec | None = None
    max_cardinality: Annotated[int, Field(ge=1, le=MAX_CARDINALITY)] = 1000
    sample_size: Annotated[int, Field(ge=10_000, le=MAX_SAMPLE)] = 10_000


class DeploymentParams(Strict):
    """Accepted as the document sends them; raylake fits a surrogate in a Ray job of its own code, so no
    image is pulled and the resources are its own."""

    artifact_type: Literal["SURROGATE"] = "SURROGATE"
    deployment_type: Text | None = None
    image_uri: Text | None = None
    replicas: Annotated[int, Field(ge=1, le=100)] | None = None
    cpu: Annotated[int, Field(ge=1)] | None = None
    memory: Annotated[int, Field(ge=1)] | None = None


class SurrogateRequestV3(Strict):
    env_id: Annotated[int, Field(ge=1, le=MAX_ID)] = Field(
        description="The dataset (raylake's id) the surrogate is fitted on: its rows, predicted by the model"
    )
    deployment_params: DeploymentParams | None = None


class Ref(BaseModel):
    id: str
    name: str


class UserRef(BaseModel):
    id: str
    full_name: str
    email: str | None


class ColumnV3(BaseModel):
    name: str
    data_type: str
    min: int | float | str | None = None
    max: int | float | str | None = None
    categories: list[str | int | float | bool] | None = None
    bins: list[float] | None = None
    replace_with_nulls: list[str] = []
    n_dimensions: int = 1
    id: str


class SchemaV3(BaseModel):
    schema_version: int = 1
    columns: list[ColumnV3]


class ArtifactFile(BaseModel):
    name: str
    size: int
    modified: datetime


class ModelSummaryV3(BaseModel):
    id: str
    name: str
    version: str
    status: V3Status
    organization: Ref
    project: Ref
    input_type: str | None
    task: str
    description: str | None
    owner: UserRef | None
    deployment_date: datetime | None
    artifact_status: ArtifactStatus
    deleted_at: datetime | None = None
    algorithm: str | None
    framework: str | None
    created_by: UserRef
    updated_by: UserRef
    created_at: datetime
    updated_at: datetime


class ModelV3(ModelSummaryV3):
    model_config = {"serialize_by_alias": True, "validate_by_name": True, "validate_by_alias": True}

    task_params: dict[str, Any] | None
    columns_schema: SchemaV3 | None = Field(None, alias="schema")
    spec: ModelSpec | None
    event_id_col: str | None
    event_ts_col: str | None
    event_ts_format: str | None
    xai_params: dict[str, Any] | None
    artifact_files: list[ArtifactFile]
    is_binary_ranking_model: bool = False


class FactoryResultV3(BaseModel):
    model_config = {"serialize_by_alias": True, "validate_by_name": True, "validate_by_alias": True}

    columns_schema: SchemaV3 = Field(alias="schema")
    spec: ModelSpec


class Job(BaseModel):
    id: str
    name: str


class JobData(BaseModel):
    job: Job


class Normal(BaseModel, Generic[T]):
    api_version: str = API_VERSION
    kind: Literal["NORMAL"] = "NORMAL"
    data: T


class Page(BaseModel, Generic[T]):
    items: list[T]
    page_size: int
    total: int
    item_count: int
    page_count: int
    page_index: int
    offset: int


class Paginated(BaseModel, Generic[T]):
    api_version: str = API_VERSION
    kind: Literal["PAGINATED"] = "PAGINATED"
    data: Page[T]
