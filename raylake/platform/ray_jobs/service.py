"""Terminating a tenant's Ray job by its id: found through the row that owns it, so tenants stay walls.

A Ray job id alone proves nothing: the job must belong to a row of the caller's tenant of the named
usage (another tenant's job is a 404, like one that does not exist). The row ends ``cancelled`` at
once; a result the job might still post is then refused.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from raylake.core.vocabulary import FINAL, JobStatus
from raylake.platform.clock import utcnow
from raylake.platform.datasets.models import DatasetStatistics
from raylake.platform.errors import Conflict, Invalid, NotFound
from raylake.platform.inference.models import Prediction
from raylake.platform.jobs import RayJobs
from raylake.platform.monitoring.drift_models import DriftReport
from raylake.platform.registry.models import SurrogateJob
from raylake.platform.tenancy import Principal, scoped
from raylake.platform.training.models import FeatureImportanceJob, TrainingRun

USAGES: dict[str, type[Any]] = {
    "training": TrainingRun,
    "statistics": DatasetStatistics,
    "shap": FeatureImportanceJob,
    "batch": Prediction,
    "surrogate": SurrogateJob,
    "drift": DriftReport,
}
ALIASES = {
    "train": "training",
    "feature_importance": "shap",
    "stats": "statistics",
    "prediction": "batch",
    "batch_prediction": "batch",
    "inference": "batch",
}


def terminate(*, session: Session, jobs: RayJobs, principal: Principal, ray_job_id: str, usage: str) -> Any:
    """Stop a caller's unfinished job of the given usage on Ray and mark its row cancelled."""
    kind = ALIASES.get(usage.strip().lower(), usage.strip().lower())
    model = USAGES.get(kind)
    if model is None:
        raise Invalid(f"usage must be one of {', '.join(USAGES)}")
    row = session.exec(scoped(select(model), model, principal).where(model.ray_job_id == ray_job_id)).first()
    if row is None:
        raise NotFound(f"No {kind} job {ray_job_id!r} found")
    if row.status in FINAL:
        raise Conflict(f"{kind} job {ray_job_id!r} already ended ({row.status})")
    jobs.stop(ray_job_id)
    row.status, row.stage, row.error = JobStatus.CANCELLED, "cancelled", f"Terminated by {principal.username}"
    for stamp in ("updated_at", "modified_at", "finished_at"):
        if hasattr(row, stamp):
            setattr(row, stamp, utcnow())
    session.add(row)
    session.flush()
    return row
