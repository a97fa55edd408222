"""The tabular half of the training job (classification and regression): ``train.py`` hands it every run
that is not a forecast.

It fits preprocessing and the model (a Ray Tune search for ``auto``), evaluates on the held-out test
split and writes the artifacts; ``train.py`` posts what it returns to ``train/result``.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any

import polars as pl
from sqlalchemy import Engine

from raylake.core.layout import model_prefix
from raylake.ml import pipeline
from raylake.ml.pipeline import PipelineResult
from raylake.ml.preprocess import ColumnRole
from raylake.platform import lake
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.monitoring import drift_baseline
from raylake.platform.storage import FileStore
from raylake.platform.training import artifacts
from raylake.platform.training.models import PreprocessState, TrainingRun
from raylake.train_jobs import runtime
from raylake.train_jobs.inputs import lineage, read_rows

log = logging.getLogger(__name__)


def parent_artifacts(engine: Engine, store: FileStore, run: TrainingRun) -> artifacts.Artifacts | None:
    """The model and preprocessing of the version an incremental run continues; None for a first version."""
    if run.parent_id is None:
        return None
    with session_scope(engine) as session:
        parent = session.get(TrainingRun, run.parent_id)
        if parent is None or parent.artifact_key is None:
            raise LookupError(f"the parent version of run {run.id} was deleted")
        state = session.get(PreprocessState, parent.preprocess_id) if parent.preprocess_id else None
        key = state.storage_key if state else None
        prefix = parent.artifact_key
    return artifacts.load(store, prefix, key)


def save_baseline(store: FileStore, run: TrainingRun, frame: pl.DataFrame, result: PipelineResult) -> None:
    """The version's drift baseline: its inputs' bins from the rows it read, its test predictions' bins."""
    try:
        baseline = drift_baseline.build(
            frame,
            run.columns,
            problem_type=run.problem_type,
            predictions=result.test_predictions,
            source={"kind": "training", "dataset_id": run.dataset_id, "snapshot_id": run.snapshot_id},
        )
        drift_baseline.save(store, run, baseline)
    except Exception:  # the model is good without it: drift checks then say the version has no baseline
        log.exception("could not write the drift baseline of run %s", run.id)


def train(settings: Settings, engine: Engine, run: TrainingRun) -> dict[str, Any]:
    """Fit and evaluate; returns the ``result`` object ``train/result`` receives."""
    assert run.id is not None

    progress = runtime.progress(engine, TrainingRun, run.id)
    ctx = lake.open_lake(settings)
    progress("reading", 5)
    frame = read_rows(ctx, engine, run)
    parent = parent_artifacts(engine, ctx.store, run)
    roles = [ColumnRole(r["name"], r["data_type"], r["attribute"], r.get("default")) for r in run.columns]
    tune_dir = settings.data_dir / "tune" / f"train-{run.id}"
    try:
        result = pipeline.run(
            frame,
            roles,
            problem_type=run.problem_type,
            algorithm=run.algorithm,
            params=run.params,
            time_budget_s=run.time_budget_s,
            seed=run.seed,
            threads=settings.train_cpus,
            max_concurrency=max(1, min(settings.train_cpus, 2)),
            storage_path=tune_dir,
            progress=progress,
            parent=(parent.preprocessor, parent.model) if parent else None,
        )
    finally:
        shutil.rmtree(tune_dir, ignore_errors=True)
    progress("saving", 95)
    prefix = model_prefix(run)
    artifacts.save(
        ctx.store,
        prefix,
        model=result.model,
        preprocessor=result.preprocessor,
        lineage=lineage(engine, run, result.algorithm),
    )
    save_baseline(ctx.store, run, frame, result)
    return {
        "metrics": result.metrics,
        "algorithm": result.algorithm,
        "params": result.params,
        "trials": result.trials,
        "rows": result.rows,
        "input_schema": result.preprocessor.input_schema,
        "path": prefix,
        "checkpoint": f"{prefix}/{artifacts.MANIFEST}",
        "preprocess": {
            "storage_key": f"{prefix}/{artifacts.PREPROCESS}",
            "encoding": result.preprocessor.encoding,
            "feature_names": result.preprocessor.feature_names,
        },
        "error": None,
    }
