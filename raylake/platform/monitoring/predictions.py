"""A model's captured predictions as the API shows them: its lake table read by time range and version,
newest first, a page at a time (``capture.read_captured``)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sqlmodel import Session

from raylake.platform.errors import Invalid
from raylake.platform.lake import Lake
from raylake.platform.monitoring import capture
from raylake.platform.registry import service as registry
from raylake.platform.registry import versions
from raylake.platform.registry.models import Predictor
from raylake.platform.tenancy import Principal
from raylake.schemas.capture import CapturedPrediction, CapturedPredictions

_NUMBERED = re.compile(r"^[vV]?([0-9]{1,9})$")
_INPUT = "_input_"


def _version(session: Session, model: Predictor, version: str | None) -> int | None:
    """A version by number (``3``, ``v3``: a deleted one's rows stay readable) or by alias (404 unknown)."""
    if version is None:
        return None
    numbered = _NUMBERED.match(version.strip())
    if numbered:
        return int(numbered.group(1))
    return versions.resolve(session, model, version).version


def _item(row: dict[str, Any]) -> CapturedPrediction:
    inputs = {}
    for name, value in row.items():
        if not name.startswith("_"):
            inputs[name] = value
        elif name.startswith(_INPUT) and name[len(_INPUT) :] in capture.RESERVED_NAMES:
            inputs[name[len(_INPUT) :]] = value
    place = row.get("_row")
    return CapturedPrediction(
        capture_id=capture.capture_id(row["_request_id"], place) if place is not None else None,
        request_id=row["_request_id"],
        ts=row["_ts"],
        model_id=row["_model_id"],
        train_id=row["_train_id"],
        version=row["_version"],
        caller=row["_caller"],
        source=row["_source"],
        latency_ms=row["_latency_ms"],
        prediction=row["_prediction"],
        prediction_value=row["_prediction_value"],
        probability=row["_probability"],
        probabilities=json.loads(row["_probabilities"]) if row["_probabilities"] else None,
        inputs=inputs,
    )


def list_captured(
    *,
    session: Session,
    ctx: Lake,
    principal: Principal,
    model_id: int | str,
    since: datetime | None,
    until: datetime | None,
    version: str | None,
    limit: int,
    offset: int,
) -> CapturedPredictions:
    """The model's captured rows in ``[since, until)`` (of one version), newest first (404 another
    tenant's model; an empty page when nothing was captured)."""
    model = registry.get_model(session=session, principal=principal, model_id=model_id)
    assert model.id is not None
    since = capture.utc(since) if since is not None else None
    until = capture.utc(until) if until is not None else None
    if since is not None and until is not None and since >= until:
        raise Invalid("since must be before until")
    number = _version(session, model, version)
    total = capture.count_captured(ctx, model.id, since=since, until=until, version=number)
    frame = capture.read_captured(
        ctx, model.id, since=since, until=until, version=number, limit=limit, offset=offset
    )
    items = [_item(row) for row in frame.iter_rows(named=True)]
    return CapturedPredictions(items=items, total=total, limit=limit, offset=offset)
