"""API contracts of a model's artifacts (uploaded files) and of its external versions."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from raylake.core.types import DataType
from raylake.core.vocabulary import MAX_ID, ArtifactKind, ModelFormat, Task
from raylake.schemas.common import Strict

ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=256)]
# An artifact by its integer id or its uid.
ArtifactRef = Annotated[
    str,
    StringConstraints(
        pattern=r"^([0-9]{1,10}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    ),
]


class ArtifactPublic(BaseModel):
    id: int
    uid: str
    model_id: int
    file_kind: ArtifactKind
    filename: str
    format: ModelFormat | None = Field(
        description="A model file's format, told from its bytes; null for other kinds. A pickle is stored, "
        "never loaded."
    )
    size: int
    sha256: str
    created_by: str
    created_at: datetime


class ArtifactsPublic(BaseModel):
    items: list[ArtifactPublic]
    total: int


class SignatureInput(Strict):
    name: ColumnName
    data_type: DataType


class ExternalVersionCreate(Strict):
    """An external model file registered as the model's next version, with the signature it is called
    with: checked by loading the file and predicting a probe row before anything is recorded."""

    artifact_id: ArtifactRef | Annotated[int, Field(ge=1, le=MAX_ID)]
    inputs: Annotated[list[SignatureInput], Field(min_length=1, max_length=2000)] | None = Field(
        None,
        description="The model's inputs in the order it takes them; by default the inputs of the model's "
        "spec, typed by its column schema (the model factory's)",
    )
    task: Task | None = Field(None, description="Defaults to the model's task; forecasting is not taken")
    class_order: Annotated[list[Label], Field(min_length=2, max_length=10_000)] | None = Field(
        None, description="A classifier's labels in the order of its probability outputs"
    )
    target: ColumnName | None = Field(None, description="What it predicts; defaults to the model's target")
    metrics: Annotated[dict[str, float], Field(max_length=100)] | None = Field(
        None, description="Test figures measured where the model was trained"
    )


class SurrogateRequest(Strict):
    dataset_id: Annotated[int, Field(ge=1, le=MAX_ID)] = Field(
        description="A validated dataset holding the model's inputs: predicted, then fitted on"
    )
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, description="v3, 3 or an alias; defaults to the newest completed version"
    )


class SurrogateFitted(BaseModel):
    """What a surrogate job reports: where the surrogate is, its fidelity and what it was fitted on."""

    key: Annotated[str, StringConstraints(max_length=512)]
    meta: dict[str, Any]
    fidelity: float
    metric: Annotated[str, StringConstraints(max_length=16)]
    rows: int


class SurrogateResult(Strict):
    surrogate_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    result: SurrogateFitted | None = None
    error: Annotated[str, StringConstraints(max_length=4000)] | None = None


class SurrogatePublic(BaseModel):
    model_id: int
    version: str
    train_id: int
    status: str
    stage: str
    percent: int
    error: str | None
    ray_job_id: str | None
    dataset_id: int | None
    fidelity: float | None = Field(
        None, description="Agreement with the model on held-out rows (classifiers), or R² (regressors)"
    )
    metric: str | None
    rows: int | None
