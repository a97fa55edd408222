"""Predict a whole dataset with a trained model, writing ``gold.prediction_<N>`` and a CSV.

``POST /api/v1/inference/batchPrediction`` records the prediction and starts it one of two ways:

* inputs up to ``batch_replica_max_rows`` run inside the model's replica (``run_in_replica``): the
  model is loaded and the imports warm, so a million rows cost about what the prediction costs. The
  replica renews a lease on the row while it works; a row whose lease lapses (the replica died) is
  failed when next read.
* larger inputs run as a Ray job, also what a notebook submits by hand::

      python -m raylake.train_jobs.batch_predict --prediction-id N

  Ray Data reads the silver snapshot (the Iceberg files split across read tasks) and a pool of
  predictor actors predicts each block. The actor pool is sized to leave a CPU for the read tasks: Ray
  Data stalls when actors hold every CPU.

Either way the same code applies the persisted preprocessing and the model to blocks of rows
(vectorised polars and numpy), streams the results into one Parquet file, scores them against the target
where the dataset has it, and publishes the file as the gold table (one commit) and the CSV. The result
goes through ``inference/batch-result``; any failure removes what was written and becomes the row's error.
Unless the model's capture is off, each block's rows (inputs included) also stream into a second file
that is appended to the model's capture table (``gold.prediction_log_<model id>``) once the result is
accepted: the predictions the batch delivered, ``_source`` ``batch``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from raylake.core.layout import prediction_table, predictions_prefix
from raylake.core.vocabulary import JobStatus
from raylake.ml.external import ExternalModel
from raylake.ml.preprocess import target_labels
from raylake.ml.serving import ServedModel, typed_labels
from raylake.platform import lake
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.db import make_engine, session_scope
from raylake.platform.inference.loading import load_model, model_id
from raylake.platform.inference.models import Prediction
from raylake.platform.monitoring import capture, sources
from raylake.platform.registry import external_files
from raylake.platform.registry.models import Predictor
from raylake.platform.training.models import TrainingRun
from raylake.train_jobs import batch_capture, runtime

log = logging.getLogger("raylake.batch_predict")
KIND = "batch"
BATCH_ROWS = 50_000  # rows per Ray Data block
IN_PROCESS_BLOCK_ROWS = 250_000  # rows per step in a model replica (progress, and bounded memory)
PREDICTION, PROBABILITY, ACTUAL = "prediction", "probability", "__actual__"
CAPTURED = "captured.parquet"  # the batch's captured rows, in its work folder


@dataclass(frozen=True)
class Plan:
    """What a batch reads and writes, read from the store once: the snapshot's table, the columns
    the model needs, the Id columns kept beside each prediction, and the target when it can be scored."""

    table_name: str
    total: int
    ids: list[str]
    inputs: list[str]
    actual: str | None
    key: str
    classification: bool
    capture: capture.ModelVersion | None = None  # None: the model's predictions are not captured

    @property
    def columns(self) -> list[str]:
        """The columns a batch reads: the Id columns, the model's inputs, and the target when it is scored."""
        return [
            *self.ids,
            *self.inputs,
            *([self.actual] if self.actual and self.actual not in self.inputs else []),
        ]

    @property
    def carry(self) -> list[str]:
        """The columns each predicted block carries to its captured rows (inputs and Id columns)."""
        if self.capture is None:
            return []
        present = set(self.columns)
        return [name for name, _ in self.capture.inputs if name in present]


def read_plan(engine: Engine, prediction: Prediction) -> Plan:
    """What the batch reads and writes, from its run and dataset; LookupError once either is gone."""
    with session_scope(engine) as session:
        run = session.get(TrainingRun, prediction.train_id) if prediction.train_id else None
        dataset = session.get(Dataset, prediction.dataset_id) if prediction.dataset_id else None
        external = run is not None and external_files.is_external(run)
        if run is None or run.status != JobStatus.COMPLETED or (run.preprocess_id is None and not external):
            raise LookupError("the model was deleted before the batch read it")
        if dataset is None:
            raise LookupError("the dataset was deleted before the batch read it")
        present = {spec["name"]: spec["data_type"] for spec in dataset.column_specs}
        columns = list(run.columns)
        target = next(c for c in columns if c["attribute"] == "Target")
        model = session.get(Predictor, run.predictor_id)
        return Plan(
            table_name=dataset.iceberg_table_name,
            total=max(1, dataset.valid_records),
            ids=[c["name"] for c in columns if c["attribute"] == "Id" and c["name"] in present],
            inputs=[
                c["name"] for c in columns if c["attribute"] in ("Feature", "Time") and c["name"] in present
            ],
            actual=target["name"] if present.get(target["name"]) == target["data_type"] else None,
            key=model_id(run, external_files.NO_PREPROCESS if external else run.preprocess_id),  # type: ignore[arg-type]
            classification=run.problem_type == "Classification",
            capture=capture.model_version(run) if model is not None and model.capture_predictions else None,
        )


def predict_block(
    model: ServedModel | ExternalModel,
    frame: pl.DataFrame,
    keep: list[str],
    actual: str | None,
    carry: list[str] | None = None,
) -> pl.DataFrame:
    """Predictions for one block of rows, with the kept Id columns (and the target, to score, and the
    ``carry`` columns for the captured rows)."""
    carried = [frame[name].alias(sources.carried(name)) for name in carry or []]
    if isinstance(model, ExternalModel):
        return _external_block(model, frame, keep, actual).with_columns(carried)
    pre = model.preprocessor
    missing = [c.name for c in pre._columns if c.name not in frame.columns]
    # an optional input the dataset lacks takes its default (the fill), as in real-time calls
    frame = frame.with_columns(pl.lit(None).alias(name) for name in missing)
    X = pre.transform(frame)
    columns: dict[str, Any] = {name: frame[name] for name in keep}
    if model.classification:
        proba = model.model.predict_proba(X)
        assert proba is not None
        columns[PREDICTION] = typed_labels(pre, np.argmax(proba, axis=1))
        columns[PROBABILITY] = pl.Series(PROBABILITY, proba.max(axis=1))
    else:
        columns[PREDICTION] = pl.Series(PREDICTION, model.model.predict(X))
    if actual is not None:
        columns[ACTUAL] = frame[actual]
    return pl.DataFrame(columns).with_columns(carried)


def _external_block(
    model: ExternalModel, frame: pl.DataFrame, keep: list[str], actual: str | None
) -> pl.DataFrame:
    """An external model's predictions for one block (its own input handling, no preprocessing)."""
    results = model.predict_frame(frame)
    columns: dict[str, Any] = {name: frame[name] for name in keep}
    columns[PREDICTION] = pl.Series(PREDICTION, [r["prediction"] for r in results])
    if model.classification:
        columns[PROBABILITY] = pl.Series(
            PROBABILITY, [max(r["probabilities"].values()) for r in results], dtype=pl.Float64
        )
    if actual is not None:
        columns[ACTUAL] = frame[actual]
    return pl.DataFrame(columns)


class BlockPredictor:
    """A Ray Data actor: loads the model once, then predicts block after block."""

    def __init__(
        self, settings: Settings, key: str, keep: list[str], actual: str | None, carry: list[str]
    ) -> None:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            model = load_model(settings, engine, key)
        finally:
            engine.dispose()
        assert isinstance(model, ServedModel | ExternalModel)
        self.model, self.keep, self.actual, self.carry = model, keep, actual, carry

    def __call__(self, batch: pa.Table) -> pa.Table:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        return predict_block(self.model, frame, self.keep, self.actual, self.carry).to_arrow()


class Score:
    """Running accuracy (classification) or R², RMSE and MAE (regression) over the scored rows."""

    def __init__(self, classification: bool) -> None:
        self.classification = classification
        self.n = self.correct = 0
        self.sum = self.sum_sq = self.sse = self.sae = 0.0

    def add(self, predicted: pl.Series, actual: pl.Series) -> None:
        """Score a block's predictions against its known actual values (the finite ones, for regression)."""
        keep = actual.is_not_null()
        if self.classification:
            p_labels, a_labels = target_labels(predicted.filter(keep)), target_labels(actual.filter(keep))
            self.n += a_labels.len()
            self.correct += int((p_labels == a_labels).sum())
            return
        a = actual.filter(keep).cast(pl.Float64).to_numpy()
        p = predicted.filter(keep).cast(pl.Float64).to_numpy()
        finite = np.isfinite(a)
        a, p = a[finite], p[finite]
        self.n += len(a)
        self.sum += float(a.sum())
        self.sum_sq += float((a * a).sum())
        self.sse += float(((a - p) ** 2).sum())
        self.sae += float(np.abs(a - p).sum())

    def metrics(self) -> dict[str, Any]:
        """Accuracy (classification) or R², RMSE and MAE (regression) so far; empty when no row was scored."""
        if not self.n:
            return {}
        if self.classification:
            return {"accuracy": self.correct / self.n, "scored_rows": self.n}
        sst = self.sum_sq - self.sum * self.sum / self.n
        return {
            "r2": 1 - self.sse / sst if sst > 0 else None,
            "rmse": math.sqrt(self.sse / self.n),
            "mae": self.sae / self.n,
            "scored_rows": self.n,
        }


def with_ray_data(settings: Settings, engine: Engine, prediction: Prediction, work: Path) -> dict[str, Any]:
    """The Ray job's way: read tasks and a pool of predictor actors across the cluster."""
    import ray

    assert prediction.id is not None
    plan = read_plan(engine, prediction)
    progress = runtime.progress(engine, Prediction, prediction.id, low=2)
    progress("reading", 5)
    ray.init(log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    if not plan.ids:  # without an Id column, row order is what ties a prediction to its input row
        context.execution_options.preserve_order = True
    cpus = int(ray.cluster_resources().get("CPU", 1))
    predicted = (
        ray.data.read_iceberg(
            table_identifier=lake.identifier("silver", plan.table_name),
            snapshot_id=prediction.snapshot_id,
            catalog_kwargs=lake.catalog_properties(settings),
        )
        .select_columns(plan.columns)
        .map_batches(
            BlockPredictor,
            fn_constructor_kwargs={
                "settings": settings,
                "key": plan.key,
                "keep": plan.ids,
                "actual": plan.actual,
                "carry": plan.carry,
            },
            batch_size=BATCH_ROWS,
            batch_format="pyarrow",
            concurrency=max(1, cpus - 1),
            num_cpus=1,
        )
    )
    blocks = (_frame(batch) for batch in predicted.iter_batches(batch_size=None, batch_format="pyarrow"))
    return write_blocks(settings, prediction, plan, blocks, work, progress)


def in_process(
    settings: Settings, engine: Engine, model: ServedModel | ExternalModel, prediction: Prediction, work: Path
) -> dict[str, Any]:
    """A model replica's way, for inputs up to ``batch_replica_max_rows``: the model is already loaded
    and the imports are warm, so the batch costs what the prediction costs (no job or actor start-up)."""
    assert prediction.id is not None
    plan = read_plan(engine, prediction)
    progress = runtime.progress(engine, Prediction, prediction.id, low=2)
    progress("reading", 5)
    table = lake.load(lake.open_lake(settings).catalog, "silver", plan.table_name)
    frame = pl.scan_iceberg(table, snapshot_id=prediction.snapshot_id).select(plan.columns).collect()
    blocks = (
        predict_block(model, frame.slice(offset, IN_PROCESS_BLOCK_ROWS), plan.ids, plan.actual, plan.carry)
        for offset in range(0, frame.height, IN_PROCESS_BLOCK_ROWS)
    )
    return write_blocks(settings, prediction, plan, blocks, work, progress)


def _frame(batch: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    return frame


def write_blocks(
    settings: Settings,
    prediction: Prediction,
    plan: Plan,
    blocks: Iterable[pl.DataFrame],
    work: Path,
    progress: Callable[[str, int], None],
) -> dict[str, Any]:
    """Stream predicted blocks into one Parquet file (scoring them where the target is known), then
    publish it as the gold table and the CSV."""
    out = work / "predictions.parquet"
    writer: pq.ParquetWriter | None = None
    captured = batch_capture.CapturedRows(work / CAPTURED, plan.capture, prediction, PREDICTION, PROBABILITY)
    score = Score(plan.classification)
    rows = 0
    progress("predicting", 10)
    try:
        for frame in blocks:
            if plan.actual is not None:
                score.add(frame[PREDICTION], frame[ACTUAL])
                frame = frame.drop(ACTUAL)
            frame = captured.write(frame)
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=lake.ROW_GROUP)
            rows += frame.height
            progress("predicting", 10 + int(80 * rows / plan.total))
    finally:
        if writer is not None:
            writer.close()
        captured.close()
    if writer is None:
        raise ValueError("the dataset snapshot has no rows to predict")
    progress("writing", 90)
    return write_outputs(settings, prediction, out, work, rows, score.metrics())


def write_outputs(
    settings: Settings, prediction: Prediction, parquet: Path, work: Path, rows: int, metrics: dict[str, Any]
) -> dict[str, Any]:
    """The gold table (one commit of the finished file) and the CSV; undone if either fails."""
    ctx = lake.open_lake(settings)
    name = prediction_table(prediction)
    csv = work / f"prediction_{prediction.id}.csv"
    pl.scan_parquet(parquet).sink_csv(csv)
    key = f"{predictions_prefix(prediction)}{csv.name}"
    created = False
    try:
        table = ctx.catalog.create_table(lake.identifier("gold", name), schema=pq.read_schema(parquet))
        created = True
        uri = lake.place_parquet(table, parquet)
        table.add_files([uri])
        size = csv.stat().st_size
        ctx.store.put_file(key, csv)
    except Exception:
        if created:
            lake.drop(ctx.catalog, "gold", name)
        with contextlib.suppress(Exception):
            ctx.store.delete(key)
        raise
    return {
        "no_of_records": rows,
        "accuracy": metrics.get("accuracy", metrics.get("r2")),
        "metrics": metrics or None,
        "gold_table": name,
        "csv_key": key,
        "csv_size": size,
    }


Predict = Callable[[Engine, Prediction, Path], dict[str, Any]]


class BatchFailed(RuntimeError):
    """The batch failed and its row says why (reported through the API, or written directly)."""


def run(settings: Settings, prediction_id: int, predict: Predict, engine: Engine) -> None:
    """Claim the row, predict, and report the result (or the error) through the API's callback.

    Whoever runs it (the Ray job, or a model replica) gets the same row states and the same undo: a
    result the API refuses removes the outputs it names."""
    token = runtime.callback_token(settings, KIND, prediction_id)
    work = Path(tempfile.mkdtemp(prefix="raylake-batch-"))
    try:
        row = runtime.claim(engine, Prediction, prediction_id)
        runtime.update(
            engine,
            Prediction,
            prediction_id,
            status=JobStatus.RUNNING,
            stage="starting",
            percent=2,
            ray_job_id=runtime.submission_id() or row.ray_job_id,
        )
        try:
            result = predict(engine, row, work)
        except Exception as exc:
            log.error("batch prediction %s failed:\n%s", prediction_id, traceback.format_exc())
            message = f"{type(exc).__name__}: {exc}"[:2000]
            try:
                runtime.post(
                    settings,
                    "/inference/batch-result",
                    token,
                    {"prediction_id": prediction_id, "result": {"error": message}},
                )
            except Exception:  # the API is unreachable: record the failure ourselves
                runtime.update(
                    engine, Prediction, prediction_id, status=JobStatus.FAILED, stage="failed", error=message
                )
            raise BatchFailed(message) from exc
        try:
            runtime.post(
                settings, "/inference/batch-result", token, {"prediction_id": prediction_id, "result": result}
            )
        except Exception:
            # The API refused or never got the result: nothing may point at these outputs.
            ctx = lake.open_lake(settings)
            lake.drop(ctx.catalog, "gold", result["gold_table"])
            ctx.store.delete(result["csv_key"])
            raise
        batch_capture.append(settings, engine, lambda: read_plan(engine, row).capture, row, work / CAPTURED)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_in_replica(
    settings: Settings, engine: Engine, model: ServedModel | ExternalModel, prediction_id: int
) -> None:
    """A batch on a model replica's batch thread (``serve_apps/models.py``: one at a time, the rest
    queued and leased)."""
    try:
        run(
            settings,
            prediction_id,
            lambda engine_, row, work: in_process(settings, engine_, model, row, work),
            engine,
        )
    except SystemExit as exc:  # claim()'s "already ended": a job would exit, a replica must not
        raise BatchFailed(str(exc)) from None


def main(argv: list[str] | None = None) -> None:
    """The Ray job's entrypoint: predict ``--prediction-id``'s dataset with Ray Data; exit 1 when it fails."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="raylake.train_jobs.batch_predict")
    parser.add_argument("--prediction-id", type=int, required=True)
    args = parser.parse_args(argv)
    settings = resolve_settings(Settings())
    engine = make_engine(settings.sqlalchemy_url)
    try:
        run(
            settings,
            args.prediction_id,
            lambda engine_, row, work: with_ray_data(settings, engine_, row, work),
            engine,
        )
    except BatchFailed as exc:
        raise SystemExit(1) from exc
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
