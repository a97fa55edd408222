"""The prediction log as a tenant reads it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from raylake.platform.db import paged
from raylake.platform.inference.models import Prediction
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.platform.training.models import TrainingRun


def list_predictions(
    *, session: Session, principal: Principal, train_id: int | None, skip: int, limit: int
) -> tuple[list[Prediction], int]:
    """A page of the prediction log (one model's, or the tenant's), newest first; and its length."""
    stmt = scoped(select(Prediction), Prediction, principal)
    if train_id is not None:
        get_scoped(session, TrainingRun, train_id, principal, "Model")
        stmt = stmt.where(Prediction.train_id == train_id)
    return paged(session, stmt.order_by(col(Prediction.id).desc()), skip=skip, limit=limit)
