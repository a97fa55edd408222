"""The prediction log (real-time calls, batch jobs, forecasts); dedicated deployments are in ``registry/``.

Every prediction row names the training run (model version) and dataset that produced it, so any
prediction traces back to its data and configuration. Rows outlive the run they used: deleting a run
sets ``train_id`` to null, while ``predictor_name`` keeps the record readable.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from raylake.core.vocabulary import JobStatus
from raylake.platform.clock import utcnow


class Prediction(SQLModel, table=True):
    """One batch job, one forecast, or the real-time calls of one model in one logging window.

    Real-time calls are logged in aggregate (``inference/log.py``): a row per model per flush window with
    the number of rows predicted and the first call's input, so logging never slows the hot path.
    Batch rows move submitted_to_ray -> running -> completed | failed | cancelled like training runs.
    """

    __tablename__ = "predictions"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    train_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("training_runs.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    dataset_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="SET NULL"), nullable=True),
    )
    snapshot_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    predictor_name: str = Field(max_length=128)
    problem_type: str = Field(max_length=32)
    domain_name: str = Field(max_length=128)
    prediction_type: str = Field(max_length=16, index=True)
    input_data: str = Field(default="", max_length=2000)
    status: str = Field(default=JobStatus.SUBMITTED_TO_RAY.value, max_length=32, index=True)
    stage: str = Field(default="queued", max_length=64)
    percent: int = 0
    error: str | None = Field(default=None, max_length=2000)
    no_of_records: int = 0
    accuracy: float | None = None
    metrics: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    ray_job_id: str | None = Field(default=None, max_length=128, index=True)
    callback_secret_hash: str = Field(default="", max_length=64)
    result_path: str | None = Field(default=None, max_length=512)
    file_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("dataset_files.id", ondelete="SET NULL"), nullable=True),
    )
    gold_table: str | None = Field(default=None, max_length=160)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
