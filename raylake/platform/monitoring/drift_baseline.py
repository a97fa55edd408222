"""A version's drift baseline: ``baseline.json`` beside its model files (``<tenant>/models/<run>/``).

Written by the training job from the version's training snapshot (its inputs' bins) and its held-out
test rows' predictions (the prediction's bins); an external version has no training data, so its
baseline is built from a dataset its owner names (``POST /models/{id}/drift/baseline``), without a
prediction distribution. The file goes with the version's folder when the version is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from raylake.core.layout import model_prefix
from raylake.core.vocabulary import MODEL_INPUTS
from raylake.ml import drift
from raylake.platform.errors import NotFound
from raylake.platform.storage import FileStore
from raylake.platform.training.models import TrainingRun

BASELINE = "baseline.json"
# The captured predictions' columns (the prediction log's contract): a class label, or a number.
PREDICTION = "_prediction"
PREDICTION_VALUE = "_prediction_value"


def input_kinds(columns: Sequence[dict[str, Any]]) -> dict[str, drift.Kind]:
    """A run's inputs that drift is measured on, binned by their type (dates and times are left out)."""
    kinds: dict[str, drift.Kind] = {}
    for column in columns:
        if column.get("attribute") in MODEL_INPUTS:
            kind = drift.kind_of(str(column.get("data_type")))
            if kind is not None:
                kinds[str(column["name"])] = kind
    return kinds


def prediction_column(problem_type: str) -> tuple[str, drift.Kind]:
    """Where a captured prediction is, and how it is binned: a label for classification, else a number."""
    if problem_type == "Classification":
        return PREDICTION, drift.CATEGORICAL
    return PREDICTION_VALUE, drift.NUMERIC


def build(
    frame: pl.DataFrame,
    columns: Sequence[dict[str, Any]],
    *,
    problem_type: str,
    predictions: Sequence[Any] | None,
    source: dict[str, Any],
) -> drift.Baseline:
    """A baseline from the rows a version learnt from and, when given, its predictions of held-out rows."""
    kinds = {name: kind for name, kind in input_kinds(columns).items() if name in frame.columns}
    prediction = None
    if predictions is not None and len(predictions):
        name, kind = prediction_column(problem_type)
        values = pl.DataFrame({name: list(predictions)}, strict=False)
        prediction = drift.fit_bins(values, {name: kind})[0]
    bins = drift.fit_bins(frame, kinds)
    return drift.Baseline(bins, prediction=prediction, rows=frame.height, source=source)


def key(run: TrainingRun) -> str:
    """Where a version's baseline is in the file store."""
    return f"{model_prefix(run)}/{BASELINE}"


def save(store: FileStore, run: TrainingRun, baseline: drift.Baseline) -> str:
    """Write (or replace) a version's baseline; its key."""
    target = key(run)
    store.put_bytes(target, json.dumps(baseline.to_json()).encode())
    return target


def load(store: FileStore, run: TrainingRun) -> drift.Baseline | None:
    """A version's baseline, None when it has none (trained before drift existed, or external)."""
    try:
        data = store.read_bytes(key(run))
    except NotFound:
        return None
    return drift.Baseline.from_json(json.loads(data))
