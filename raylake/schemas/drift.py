"""API contracts of drift checks: a model's drift settings, a check's request and its report, a baseline."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator

from raylake.core.vocabulary import MAX_ID, DriftMethod, DriftStatus
from raylake.schemas.common import Strict

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
VersionRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MAX_WINDOW_S = 366 * 24 * 3600
DEFAULT_WINDOW = "24h"
DEFAULT_MIN_ROWS = 100
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_WINDOW = re.compile(r"^([0-9]{1,9})\s*([smhdw]?)$")


def window_seconds(value: str | int) -> int:
    """A window as seconds: ``90`` or ``"90"`` seconds, ``"30m"``, ``"24h"``, ``"7d"``, ``"2w"``
    (ValueError outside 1 second to 366 days)."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        found = _WINDOW.match(str(value).strip().lower())
        if found is None:
            raise ValueError(f"window {value!r} is not a number of seconds or like 30m, 24h, 7d, 2w")
        seconds = int(found.group(1)) * _UNITS[found.group(2) or "s"]
    if not 1 <= seconds <= MAX_WINDOW_S:
        raise ValueError("a window is between 1 second and 366 days")
    return seconds


Window = Annotated[str | int, Field(description="Seconds, or a count with a unit: 30m, 24h, 7d, 2w")]


class DriftSettings(Strict):
    """A model's drift checks (``PATCH /models/{id}`` with ``drift``); sent whole, it replaces the stored
    settings. ``threshold`` null: the method's default (psi 0.2, ks 0.1, js 0.1, chi2 p 0.05)."""

    enabled: bool = False
    method: DriftMethod = DriftMethod.PSI
    threshold: Annotated[float, Field(gt=0, le=100)] | None = None
    window: Window = DEFAULT_WINDOW
    min_rows: Annotated[int, Field(ge=1, le=1_000_000_000)] = DEFAULT_MIN_ROWS

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | int) -> str | int:
        window_seconds(value)
        return value


class DriftCheck(Strict):
    """``POST /models/{id}/drift``: compare a dataset's rows (instead of captured predictions) with a
    version's baseline; method, threshold and min_rows default to the model's drift settings."""

    dataset_id: RowId
    version: VersionRef | None = None
    method: DriftMethod | None = None
    threshold: Annotated[float, Field(gt=0, le=100)] | None = None
    min_rows: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = None


class BaselineRequest(Strict):
    """``POST /models/{id}/drift/baseline``: a version's baseline from a dataset's rows (an external
    version has no training data of its own)."""

    dataset_id: RowId
    version: VersionRef | None = None


class ColumnDrift(BaseModel):
    """One column's (or the prediction's) comparison with the baseline."""

    name: str
    kind: str
    method: DriftMethod
    score: float
    p_value: float | None
    threshold: float
    drifted: bool
    rows: int
    missing_share: float
    baseline_missing_share: float = 0.0


class DriftReportPublic(BaseModel):
    """A drift check: what was compared with which version's baseline, and the verdict. ``status`` is
    null while its Ray job runs (``job_status``, ``stage``, ``percent`` say where it is)."""

    id: int
    model_id: int
    version: str
    train_id: int
    source: str
    dataset_id: int | None
    window_start: datetime | None
    window_end: datetime | None
    method: DriftMethod
    threshold: float
    min_rows: int
    rows: int | None
    status: DriftStatus | None
    drifted: list[str]
    columns: list[ColumnDrift]
    prediction: ColumnDrift | None
    scheduled: bool
    job_status: str
    stage: str
    percent: int
    error: str | None
    ray_job_id: str | None
    created_by: str
    created_at: datetime


class DriftReportsPublic(BaseModel):
    items: list[DriftReportPublic]
    total: int
    limit: int
    offset: int


class ColumnBaseline(BaseModel):
    """A column's bins in a baseline: numeric edges or categories, and the baseline's counts (the last
    one counts missing values)."""

    name: str
    kind: str
    edges: list[float] | None = None
    categories: list[str] | None = None
    counts: list[int]


class BaselinePublic(BaseModel):
    model_id: int
    version: str
    train_id: int
    rows: int
    source: dict[str, Any]
    columns: list[ColumnBaseline]
    prediction: ColumnBaseline | None


class DriftJobResult(BaseModel):
    """A drift job's report to ``models/drift-result``: the check's result, or why it failed."""

    report_id: RowId
    result: dict[str, Any] | None = None
    error: Annotated[str, StringConstraints(max_length=2000)] | None = None
