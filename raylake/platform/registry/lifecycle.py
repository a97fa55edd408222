"""A model's lifecycle: the status transitions users make, and the ones its runs make for it.

Every change of status is checked against ``ModelStatus.allowed_next`` and reported as a
``model.status_changed`` event in the same transaction; a run's end is reported as ``run.completed`` or
``run.failed`` beside the status it gives its model.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from raylake.core.vocabulary import FINAL, EventType, JobStatus, ModelStatus
from raylake.platform.clock import utcnow
from raylake.platform.errors import Conflict
from raylake.platform.events.outbox import emit
from raylake.platform.registry.models import Predictor
from raylake.platform.training.models import TrainingRun


def version_name(run: TrainingRun) -> str:
    """A run's version as users write it (``v3``)."""
    return f"v{run.version}"


def change_status(session: Session, model: Predictor, status: ModelStatus, by: str) -> None:
    """Move a model to ``status`` (409 naming the allowed ones when the move is not), with its event."""
    current = ModelStatus(model.status)
    if status == current:
        return
    if status not in current.allowed_next:
        allowed = ", ".join(current.allowed_next) or "none: it is final"
        raise Conflict(f"model {model.id} is {current}; it cannot become {status} (allowed: {allowed})")
    _set(session, model, status, by)


def _set(session: Session, model: Predictor, status: ModelStatus, by: str) -> None:
    before = model.status
    model.status, model.updated_by, model.modified_at = status.value, by, utcnow()
    session.add(model)
    emit(
        session,
        tenant_id=model.tenant_id,
        type=EventType.MODEL_STATUS_CHANGED,
        payload={"model_id": model.id, "model_uid": model.uid, "from": before, "to": status.value},
    )


def check_usable(model: Predictor, doing: str) -> None:
    """Refuse (409) to train, deploy or predict with an archived model."""
    if not ModelStatus(model.status).is_usable:
        raise Conflict(f"model {model.id} is archived: it cannot be {doing}")


def start_training(session: Session, model: Predictor, by: str) -> None:
    """A new version is being trained: the model is ``training`` (409 for a deprecated or archived one)."""
    check_usable(model, "trained")
    change_status(session, model, ModelStatus.TRAINING, by)


def run_ended(session: Session, run: TrainingRun) -> None:
    """Report a run that has just ended and give its model the status its versions now imply: ``trained``
    when one is completed, ``failed`` when none is; a model still training another version waits."""
    model = session.get(Predictor, run.predictor_id)
    if model is None:
        return
    completed = run.status == JobStatus.COMPLETED
    data: dict[str, Any] = {
        "model_id": model.id,
        "model_uid": model.uid,
        "train_id": run.id,
        "version": version_name(run),
        "status": run.status,
    }
    if completed:
        data["metrics"] = _headline(run.metrics)
    else:
        data["error"] = run.error
    emit(
        session,
        tenant_id=run.tenant_id,
        type=EventType.RUN_COMPLETED if completed else EventType.RUN_FAILED,
        payload=data,
    )
    if model.status != ModelStatus.TRAINING:
        return
    others = session.exec(
        select(TrainingRun.status).where(TrainingRun.predictor_id == model.id, TrainingRun.id != run.id)
    ).all()
    if any(status not in FINAL for status in others):
        return
    good = completed or JobStatus.COMPLETED in others
    _set(session, model, ModelStatus.TRAINED if good else ModelStatus.FAILED, run.created_by)


def versions_gone(session: Session, model: Predictor, by: str) -> None:
    """A model whose last version was deleted is a draft again (it keeps its name and configuration)."""
    left = session.exec(select(TrainingRun.id).where(col(TrainingRun.predictor_id) == model.id)).first()
    if left is None and model.status != ModelStatus.DRAFT:
        _set(session, model, ModelStatus.DRAFT, by)


def _headline(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """The test figures of a run's metrics (scalars only), for events."""
    test = (metrics or {}).get("test", metrics or {})
    return {k: v for k, v in test.items() if isinstance(v, int | float) and not isinstance(v, bool)}
