"""Resolving a model id to a loaded model, through the metadata store and the platform's own file store.

Model replicas and batch jobs both load models this way: the id says which run and preprocessing state,
and the metadata store says whether the tenant owns them, whether the run completed, and where its
artifacts are. No path from a request ever reaches the file store.
"""

from __future__ import annotations

from sqlalchemy import Engine

from raylake.core.vocabulary import JobStatus
from raylake.ml.external import ExternalModel
from raylake.ml.forecast.forecaster import Forecaster
from raylake.ml.serving import ServedModel
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.registry import external_files
from raylake.platform.registry.models import Predictor
from raylake.platform.storage import open_store
from raylake.platform.training import artifacts
from raylake.platform.training.models import PreprocessState, TrainingRun


class ModelNotServable(LookupError):
    """The id names no completed model of that tenant (deleted since, or never valid)."""


def model_id(run: TrainingRun, preprocess_id: int) -> str:
    """The run's model with a preprocessing state, as model replicas cache it. The run's uid makes it
    unique for good: a cache can never answer for a deleted run with another that got its id."""
    return f"{run_prefix(run.tenant_id, run.id)}{preprocess_id}/{run.uid}"  # type: ignore[arg-type]


def run_prefix(tenant_id: str, train_id: int) -> str:
    """What every model id of one run starts with (``forget`` drops them all)."""
    return f"{tenant_id}/{train_id}/"


def tenant_prefix(tenant_id: str) -> str:
    """What every model id of one tenant starts with."""
    return f"{tenant_id}/"


def parse_model_id(key: str) -> tuple[str, int, int, str]:
    """The tenant, run, preprocessing state and uid a model key names; ModelNotServable if malformed."""
    try:
        tenant_id, train_id, preprocess_id, uid = key.split("/")
        return tenant_id, int(train_id), int(preprocess_id), uid
    except ValueError:
        raise ModelNotServable(f"{key!r} is not a model id") from None


Loaded = ServedModel | ExternalModel | Forecaster


def load_model(settings: Settings, engine: Engine, key: str) -> Loaded:
    """The model a key names, from its artifacts; ModelNotServable unless completed and the tenant's."""
    tenant_id, train_id, preprocess_id, uid = parse_model_id(key)
    with session_scope(engine) as session:
        run = session.get(TrainingRun, train_id)
        if run is None or run.tenant_id != tenant_id or run.uid != uid or run.status != JobStatus.COMPLETED:
            raise ModelNotServable(f"model {train_id} is not available")
        external = external_files.is_external(run)
        state = None if external else session.get(PreprocessState, preprocess_id)
        if (
            not run.artifact_key
            or (external and preprocess_id != external_files.NO_PREPROCESS)
            or (not external and (state is None or state.tenant_id != tenant_id))
        ):
            raise ModelNotServable(f"model {train_id} is not available")
        prefix, state_key = run.artifact_key, state.storage_key if state else ""
        metrics = dict(run.metrics or {})
        surrogate = dict(run.surrogate) if run.surrogate else None
        predictor = session.get(Predictor, run.predictor_id) if external else None
        columns_schema = dict(predictor.columns_schema or {}) if predictor else None
    store = open_store(settings)
    manifest = artifacts.read_manifest(store, prefix)
    if external_files.is_external_manifest(manifest):
        return external_files.load_served(store, prefix, manifest, surrogate, columns_schema)
    if artifacts.is_forecaster(manifest):
        return artifacts.load_forecaster(store, prefix, manifest, state_key)
    loaded = artifacts.load(store, prefix, state_key, manifest)
    return ServedModel.build(loaded.model, loaded.preprocessor, accuracy_of(metrics))


def accuracy_of(metrics: dict | None) -> float | None:
    """The reference's single ``accuracy`` figure: test accuracy, or R² for regression."""
    metrics = metrics or {}
    value = metrics.get("accuracy", metrics.get("r2"))
    return float(value) if isinstance(value, int | float) else None
