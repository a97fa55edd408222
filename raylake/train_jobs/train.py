"""Train one run on the cluster, as a Ray job:

    python -m raylake.train_jobs.train --train-id N

The platform submits it for every ``POST /api/v1/train/``; the same command re-runs an unfinished or
failed run from a notebook (``ray job submit -- python -m raylake.train_jobs.train --train-id N``).
It reads the dataset's silver snapshot recorded on the run (for incremental runs only the rows added
since the parent's snapshot), fits preprocessing and the model (a Ray Tune search for ``auto``),
evaluates on the held-out test split, writes the artifacts and posts the result to ``train/result``.
Any failure is posted as the run's error before the job exits non-zero.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import traceback
from typing import Any

import polars as pl
from sqlalchemy import Engine

from raylake.ml import pipeline
from raylake.ml.preprocess import ColumnRole
from raylake.platform import lake
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.datasets.validation import FILE_ID
from raylake.platform.db import make_engine, session_scope
from raylake.platform.storage import FileStore
from raylake.platform.training import artifacts
from raylake.platform.training.models import Predictor, PreprocessState, TrainingRun
from raylake.platform.training.service import model_prefix
from raylake.train_jobs import runtime

log = logging.getLogger("raylake.train")
KIND = "train"


def read_rows(ctx: lake.Lake, engine: Engine, run: TrainingRun) -> pl.DataFrame:
    with session_scope(engine) as session:
        dataset = session.get(Dataset, run.dataset_id) if run.dataset_id else None
        if dataset is None:
            raise LookupError(f"dataset {run.dataset_name!r} was deleted before training read it")
        table_name = dataset.iceberg_table_name
    try:
        table = lake.load(ctx.catalog, "silver", table_name)
    except Exception as exc:
        raise LookupError(f"dataset {run.dataset_name!r} was deleted before training read it") from exc
    frame = pl.scan_iceberg(table, snapshot_id=run.snapshot_id)
    if run.base_snapshot_id is not None:
        seen = pl.scan_iceberg(table, snapshot_id=run.base_snapshot_id).select(FILE_ID).unique().collect()
        frame = frame.filter(~pl.col(FILE_ID).is_in(seen[FILE_ID].implode()))
    rows = frame.drop(FILE_ID).collect()
    if rows.height == 0:
        raise ValueError(f"no rows to train on in snapshot {run.snapshot_id}")
    return rows


def parent_artifacts(engine: Engine, store: FileStore, run: TrainingRun) -> artifacts.Artifacts | None:
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


def lineage(engine: Engine, run: TrainingRun, algorithm: str) -> dict[str, Any]:
    """What the model folder's manifest says about where the model came from."""
    with session_scope(engine) as session:
        predictor = session.get(Predictor, run.predictor_id)
        predictor_name = predictor.predictor_name if predictor else ""
    return {
        "train_id": run.id,
        "predictor_name": predictor_name,
        "version": run.version,
        "parent_id": run.parent_id,
        "dataset_id": run.dataset_id,
        "snapshot_id": run.snapshot_id,
        "base_snapshot_id": run.base_snapshot_id,
        "problem_type": run.problem_type,
        "algorithm": algorithm,
        "created_at": utcnow().isoformat(),
    }


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


def run(settings: Settings, train_id: int) -> None:
    engine = make_engine(settings.sqlalchemy_url)
    token = runtime.callback_token(settings, KIND, train_id)
    try:
        row = runtime.claim(engine, TrainingRun, train_id)
        runtime.update(
            engine,
            TrainingRun,
            train_id,
            status="running",
            stage="starting",
            percent=2,
            error=None,
            started_at=utcnow(),
            ray_job_id=runtime.submission_id() or row.ray_job_id,
        )
        try:
            if row.problem_type == "Forecasting":
                from raylake.train_jobs import train_forecast

                result = train_forecast.train(settings, engine, row)
            else:
                result = train(settings, engine, row)
        except Exception as exc:
            log.error("training run %s failed:\n%s", train_id, traceback.format_exc())
            message = f"{type(exc).__name__}: {exc}"[:2000]
            try:
                runtime.post(
                    settings, "/train/result", token, {"train_id": train_id, "result": {"error": message}}
                )
            except Exception:  # the API is unreachable: record the failure ourselves
                runtime.update(engine, TrainingRun, train_id, status="failed", stage="failed", error=message)
            raise SystemExit(1) from exc
        runtime.post(settings, "/train/result", token, {"train_id": train_id, "result": result})
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="raylake.train_jobs.train")
    parser.add_argument("--train-id", type=int, required=True)
    args = parser.parse_args(argv)
    run(resolve_settings(Settings()), args.train_id)


if __name__ == "__main__":
    main()
