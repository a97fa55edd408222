"""A model's captured predictions (every prediction it made, read from its lake table) and the feedback
that labels them (its live accuracy)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from raylake.core.vocabulary import MAX_ID
from raylake.platform.deps import MAX_PAGE, EngineDep, InferenceRead, InferenceRun, LakeDep, SessionDep
from raylake.platform.monitoring import feedback, predictions
from raylake.platform.monitoring.buffer import CaptureBuffer
from raylake.platform.registry.paths import ModelRef
from raylake.schemas.capture import CapturedPredictions
from raylake.schemas.feedback import FeedbackIn, FeedbackReport

router = APIRouter(tags=["monitoring"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
Moment = Annotated[datetime | None, Query(description="ISO 8601; without a zone: UTC")]


@router.get("/models/{model_id}/predictions", response_model=CapturedPredictions)
def captured_predictions(
    request: Request,
    session: SessionDep,
    ctx: LakeDep,
    principal: InferenceRead,
    model_id: ModelRef,
    since: Moment = None,
    until: Moment = None,
    version: Annotated[str | None, Query(min_length=1, max_length=64, description="Number or alias")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CapturedPredictions:
    """The model's predictions captured in ``[since, until)``, of one version if asked, newest first;
    this replica's buffered ones first written (other replicas' within ``RAYLAKE_CAPTURE_FLUSH_S``)."""
    buffer: CaptureBuffer = request.app.state.capture
    buffer.flush()
    return predictions.list_captured(
        session=session,
        ctx=ctx,
        principal=principal,
        model_id=model_id,
        since=since,
        until=until,
        version=version,
        limit=limit,
        offset=offset,
    )


@router.post("/models/{model_id}/feedback", response_model=FeedbackReport)
def send_feedback(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    ctx: LakeDep,
    principal: InferenceRun,
    model_id: ModelRef,
    body: FeedbackIn,
) -> FeedbackReport:
    """True labels for captured predictions (by ``capture_id``, or a dataset with the model's Id columns
    and target): kept, then the live accuracy per version and day against the test figures; a drop past
    the model's ``feedback.max_drop`` marks it ``degraded`` with ``accuracy.dropped``."""
    buffer: CaptureBuffer = request.app.state.capture
    buffer.flush()  # a label may name a prediction this replica made a moment ago
    return feedback.record(
        session=session, engine=engine, ctx=ctx, principal=principal, model_id=model_id, body=body
    )


@router.get("/models/{model_id}/feedback", response_model=FeedbackReport)
def live_accuracy(
    session: SessionDep,
    ctx: LakeDep,
    principal: InferenceRead,
    model_id: ModelRef,
    since: Moment = None,
    until: Moment = None,
) -> FeedbackReport:
    """The live accuracy of the labelled predictions made in ``[since, until)``, per version and day."""
    return feedback.report(
        session=session, ctx=ctx, principal=principal, model_id=model_id, since=since, until=until
    )
