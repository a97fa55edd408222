"""An external version's folder in the file store: its model file as uploaded and a manifest naming the
format, checksum and signature. Read by model replicas and batch jobs (light imports: no API module)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from raylake.core.vocabulary import ModelFormat, Task
from raylake.ml.external import ExternalModel, Signature, load_external
from raylake.ml.surrogate import Surrogate
from raylake.platform.storage import FileStore
from raylake.platform.training.models import TrainingRun

ALGORITHM = "External"
KIND = "external"  # the manifest's kind, and the run's data source
MANIFEST = "manifest.json"
MODEL_FILE = "model"
# An external version has no preprocessing state of raylake's: model ids name state 0 (``loading.py``).
NO_PREPROCESS = 0


def is_external(run: TrainingRun) -> bool:
    """Whether a version is an external model (no preprocessing of raylake's own)."""
    return run.algorithm == ALGORITHM


def is_external_manifest(manifest: dict[str, Any]) -> bool:
    """Whether a version folder's manifest describes an external model."""
    return manifest.get("kind") == KIND


def load(store: FileStore, prefix: str, manifest: dict[str, Any]) -> ExternalModel:
    """An external version's model from its folder; refused if the file changed since registration."""
    data = store.read_bytes(f"{prefix}/{manifest['file']}")
    if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise ValueError(f"{prefix}/{manifest['file']} does not match the checksum recorded at registration")
    signature = manifest["signature"]
    with tempfile.TemporaryDirectory(prefix="raylake-external-") as tmp:
        path = Path(tmp) / MODEL_FILE
        path.write_bytes(data)
        return load_external(
            path,
            ModelFormat(manifest["format"]),
            Signature(
                inputs=[(name, data_type) for name, data_type in signature["inputs"]],
                task=Task(signature["task"]),
                class_order=signature.get("class_order"),
            ),
        )


def load_served(
    store: FileStore,
    prefix: str,
    manifest: dict[str, Any],
    surrogate: dict[str, Any] | None,
    columns_schema: dict[str, Any] | None = None,
) -> ExternalModel:
    """An external version ready to serve: its model, with its surrogate when it has one, and a typical
    row of its model's column schema (the model factory's) as KernelSHAP's background otherwise."""
    model = load(store, prefix, manifest)
    if surrogate:
        model.surrogate = Surrogate.load(store.read_bytes(surrogate["key"]).decode(), surrogate["meta"])
    row = typical_row(model.signature.inputs, columns_schema)
    if row is not None:
        model.background = model.background_from(pl.DataFrame([row]))
    return model


def typical_row(
    inputs: list[tuple[str, str]], columns_schema: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Each input's typical value from a column schema: the middle bin edge (the median of the sample it
    was read from), else the middle of its range, or its commonest category; None unless the schema
    describes every input. Explaining against this row, not an all-zeros one, keeps KernelSHAP's
    contributions about the data the model sees."""
    described = {c.get("name"): c for c in (columns_schema or {}).get("columns", [])}
    row: dict[str, Any] = {}
    for name, data_type in inputs:
        column = described.get(name)
        if column is None:
            return None
        bins, low, high = column.get("bins") or [], column.get("min"), column.get("max")
        categories = column.get("categories") or []
        if data_type in ("Integer", "Float") and (bins or (low is not None and high is not None)):
            middle = float(bins[len(bins) // 2]) if bins else (float(low) + float(high)) / 2
            row[name] = round(middle) if data_type == "Integer" else middle
        elif data_type == "Boolean":
            row[name] = str(categories[0]).lower() == "true" if categories else False
        elif data_type == "String" and categories:
            row[name] = str(categories[0])
        else:
            return None
    return row
