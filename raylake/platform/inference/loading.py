"""Resolving a model id to a loaded model, through the metadata store and the platform's own file store.

Model replicas and batch jobs both load models this way: the id says which run and preprocessing state,
and the metadata store says whether the tenant owns them, whether the run completed, and where its
artifacts are. No path from a request ever reaches the file store.
"""

from __future__ import annotations

from sqlalchemy import Engine

from raylake.ml.forecast.forecaster import Forecaster
from raylake.ml.serving import ServedModel
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.storage import open_store
from raylake.platform.training import artifacts
from raylake.platform.training.models import PreprocessState, TrainingRun


class ModelNotServable(LookupError):
    """The id names no completed model of that tenant (deleted since, or never valid)."""


def model_id(tenant_id: str, train_id: int, preprocess_id: int) -> str:
    return f"{tenant_id}/{train_id}/{preprocess_id}"


def parse_model_id(key: str) -> tuple[str, int, int]:
    try:
        tenant_id, train_id, preprocess_id = key.rsplit("/", 2)
        return tenant_id, int(train_id), int(preprocess_id)
    except ValueError:
        raise ModelNotServable(f"{key!r} is not a model id") from None


def load_model(settings: Settings, engine: Engine, key: str) -> ServedModel | Forecaster:
    tenant_id, train_id, preprocess_id = parse_model_id(key)
    with session_scope(engine) as session:
        run = session.get(TrainingRun, train_id)
        state = session.get(PreprocessState, preprocess_id)
        if (
            run is None
            or run.tenant_id != tenant_id
            or run.status != "completed"
            or not run.artifact_key
            or state is None
            or state.tenant_id != tenant_id
        ):
            raise ModelNotServable(f"model {train_id} is not available")
        prefix, state_key = run.artifact_key, state.storage_key
        metrics = dict(run.metrics or {})
    store = open_store(settings)
    manifest = artifacts.read_manifest(store, prefix)
    if artifacts.is_forecaster(manifest):
        return artifacts.load_forecaster(store, prefix, manifest, state_key)
    loaded = artifacts.load(store, prefix, state_key, manifest)
    return ServedModel.build(loaded.model, loaded.preprocessor, accuracy_of(metrics))


def accuracy_of(metrics: dict | None) -> float | None:
    """The reference's single ``accuracy`` figure: test accuracy, or R² for regression."""
    metrics = metrics or {}
    value = metrics.get("accuracy", metrics.get("r2"))
    return float(value) if isinstance(value, int | float) else None
