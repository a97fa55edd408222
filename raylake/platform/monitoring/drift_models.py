"""Drift reports: every check of a model version's drift, kept with its scores (``drift_reports``).

A check over a large window runs as a Ray job, so a report is also that job's row: ``status`` is the
job's (``completed`` at once for a check run in the request), ``drift_status`` the verdict.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from raylake.core.vocabulary import JobStatus
from raylake.platform.clock import utcnow

PREDICTIONS = "predictions"  # a report's source: the captured predictions of a window
DATASET = "dataset"  # or a dataset's validated rows


class DriftReport(SQLModel, table=True):
    """One drift check of a version: what was compared (a window of captured predictions or a dataset),
    how, and the per-column scores and verdict; ``scheduled`` checks act on the model when it drifts."""

    __tablename__ = "drift_reports"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    model_id: int = Field(foreign_key="predictors.id", index=True, ondelete="CASCADE")
    train_id: int = Field(foreign_key="training_runs.id", index=True, ondelete="CASCADE")
    source: str = Field(default=PREDICTIONS, max_length=16)
    dataset_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="SET NULL"), nullable=True),
    )
    method: str = Field(max_length=8)
    threshold: float | None = None
    min_rows: int = 0
    window_start: datetime | None = None
    window_end: datetime | None = None
    scheduled: bool = False
    rows: int | None = None
    drift_status: str | None = Field(default=None, max_length=32)
    scores: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))

    status: str = Field(default=JobStatus.COMPLETED.value, max_length=32)
    stage: str = Field(default="done", max_length=64)
    percent: int = 100
    error: str | None = Field(default=None, max_length=2000)
    ray_job_id: str | None = Field(default=None, max_length=128, index=True)
    callback_secret_hash: str = Field(default="", max_length=64)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
