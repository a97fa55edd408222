"""What a training job reports through ``train/result``: accepted only with that run's token.

The job sends metrics and the keys of the artifacts it wrote; the keys must lie under the run's own
model folder, so a report cannot point a model at another run's (or tenant's) files.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from raylake.core.layout import model_prefix
from raylake.core.vocabulary import FINAL, JobStatus
from raylake.platform import callbacks
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.errors import Conflict, Invalid, RaylakeError, Unauthorized
from raylake.platform.jobs import RayJobs
from raylake.platform.registry import lifecycle
from raylake.platform.training import importance
from raylake.platform.training.models import PreprocessState, TrainingRun
from raylake.schemas.training import TrainResult

log = logging.getLogger(__name__)
KIND = "train"


def record(
    *, session: Session, settings: Settings, jobs: RayJobs, token: str | None, body: TrainResult
) -> None:
    """Record a training job's final report on its run (failure or outcome) once its token checks."""
    run = session.get(TrainingRun, body.train_id)
    if run is None:  # indistinguishable from a wrong token: callers learn nothing about other runs
        raise Unauthorized("Invalid callback token")
    callbacks.verify(
        settings, kind=KIND, row_id=body.train_id, stored_hash=run.callback_secret_hash, presented=token
    )
    if run.status in FINAL:
        raise Conflict(f"training run {run.id} already ended ({run.status}); the result is not recorded")
    result = body.result
    now = utcnow()
    run.finished_at = run.modified_at = now
    if result.error:
        run.status, run.stage, run.error = JobStatus.FAILED, "failed", result.error[:2000]
        session.add(run)
        session.flush()
        lifecycle.run_ended(session, run)
        return
    prefix = model_prefix(run) + "/"
    preprocess = result.preprocess or {}
    storage_key = str(preprocess.get("storage_key", ""))
    if not result.metrics or not result.path or not storage_key:
        raise Invalid("a successful result needs metrics, path and preprocess.storage_key")
    if (
        not (result.path + "/").startswith(prefix)
        or not storage_key.startswith(prefix)
        or ".." in storage_key
    ):
        raise Invalid(f"artifacts must be under {prefix}")
    state = PreprocessState(
        tenant_id=run.tenant_id,
        source_run_id=run.id,
        storage_key=storage_key,
        encoding=str(preprocess.get("encoding", "")),
        feature_names=[str(n) for n in preprocess.get("feature_names", [])],
    )
    session.add(state)
    session.flush()
    run.preprocess_id = state.id
    run.model_algorithm = result.algorithm or run.algorithm
    run.model_params = result.params or {}
    run.metrics = result.metrics
    run.trials = result.trials or []
    run.rows = result.rows
    run.input_schema = result.input_schema
    run.artifact_key = result.path
    run.status, run.stage, run.percent, run.error = JobStatus.COMPLETED, "done", 100, None
    session.add(run)
    session.flush()
    lifecycle.run_ended(session, run)
    if run.shap_enabled:
        try:
            importance.submit(
                session=session, settings=settings, jobs=jobs, run=run, created_by=run.created_by
            )
        except RaylakeError as exc:  # the model is good; explaining it can be asked for again
            log.warning("could not start SHAP for run %s: %s", run.id, exc.detail)
