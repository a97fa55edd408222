"""API contracts of feedback: true labels for captured predictions, and the live accuracy they give."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from raylake.core.vocabulary import MAX_ID, LiveMetric
from raylake.schemas.common import Strict

MAX_LABELS = 10_000
CaptureId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=80)]
Label = str | int | float | bool


class FeedbackSettings(Strict):
    """A model's live-accuracy watch (``PATCH /models/{id}`` with ``feedback``); sent whole, it replaces
    the stored settings. The model is ``degraded`` when a version's live ``metric`` (its task's default
    when null: accuracy, r2) is worse than its test figure by more than ``max_drop`` over at least
    ``min_rows`` labelled predictions."""

    enabled: bool = True
    metric: LiveMetric | None = None
    max_drop: Annotated[float, Field(gt=0, le=1e12)] = 0.05
    min_rows: Annotated[int, Field(ge=1, le=1_000_000_000)] = 50


class LabelIn(Strict):
    capture_id: CaptureId = Field(description="What the prediction's answer carried as ``capture_id``")
    label: Label = Field(description="The true value of the model's target for that prediction")


class FeedbackIn(Strict):
    """``POST /models/{id}/feedback``: true labels by capture id, or a dataset holding the model's Id
    column(s) and target (each of its rows labels every captured prediction with that Id)."""

    labels: Annotated[list[LabelIn], Field(min_length=1, max_length=MAX_LABELS)] | None = None
    dataset_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FeedbackIn:
        if (self.labels is None) == (self.dataset_id is None):
            raise ValueError("give labels or dataset_id, one of the two")
        return self


class DayAccuracy(BaseModel):
    day: date
    rows: int
    metrics: dict[str, float | None]


class VersionAccuracy(BaseModel):
    """One version's labelled predictions: its live figures overall and per day (of the prediction),
    its test figures, and how much worse live is (positive: worse)."""

    version: int
    train_id: int
    rows: int
    metrics: dict[str, float | None]
    test_metrics: dict[str, float | None]
    drop: dict[str, float | None]
    degraded: bool
    days: list[DayAccuracy]


class FeedbackReport(BaseModel):
    """What a feedback call recorded (``received``, ``matched``: labels that name a captured prediction,
    ``unmatched``: the first ones that did not), and the live accuracy of every labelled version."""

    model_id: int
    received: int
    matched: int
    unmatched: list[str]
    metric: LiveMetric
    max_drop: float
    min_rows: int
    since: datetime | None
    until: datetime | None
    versions: list[VersionAccuracy]
    degraded: bool = Field(description="Whether this report marked the model degraded")
