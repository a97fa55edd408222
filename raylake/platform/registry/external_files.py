"""An external version's folder in the file store: its model file as uploaded and a manifest naming the
format, checksum and signature. Read by model replicas and batch jobs (light imports: no API module)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

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
    store: FileStore, prefix: str, manifest: dict[str, Any], surrogate: dict[str, Any] | None
) -> ExternalModel:
    """An external version ready to serve: its model, with its surrogate when it has one (explanations)."""
    model = load(store, prefix, manifest)
    if surrogate:
        model.surrogate = Surrogate.load(store.read_bytes(surrogate["key"]).decode(), surrogate["meta"])
    return model
