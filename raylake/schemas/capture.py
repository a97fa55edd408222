"""API contracts of captured predictions: every prediction a model made, read back from its lake table."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class CapturedPrediction(BaseModel):
    """One predicted row: who asked, when, through which route, what the version answered, and the
    row's inputs (and Id columns) by name."""

    capture_id: str | None  # None: captured before rows were numbered
    request_id: str
    ts: datetime
    model_id: int
    train_id: int
    version: int
    caller: str | None
    source: str
    latency_ms: float | None
    prediction: str | None
    prediction_value: float | None
    probability: float | None
    probabilities: dict[str, float] | None
    inputs: dict[str, Any]


class CapturedPredictions(BaseModel):
    items: list[CapturedPrediction]
    total: int
    limit: int
    offset: int
