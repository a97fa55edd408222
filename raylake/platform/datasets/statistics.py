"""The statistics job's record: submitted through the jobs module, reconciled with Ray when read."""

from __future__ import annotations

from sqlmodel import Session, col, select

from raylake.platform.config import Settings
from raylake.platform.datasets import service as datasets
from raylake.platform.datasets.models import DatasetStatistics
from raylake.platform.errors import Conflict, NotFound
from raylake.platform.jobs import RayJobs, job_environment, reconcile
from raylake.platform.tenancy import Principal

ENTRYPOINT = "python -m raylake.train_jobs.statistics --statistics-id {id}"


def submit(
    *, session: Session, settings: Settings, jobs: RayJobs, principal: Principal, dataset_id: int
) -> DatasetStatistics:
    """Start a Ray job describing the dataset's validated rows, recorded as a statistics row."""
    dataset = datasets.get_dataset(session=session, principal=principal, dataset_id=dataset_id)
    if not dataset.is_valid or dataset.snapshot_id is None:
        raise Conflict("The dataset has no validated rows to describe")
    row = DatasetStatistics(
        dataset_id=dataset_id,
        tenant_id=dataset.tenant_id,
        snapshot_id=dataset.snapshot_id,
        created_by=principal.username,
    )
    session.add(row)
    session.flush()
    row.ray_job_id = jobs.submit(
        entrypoint=ENTRYPOINT.format(id=row.id),
        metadata={"raylake_kind": "statistics", "tenant_id": dataset.tenant_id, "statistics_id": str(row.id)},
        env_vars=job_environment(settings),
    )
    session.add(row)
    session.flush()
    return row


def latest(*, session: Session, jobs: RayJobs, principal: Principal, dataset_id: int) -> DatasetStatistics:
    """The dataset's newest statistics job, reconciled with Ray; NotFound when none was asked for."""
    datasets.get_dataset(session=session, principal=principal, dataset_id=dataset_id)
    row = session.exec(
        select(DatasetStatistics)
        .where(DatasetStatistics.dataset_id == dataset_id)
        .order_by(col(DatasetStatistics.id).desc())
    ).first()
    if row is None:
        raise NotFound("No statistics were generated for this dataset yet")
    return reconcile(session, jobs, row)
