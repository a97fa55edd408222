"""A trained model's files in the file store, ``<tenant>/models/<run>/``, all in safe formats.

``manifest.json`` ties them together: the model file (LightGBM text or skops, never a pickle), the
preprocessing state (JSON), the input schema (JSON) and the lineage of the run. Training writes the
folder once; incremental training and inference read it back.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb

from raylake.ml.algorithms import Model
from raylake.ml.forecast.forecaster import Forecaster
from raylake.ml.preprocess import Preprocessor
from raylake.platform.storage import FileStore

MANIFEST = "manifest.json"
PREPROCESS = "preprocess.json"
SCHEMA = "schema.json"
FORECASTER = "forecaster.json"  # a forecaster's state: its preprocessing and its model's history in one
BOOSTER = "model.txt"


@dataclass
class Artifacts:
    manifest: dict[str, Any]
    preprocessor: Preprocessor
    model: Model


def save(
    store: FileStore,
    prefix: str,
    *,
    model: Model,
    preprocessor: Preprocessor,
    lineage: dict[str, Any],
) -> dict[str, Any]:
    """Write a trained model, its preprocessing state and input schema under a prefix; the manifest."""
    with tempfile.TemporaryDirectory(prefix="raylake-model-") as tmp:
        folder = Path(tmp)
        model_manifest = model.save(folder)
        (folder / PREPROCESS).write_text(json.dumps(preprocessor.to_json()))
        (folder / SCHEMA).write_text(json.dumps(preprocessor.input_schema))
        files = sorted(p.name for p in folder.iterdir())
        manifest = {
            **lineage,
            "model": model_manifest,
            "preprocess": PREPROCESS,
            "schema": SCHEMA,
            "files": files,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, default=str))
        store.put_dir(prefix, folder)
    return manifest


def read_manifest(store: FileStore, prefix: str) -> dict[str, Any]:
    """The manifest of the artifacts under a prefix."""
    return json.loads(store.read_bytes(f"{prefix}/{MANIFEST}"))


def load(
    store: FileStore, prefix: str, preprocess_key: str | None = None, manifest: dict[str, Any] | None = None
) -> Artifacts:
    """The run's model and preprocessing; ``preprocess_key`` overrides the state (``train/update``).
    A caller that has read the manifest already passes it."""
    manifest = manifest or read_manifest(store, prefix)
    state_key = preprocess_key or f"{prefix}/{manifest['preprocess']}"
    preprocessor = Preprocessor.from_json(json.loads(store.read_bytes(state_key)))
    with tempfile.TemporaryDirectory(prefix="raylake-model-") as tmp:
        names = [n for n in manifest["files"] if n not in (MANIFEST, PREPROCESS, SCHEMA)]
        store.get_dir(prefix, Path(tmp), names)
        model = Model.load(Path(tmp), manifest["model"])
    return Artifacts(manifest=manifest, preprocessor=preprocessor, model=model)


def save_forecaster(
    store: FileStore,
    prefix: str,
    *,
    forecaster: Forecaster,
    schema: list[dict[str, Any]],
    lineage: dict[str, Any],
) -> dict[str, Any]:
    """A forecaster's folder: its JSON state, LightGBM's text model when it uses one, schema, manifest."""
    with tempfile.TemporaryDirectory(prefix="raylake-model-") as tmp:
        folder = Path(tmp)
        (folder / FORECASTER).write_text(json.dumps(forecaster.to_json()))
        if forecaster.booster is not None:
            forecaster.booster.save_model(str(folder / BOOSTER))
        (folder / SCHEMA).write_text(json.dumps(schema))
        manifest = {
            **lineage,
            "kind": "forecast",
            "model": {"algorithm": forecaster.model, "file": BOOSTER if forecaster.booster else None},
            "preprocess": FORECASTER,
            "schema": SCHEMA,
            "files": sorted(p.name for p in folder.iterdir()),
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, default=str))
        store.put_dir(prefix, folder)
    return manifest


def is_forecaster(manifest: dict[str, Any]) -> bool:
    """Whether a manifest describes a forecaster."""
    return manifest.get("kind") == "forecast"


def load_forecaster(store: FileStore, prefix: str, manifest: dict[str, Any], state_key: str) -> Forecaster:
    """The forecaster under a prefix, from its state and booster."""
    state = json.loads(store.read_bytes(state_key))
    booster = None
    if manifest["model"].get("file"):
        booster = lgb.Booster(model_str=store.read_bytes(f"{prefix}/{manifest['model']['file']}").decode())
    return Forecaster.from_json(state, booster)
