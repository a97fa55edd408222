"""A worker's report on a version (the reference's training-complete / training-failure): the same
per-run secret and the same recording as ``train/result`` (``training/results.py``)."""

from __future__ import annotations

from sqlmodel import Session

from raylake.platform.config import Settings
from raylake.platform.errors import NotFound, Unauthorized
from raylake.platform.jobs import RayJobs
from raylake.platform.registry.service import get_model
from raylake.platform.registry.versions import resolve
from raylake.platform.tenancy import Principal
from raylake.platform.training import results
from raylake.platform.training.models import TrainingRun
from raylake.schemas.registry import TRAINING_KEY, VersionComplete, VersionFailure
from raylake.schemas.training import TrainResult, TrainResultBody

WORKER = Principal(user_id=0, username="worker", tenant_id="", is_superuser=True)


def _run(session: Session, model_id: int | str, version: str) -> TrainingRun:
    """The version's run; an unknown one is indistinguishable from a wrong token (401)."""
    try:
        # Any tenant's: the run's own secret (checked next) is what admits the worker.
        model = get_model(session=session, principal=WORKER, model_id=model_id)
        return resolve(session, model, version)
    except NotFound:
        raise Unauthorized("Invalid callback token") from None


def _result(body: VersionComplete | VersionFailure) -> TrainResultBody:
    """The report as ``train/result``'s body: a failure's reason, or a completion's model and metrics."""
    if isinstance(body, VersionFailure):
        return TrainResultBody(error=body.reason)
    result = TrainResultBody.model_validate(
        body.model_dump(exclude={"artifact_path", "performance_metrics", "training_metrics"})
    )
    result.path = result.path or body.artifact_path
    if body.training_metrics:
        result.metrics = {**(result.metrics or {}), TRAINING_KEY: body.training_metrics}
    return result


def report(
    *,
    session: Session,
    settings: Settings,
    jobs: RayJobs,
    token: str | None,
    model_id: int | str,
    version: str,
    body: VersionComplete | VersionFailure,
) -> None:
    """Record a worker's report that a version trained or failed on its run, once the run's token checks."""
    run = _run(session, model_id, version)
    assert run.id is not None
    results.record(
        session=session,
        settings=settings,
        jobs=jobs,
        token=token,
        body=TrainResult(train_id=run.id, result=_result(body)),
    )
