"""The domain's words as ``StrEnum``s, with what each word implies beside it.

The values are the wire and stored spellings (the reference's); a member equals its plain string, so
rows read back from the database and JSON bodies compare equal to the members without conversion.
"""

from __future__ import annotations

from enum import StrEnum

# The largest row id: a signed 32-bit integer, the database's INTEGER primary key.
MAX_ID = 2**31 - 1


class ProblemType(StrEnum):
    CLASSIFICATION = "Classification"
    REGRESSION = "Regression"
    FORECASTING = "Forecasting"

    @property
    def is_tabular(self) -> bool:
        """Whether one row is one example (a tabular model), not a time series (a forecast)."""
        return self in TABULAR_PROBLEMS


# The problems a tabular model (``ml/``'s preprocessing and algorithms) learns; a forecast is its own path.
TABULAR_PROBLEMS = (ProblemType.CLASSIFICATION, ProblemType.REGRESSION)


class ColumnAttribute(StrEnum):
    """A column's role in a training run."""

    ID = "Id"
    TARGET = "Target"
    FEATURE = "Feature"
    TIME = "Time"
    IGNORE = "Ignore"

    @property
    def is_model_input(self) -> bool:
        """Whether the model learns from the column."""
        return self in MODEL_INPUTS

    @property
    def is_request_input(self) -> bool:
        """Whether a prediction request supplies the column (its inputs, and the Id that names a row)."""
        return self in REQUEST_INPUTS


# The columns a model learns from, and those a prediction request supplies (in this order).
MODEL_INPUTS = (ColumnAttribute.FEATURE, ColumnAttribute.TIME)
REQUEST_INPUTS = (ColumnAttribute.ID, ColumnAttribute.FEATURE, ColumnAttribute.TIME)


class JobStatus(StrEnum):
    """A job row's status. Rows of different tables start and succeed with different words (kept as the
    reference stores them): training, importance and prediction rows start ``submitted_to_ray`` and end
    ``completed``; statistics rows start ``submitted`` and end ``succeeded``."""

    SUBMITTED = "submitted"
    SUBMITTED_TO_RAY = "submitted_to_ray"
    RUNNING = "running"
    COMPLETED = "completed"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """Whether a row with this status never changes again."""
        return self in FINAL

    @property
    def is_unstarted(self) -> bool:
        """Whether the row's job has not yet claimed it (a job sets ``running`` when it does)."""
        return self in UNSTARTED


FINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
UNSTARTED = frozenset({JobStatus.SUBMITTED, JobStatus.SUBMITTED_TO_RAY})


class ModelStatus(StrEnum):
    """A registered model's place in its lifecycle (``allowed_next`` says where it may go)."""

    DRAFT = "draft"
    TRAINING = "training"
    TRAINED = "trained"
    FAILED = "failed"
    DEGRADED = "degraded"
    DEPRECATED = "deprecated"
    ARCHIVED = "archived"

    @property
    def allowed_next(self) -> tuple[ModelStatus, ...]:
        """The statuses this one may change to."""
        return MODEL_TRANSITIONS[self]

    @property
    def is_usable(self) -> bool:
        """Whether the model may be trained, deployed or used for predictions (archived ones may not)."""
        return self is not ModelStatus.ARCHIVED


MODEL_TRANSITIONS: dict[ModelStatus, tuple[ModelStatus, ...]] = {
    ModelStatus.DRAFT: (ModelStatus.TRAINING,),
    # A model retrained while trained keeps serving its versions: training again is allowed from here too.
    ModelStatus.TRAINED: (ModelStatus.TRAINING, ModelStatus.DEGRADED, ModelStatus.DEPRECATED),
    ModelStatus.TRAINING: (ModelStatus.TRAINED, ModelStatus.FAILED),
    ModelStatus.FAILED: (ModelStatus.TRAINING,),
    ModelStatus.DEGRADED: (ModelStatus.TRAINING, ModelStatus.DEPRECATED),
    ModelStatus.DEPRECATED: (ModelStatus.ARCHIVED,),
    ModelStatus.ARCHIVED: (),
}


class Task(StrEnum):
    """What a registered model predicts; finer than ``ProblemType`` (classification splits by classes)."""

    BINARY_CLASSIFICATION = "binary_classification"
    MULTICLASS_CLASSIFICATION = "multiclass_classification"
    REGRESSION = "regression"
    FORECASTING = "forecasting"

    @property
    def problem_type(self) -> ProblemType:
        """The training problem this task is."""
        if self is Task.REGRESSION:
            return ProblemType.REGRESSION
        if self is Task.FORECASTING:
            return ProblemType.FORECASTING
        return ProblemType.CLASSIFICATION


class ModelType(StrEnum):
    """A registered model's algorithm family (``ml/algorithms/registry.py`` maps each to an algorithm)."""

    AUTO = "auto"
    LIGHTGBM = "lightgbm"
    RANDOM_FOREST = "random_forest"
    EXTRA_TREES = "extra_trees"
    DECISION_TREE = "decision_tree"
    GRADIENT_BOOSTING = "gradient_boosting"
    REGRESSION = "regression"
    NEURAL_NETWORK = "neural_network"
    FORECASTER = "forecaster"


class EventType(StrEnum):
    """What the events feed (WebSocket and webhooks) reports."""

    MODEL_STATUS_CHANGED = "model.status_changed"
    RUN_PROGRESS = "run.progress"
    RUN_COMPLETED = "run.completed"
    RUN_FAILED = "run.failed"
    BATCH_COMPLETED = "batch.completed"
    SHAP_COMPLETED = "shap.completed"
    DRIFT_DETECTED = "drift.detected"
    ACCURACY_DROPPED = "accuracy.dropped"


class LiveMetric(StrEnum):
    """What live accuracy (feedback on captured predictions) measures and watches."""

    ACCURACY = "accuracy"
    F1_SCORE = "f1_score"
    R2 = "r2"
    RMSE = "rmse"
    MAE = "mae"

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger figure is a better model (errors are smaller when better)."""
        return self not in (LiveMetric.RMSE, LiveMetric.MAE)

    @property
    def for_regression(self) -> bool:
        """Whether the figure measures a regression (else a classification)."""
        return self in (LiveMetric.R2, LiveMetric.RMSE, LiveMetric.MAE)


class DeliveryStatus(StrEnum):
    """Where a webhook delivery stands: waiting for its next attempt, delivered (a 2xx), or given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class ArtifactKind(StrEnum):
    """What a file uploaded to a model is (``POST /models/{id}/artifacts``'s ``file_kind``)."""

    MODEL = "model"
    DATA = "data"
    CODE = "code"
    ENV = "env"
    OTHER = "other"


class ModelFormat(StrEnum):
    """A model file's format, told from its bytes (never from its name)."""

    ONNX = "onnx"
    LIGHTGBM = "lightgbm"
    SKOPS = "skops"
    PICKLE = "pickle"
    UNKNOWN = "unknown"

    @property
    def is_loadable(self) -> bool:
        """Whether raylake loads and serves the format: never a pickle (loading one runs its code)."""
        return self in LOADABLE_FORMATS


LOADABLE_FORMATS = (ModelFormat.ONNX, ModelFormat.LIGHTGBM, ModelFormat.SKOPS)


class ExplainMethod(StrEnum):
    """How a prediction's explanation was computed (named in every explained answer)."""

    TREE_SHAP = "tree_shap"
    SURROGATE_TREE_SHAP = "surrogate_tree_shap"
    PERMUTATION_SHAP = "permutation_shap"
    KERNEL_SHAP = "kernel_shap"


class DeploymentStatus(StrEnum):
    """Where a dedicated deployment stands, read from Serve (``pending``: no node can hold it yet)."""

    DEPLOYING = "deploying"
    RUNNING = "running"
    UNHEALTHY = "unhealthy"
    PENDING = "pending"
    FAILED = "failed"


class DriftMethod(StrEnum):
    """How a drift check compares a sample with a version's baseline (``ml/drift.py``)."""

    PSI = "psi"
    KS = "ks"
    JS = "js"
    CHI2 = "chi2"


class DriftStatus(StrEnum):
    """A drift check's verdict: no column past its threshold, some past it, or too few rows to tell."""

    OK = "ok"
    DRIFT = "drift"
    INSUFFICIENT_DATA = "insufficient_data"
