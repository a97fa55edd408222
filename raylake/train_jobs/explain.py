"""SHAP feature importance of a trained model, as a Ray job:

    python -m raylake.train_jobs.explain --importance-id N

Explains a sample of the run's own training snapshot (the background comes from it too) with the
model and the preprocessing state the run uses now, and posts mean |SHAP| per original column to
``train/shap-result``.
"""

from __future__ import annotations

import polars as pl

from raylake.ml import explain
from raylake.platform import lake
from raylake.platform.config import Settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.datasets.validation import FILE_ID
from raylake.platform.db import session_scope
from raylake.platform.training import artifacts
from raylake.platform.training.models import FeatureImportanceJob, PreprocessState, TrainingRun
from raylake.train_jobs import runtime

KIND = "shap"
EXPLAIN_ROWS = 200
BACKGROUND_ROWS = 100


def importance(settings: Settings, engine, job: FeatureImportanceJob) -> dict[str, float]:
    """The run's SHAP feature importance, over a sample of its training snapshot's rows."""
    progress = runtime.progress(engine, FeatureImportanceJob, job.id, low=0)
    with session_scope(engine) as session:
        run = session.get(TrainingRun, job.training_run_id)
        if run is None or run.artifact_key is None:
            raise LookupError("the training run was deleted")
        dataset = session.get(Dataset, run.dataset_id) if run.dataset_id else None
        if dataset is None:
            raise LookupError(f"dataset {run.dataset_name!r} was deleted: no rows to explain with")
        state = session.get(PreprocessState, run.preprocess_id) if run.preprocess_id else None
        table_name, snapshot, prefix = dataset.iceberg_table_name, run.snapshot_id, run.artifact_key
        seed = run.seed
    progress("loading model", 10)
    ctx = lake.open_lake(settings)
    model = artifacts.load(ctx.store, prefix, state.storage_key if state else None)
    frame = pl.scan_iceberg(lake.load(ctx.catalog, "silver", table_name), snapshot_id=snapshot).drop(FILE_ID)
    rows = frame.collect()
    sample = rows.sample(n=min(rows.height, EXPLAIN_ROWS + BACKGROUND_ROWS), seed=seed)
    X = model.preprocessor.transform(sample)
    explained, background = X[:EXPLAIN_ROWS], X[-BACKGROUND_ROWS:]
    progress("explaining", 30)
    return explain.feature_importance(model.model, model.preprocessor, explained, background, seed=seed)


def run(settings: Settings, importance_id: int) -> None:
    """Claim the row, compute the run's SHAP importance, and report it or the reason it failed."""
    runtime.run_job(
        settings,
        table=FeatureImportanceJob,
        row_id=importance_id,
        kind=KIND,
        result_path="/train/shap-result",
        report=lambda job: {"training_id": job.training_run_id},
        work=lambda engine, job: importance(settings, engine, job),
    )


def main(argv: list[str] | None = None) -> None:
    """The Ray job's entrypoint: compute the SHAP importance of ``--importance-id``."""
    runtime.main("raylake.train_jobs.explain", "--importance-id", run, argv)


if __name__ == "__main__":
    main()
