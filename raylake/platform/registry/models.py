"""The model registry's tables: predictors (the registered models users name and deploy) and the
dedicated deployments of their versions. A predictor's versions are its training runs
(``training/models.py``); registry views are queries over these rows, not a second store.
"""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from raylake.platform.clock import utcnow


class Predictor(SQLModel, table=True):
    __tablename__ = "predictors"
    __table_args__ = (
        UniqueConstraint("tenant_id", "predictor_name", name="uq_predictor_tenant_name"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    predictor_name: str = Field(max_length=128)
    domain: str = Field(max_length=128)
    problem_type: str = Field(max_length=32)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    modified_at: datetime = Field(default_factory=utcnow)


class ModelDeployment(SQLModel, table=True):
    """A model version served by a Serve application of its own (``inference/deploy``).

    Without one, a version is served by the shared, multiplexed model pool."""

    __tablename__ = "model_deployments"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    train_id: int = Field(foreign_key="training_runs.id", unique=True, ondelete="CASCADE")
    app_name: str = Field(max_length=128, unique=True)
    replicas: int = 1
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
