"""API contracts of the model-type recommendation (``POST /api/v1/models/recommend``)."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from raylake.core.types import DataType
from raylake.core.vocabulary import MAX_ID, ModelType, Task
from raylake.schemas.common import Strict

DEFAULT_BUDGET_S = 20
MAX_BUDGET_S = 30


class RecommendRequest(Strict):
    dataset_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    # The reference's request names a project and its ontology (raylake's template): accepted and checked
    # (the project is the caller's; the dataset was validated against that template); the fits need rows.
    project_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    ontology_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    target: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    # Inferred from the target when absent (two values: binary, a few labels: multiclass, else regression).
    task: Task | None = None
    # The quick fits' wall-clock budget; a family that does not finish in it is reported without a score.
    time_budget_s: Annotated[float, Field(ge=2, le=MAX_BUDGET_S)] = DEFAULT_BUDGET_S
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class FamilyScore(BaseModel):
    model_type: ModelType
    algorithm: str | None
    # Mean cross-validated score (higher is better: ROC AUC, negative log loss or R², see ``metric``).
    score: float | None
    std: float | None
    fold_scores: list[float]
    seconds: float | None
    status: Literal["ok", "partial", "timed_out", "failed", "not_applicable"]
    reason: str | None = None


class ColumnAnalysis(BaseModel):
    name: str
    data_type: DataType
    role: Literal["target", "feature"]
    cardinality: int
    missing_rate: float


class SchemaAnalysis(BaseModel):
    task: Task
    target: str
    columns: list[ColumnAnalysis]
    # Classification: each class's share of the labelled rows, largest first, and the smallest share.
    class_balance: dict[str, float] | None = None
    minority_share: float | None = None
    # Regression: the target's mean, std, min and max.
    target_summary: dict[str, float | None] | None = None


class LeakageSuspect(BaseModel):
    column: str
    reason: str


class DataAnalysis(BaseModel):
    rows: int
    usable_rows: int
    leakage_suspects: list[LeakageSuspect]
    # The sample the families were cross-validated on, in how many folds.
    sample_rows: int
    folds: int


class Recommendation(BaseModel):
    dataset_id: int
    target: str
    task: Task
    recommended_model_type: ModelType
    confidence: Annotated[int, Field(ge=0, le=100)]
    explanation: str
    metric: str
    scores: list[FamilyScore]
    schema_analysis: SchemaAnalysis
    data_analysis: DataAnalysis
    # The reference's names: the dataset's template (its data contract) and schema_analysis again.
    ontology_id: int | None = None
    ontology_analysis: SchemaAnalysis | None = None
    # Where the fits ran: "ray" (one task per family on the cluster) or "in_process" (no Ray connected).
    runner: Literal["ray", "in_process"]
    seconds: float
