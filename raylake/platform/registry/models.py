"""The model registry's tables: projects, models (``predictors``: the registered models users name,
train and deploy), their tags and aliases, and the dedicated deployments of their versions.

A model's versions are its training runs (``training/models.py``); registry views are queries over
these rows, not a second store.
"""

from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Integer, UniqueConstraint, true
from sqlmodel import Field, SQLModel

from raylake.core.vocabulary import DeploymentStatus, ModelStatus, ModelType
from raylake.platform.clock import utcnow

DEFAULT_PROJECT = "default"


def new_uid() -> str:
    """A fresh UUID (text) that names a row to clients for good."""
    return str(uuid4())


class Project(SQLModel, table=True):
    """A tenant's group of models; every tenant has one named ``default``."""

    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_project_tenant_name"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=36, unique=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    name: str = Field(max_length=128)
    description: str | None = Field(default=None, max_length=2000)
    created_by: str = Field(max_length=64)
    updated_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Predictor(SQLModel, table=True):
    """A registered model: what it predicts, from which data contract, and where it is in its lifecycle.

    ``predictor_name`` is the model's name (the reference's word for it on ``/train/``)."""

    __tablename__ = "predictors"
    __table_args__ = (
        UniqueConstraint("project_id", "predictor_name", name="uq_predictor_project_name"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=36, unique=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    project_id: int = Field(foreign_key="projects.id", index=True)
    predictor_name: str = Field(max_length=128)
    description: str | None = Field(default=None, max_length=2000)
    domain: str = Field(max_length=128)
    problem_type: str = Field(max_length=32)
    task: str = Field(max_length=32)
    model_type: str = Field(default=ModelType.AUTO.value, max_length=32)
    template_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("templates.id", ondelete="SET NULL"), nullable=True),
    )
    dataset_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="SET NULL"), nullable=True),
    )
    target: str | None = Field(default=None, max_length=128)
    training_config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # "metadata" is SQLAlchemy's own attribute on every model: the column keeps the name, not the attribute.
    model_metadata: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )
    metrics: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The model's data contract as the model factory reads it: per column its type, range, categories,
    # quantile bins and null spellings (``GET /models/{id}/columns``), and the roles of its columns.
    columns_schema: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    spec: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Every prediction goes to the lake's gold.prediction_log_<id> unless turned off (migration 0014).
    capture_predictions: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    # Drift checks (``monitoring/drift.py``): the settings PATCH /models sets, and when the next scheduled
    # check is due (None: not scheduled); replicas claim a due check by moving it on (migration 0015).
    drift_settings: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    drift_next_at: datetime | None = Field(default=None, index=True)
    # Live accuracy from feedback (``monitoring/feedback.py``): null, the defaults.
    feedback_settings: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    owner: str = Field(max_length=64)
    status: str = Field(default=ModelStatus.DRAFT.value, max_length=16, index=True)
    created_by: str = Field(max_length=64)
    updated_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    modified_at: datetime = Field(default_factory=utcnow)


class ModelTag(SQLModel, table=True):
    """One tag of a model (a row each, so "every one of these tags" is an indexed query)."""

    __tablename__ = "model_tags"
    __table_args__ = (
        UniqueConstraint("model_id", "tag", name="uq_model_tag"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=36)
    model_id: int = Field(foreign_key="predictors.id", index=True, ondelete="CASCADE")
    tag: str = Field(max_length=64, index=True)


class ModelAlias(SQLModel, table=True):
    """A name (``production``, ``staging``) for one version of a model."""

    __tablename__ = "model_aliases"
    __table_args__ = (
        UniqueConstraint("model_id", "alias", name="uq_model_alias"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=36)
    model_id: int = Field(foreign_key="predictors.id", index=True, ondelete="CASCADE")
    alias: str = Field(max_length=64)
    train_id: int = Field(foreign_key="training_runs.id", index=True, ondelete="CASCADE")
    created_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class ModelDeployment(SQLModel, table=True):
    """A model version served by a Serve application of its own (``/deployments``, ``inference/deploy``),
    with its replicas, optional autoscaling bounds and placement (Ray custom resources, node labels).

    Without one, a version is served by the shared, multiplexed model pool."""

    __tablename__ = "model_deployments"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=36, unique=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    model_id: int = Field(foreign_key="predictors.id", index=True, ondelete="CASCADE")
    train_id: int = Field(foreign_key="training_runs.id", unique=True, ondelete="CASCADE")
    # What the caller asked for (``v3``, ``3`` or an alias); train_id is the version it named then.
    version: str = Field(max_length=64)
    app_name: str = Field(max_length=128, unique=True)
    replicas: int = 1
    min_replicas: int | None = None
    max_replicas: int | None = None
    placement: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DeploymentStatus.DEPLOYING.value, max_length=16)
    reason: str | None = Field(default=None, max_length=2000)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DeploymentOperation(SQLModel, table=True):
    """One call of a deployment's ``predict``: who, when, how it ended, how long, how many rows."""

    __tablename__ = "deployment_operations"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    deployment_id: int = Field(foreign_key="model_deployments.id", index=True, ondelete="CASCADE")
    caller: str = Field(max_length=64, index=True)
    status_code: int
    latency_ms: float
    rows: int
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class ModelArtifact(SQLModel, table=True):
    """A file uploaded to a model (its model file, data, code, environment): stored as uploaded, with its
    size, SHA-256 and, for model files, the format told from its bytes. Never executed or unpickled."""

    __tablename__ = "model_artifacts"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=36, unique=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    model_id: int = Field(foreign_key="predictors.id", index=True, ondelete="CASCADE")
    file_kind: str = Field(max_length=16)
    filename: str = Field(max_length=255)
    format: str | None = Field(default=None, max_length=16)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=512)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class SurrogateJob(SQLModel, table=True):
    """A Ray job fitting a LightGBM surrogate of one version on a dataset's predictions; on success the
    version's ``surrogate`` names it, with its fidelity on held-out rows."""

    __tablename__ = "surrogate_jobs"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    training_run_id: int = Field(foreign_key="training_runs.id", index=True, ondelete="CASCADE")
    dataset_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="SET NULL"), nullable=True),
    )
    status: str = Field(default="submitted_to_ray", max_length=32)
    stage: str = Field(default="queued", max_length=64)
    percent: int = 0
    error: str | None = Field(default=None, max_length=2000)
    ray_job_id: str | None = Field(default=None, max_length=128, index=True)
    callback_secret_hash: str = Field(default="", max_length=64)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
