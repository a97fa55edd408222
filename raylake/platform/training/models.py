"""Training runs (the versions of a predictor, ``registry/models.py``), preprocessing states and SHAP jobs.

A predictor is the name users deploy and ask for; each training run is one immutable version of it,
pointing at the dataset snapshot it read, its parent (incremental training) and the preprocessing
state it uses. Registry views are queries over these rows, not a second store.
"""

from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from raylake.core.vocabulary import JobStatus
from raylake.platform.clock import utcnow


class TrainingRun(SQLModel, table=True):
    """One training of a predictor: its request, where it is, and what it produced.

    ``status`` moves submitted_to_ray -> running -> completed | failed | cancelled and never back;
    ``stage``/``percent`` say where a running job is. ``callback_secret_hash`` is the SHA-256 of the
    secret the job was given for ``train/result``; the secret itself is never stored.
    """

    __tablename__ = "training_runs"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    predictor_id: int = Field(foreign_key="predictors.id", index=True, ondelete="CASCADE")
    version: int = 1
    parent_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("training_runs.id", ondelete="SET NULL"), nullable=True),
    )
    dataset_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    dataset_name: str = Field(max_length=128)
    data_source: str = Field(default="csv", max_length=16)
    snapshot_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # Incremental runs train on the rows added since this (the parent's) snapshot.
    base_snapshot_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    problem_type: str = Field(max_length=32)
    domain: str = Field(max_length=128)
    columns: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    algorithm: str = Field(max_length=32)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    time_budget_s: int = 60
    seed: int = 0
    is_incremental: bool = False
    shap_enabled: bool = False

    status: str = Field(default=JobStatus.SUBMITTED_TO_RAY.value, max_length=32, index=True)
    stage: str = Field(default="queued", max_length=64)
    percent: int = 0
    error: str | None = Field(default=None, max_length=2000)
    ray_job_id: str | None = Field(default=None, max_length=128, index=True)
    callback_secret_hash: str = Field(default="", max_length=64)

    preprocess_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("preprocess_states.id", ondelete="SET NULL"), nullable=True),
    )
    model_algorithm: str | None = Field(default=None, max_length=32)
    model_params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    metrics: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    trials: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    rows: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    input_schema: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    artifact_key: str | None = Field(default=None, max_length=512)
    # An external version's model file, as uploaded (``registry/external.py``); None for a trained one.
    source_artifact_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("model_artifacts.id", ondelete="SET NULL"), nullable=True),
    )
    # The version's LightGBM surrogate: where it is, its fidelity and what it was fitted on.
    surrogate: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Names this run's model in every cache (model and API replicas): unlike an id, never seen twice.
    uid: str = Field(default_factory=lambda: uuid4().hex, max_length=32)

    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    modified_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class PreprocessState(SQLModel, table=True):
    """A fitted preprocessing state (JSON in the file store), reusable by compatible runs (`train/update`)."""

    __tablename__ = "preprocess_states"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    # The run that fitted it; kept when that run is deleted while another run still uses the state.
    source_run_id: int | None = Field(default=None, index=True)
    storage_key: str = Field(max_length=512)
    encoding: str = Field(max_length=16)
    feature_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class FeatureImportanceJob(SQLModel, table=True):
    """A SHAP job for one training run and its result: mean |SHAP| per original column."""

    __tablename__ = "feature_importance"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    training_run_id: int = Field(foreign_key="training_runs.id", index=True, ondelete="CASCADE")
    status: str = Field(default=JobStatus.SUBMITTED_TO_RAY.value, max_length=32)
    stage: str = Field(default="queued", max_length=64)
    percent: int = 0
    error: str | None = Field(default=None, max_length=2000)
    ray_job_id: str | None = Field(default=None, max_length=128, index=True)
    callback_secret_hash: str = Field(default="", max_length=64)
    result: dict[str, float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
