"""Predict a whole dataset with a trained model, as a Ray job:

    python -m raylake.train_jobs.batch_predict --prediction-id N

``POST /api/v1/inference/batchPrediction`` records the prediction and submits this job. Ray Data reads
the dataset's silver snapshot recorded on the row (the Iceberg files are split across read tasks), a
pool of predictor actors applies the persisted preprocessing and the model to each block (vectorised
polars and numpy; one model load per actor), and the driver streams the results into one Parquet file,
scoring them against the target where the dataset has it. The file becomes the Iceberg table
``gold.prediction_<N>`` (one commit) and a CSV in the file store; the job reports both through
``inference/batch-result``. Any failure removes what was written and is reported as the row's error.

The actor pool is sized to leave a CPU for the read tasks: Ray Data stalls when actors hold every CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from raylake.ml.preprocess import target_labels
from raylake.ml.serving import typed_labels
from raylake.platform import lake
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.db import make_engine, session_scope
from raylake.platform.inference.loading import load_model, model_id
from raylake.platform.inference.models import Prediction
from raylake.platform.inference.service import gold_table_name, predictions_prefix
from raylake.platform.training.models import TrainingRun
from raylake.train_jobs import runtime

log = logging.getLogger("raylake.batch_predict")
KIND = "batch"
BATCH_ROWS = 50_000
PREDICTION, PROBABILITY, ACTUAL = "prediction", "probability", "__actual__"


class BlockPredictor:
    """A Ray Data actor: loads the model once, then predicts block after block."""

    def __init__(self, settings: Settings, key: str, keep: list[str], actual: str | None) -> None:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            self.model = load_model(settings, engine, key)
        finally:
            engine.dispose()
        self.keep, self.actual = keep, actual

    def __call__(self, batch: pa.Table) -> pa.Table:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        pre = self.model.preprocessor
        missing = [c.name for c in pre._columns if c.name not in frame.columns]
        # an optional input the dataset lacks takes its default (the fill), as in real-time calls
        frame = frame.with_columns(pl.lit(None).alias(name) for name in missing)
        X = pre.transform(frame)
        columns: dict[str, Any] = {name: frame[name] for name in self.keep}
        if self.model.classification:
            proba = self.model.model.predict_proba(X)
            assert proba is not None
            columns[PREDICTION] = typed_labels(self.model.preprocessor, np.argmax(proba, axis=1))
            columns[PROBABILITY] = pl.Series(PROBABILITY, proba.max(axis=1))
        else:
            columns[PREDICTION] = pl.Series(PREDICTION, self.model.model.predict(X))
        if self.actual is not None:
            columns[ACTUAL] = frame[self.actual]
        return pl.DataFrame(columns).to_arrow()


class Score:
    """Running accuracy (classification) or R², RMSE and MAE (regression) over the scored rows."""

    def __init__(self, classification: bool) -> None:
        self.classification = classification
        self.n = self.correct = 0
        self.sum = self.sum_sq = self.sse = self.sae = 0.0

    def add(self, predicted: pl.Series, actual: pl.Series) -> None:
        keep = actual.is_not_null()
        if self.classification:
            p, a = target_labels(predicted.filter(keep)), target_labels(actual.filter(keep))
            self.n += a.len()
            self.correct += int((p == a).sum())
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


def predict(settings: Settings, engine: Engine, prediction: Prediction, work: Path) -> dict[str, Any]:
    import ray

    assert prediction.id is not None
    with session_scope(engine) as session:
        run = session.get(TrainingRun, prediction.train_id) if prediction.train_id else None
        dataset = session.get(Dataset, prediction.dataset_id) if prediction.dataset_id else None
        if run is None or run.status != "completed" or run.preprocess_id is None:
            raise LookupError("the model was deleted before the batch job read it")
        if dataset is None:
            raise LookupError("the dataset was deleted before the batch job read it")
        table_name, total = dataset.iceberg_table_name, max(1, dataset.valid_records)
        present = {spec["name"]: spec["data_type"] for spec in dataset.column_specs}
        columns = list(run.columns)
        key = model_id(run.tenant_id, run.id, run.preprocess_id)
    ids = [c["name"] for c in columns if c["attribute"] == "Id" and c["name"] in present]
    inputs = [c["name"] for c in columns if c["attribute"] in ("Feature", "Time") and c["name"] in present]
    target = next(c for c in columns if c["attribute"] == "Target")
    actual = target["name"] if present.get(target["name"]) == target["data_type"] else None

    progress = runtime.progress(engine, Prediction, prediction.id, low=2)
    progress("reading", 5)
    ray.init(log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    if not ids:  # without an Id column, row order is what ties a prediction to its input row
        context.execution_options.preserve_order = True
    cpus = int(ray.cluster_resources().get("CPU", 1))
    dataset_rows = ray.data.read_iceberg(
        table_identifier=lake.identifier("silver", table_name),
        snapshot_id=prediction.snapshot_id,
        catalog_kwargs=lake.catalog_properties(settings),
    ).select_columns([*ids, *inputs, *([actual] if actual and actual not in inputs else [])])
    predicted = dataset_rows.map_batches(
        BlockPredictor,
        fn_constructor_kwargs={"settings": settings, "key": key, "keep": ids, "actual": actual},
        batch_size=BATCH_ROWS,
        batch_format="pyarrow",
        concurrency=max(1, cpus - 1),
        num_cpus=1,
    )
    out = work / "predictions.parquet"
    writer: pq.ParquetWriter | None = None
    score = Score(run.problem_type == "Classification")
    rows = 0
    try:
        for batch in predicted.iter_batches(batch_size=None, batch_format="pyarrow"):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            if actual is not None:
                score.add(frame[PREDICTION], frame[ACTUAL])
                frame = frame.drop(ACTUAL)
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=lake.ROW_GROUP)
            rows += frame.height
            progress("predicting", 5 + int(80 * rows / total))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError("the dataset snapshot has no rows to predict")
    progress("writing", 90)
    return write_outputs(settings, prediction, out, work, rows, score.metrics())


def write_outputs(
    settings: Settings, prediction: Prediction, parquet: Path, work: Path, rows: int, metrics: dict[str, Any]
) -> dict[str, Any]:
    """The gold table (one commit of the finished file) and the CSV; undone if either fails."""
    ctx = lake.open_lake(settings)
    name = gold_table_name(prediction)
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


def run(settings: Settings, prediction_id: int) -> None:
    engine = make_engine(settings.sqlalchemy_url)
    token = runtime.callback_token(settings, KIND, prediction_id)
    work = Path(tempfile.mkdtemp(prefix="raylake-batch-"))
    try:
        row = runtime.claim(engine, Prediction, prediction_id)
        runtime.update(
            engine,
            Prediction,
            prediction_id,
            status="running",
            stage="starting",
            percent=2,
            ray_job_id=runtime.submission_id() or row.ray_job_id,
        )
        try:
            result = predict(settings, engine, row, work)
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
                    engine, Prediction, prediction_id, status="failed", stage="failed", error=message
                )
            raise SystemExit(1) from exc
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
    finally:
        shutil.rmtree(work, ignore_errors=True)
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="raylake.train_jobs.batch_predict")
    parser.add_argument("--prediction-id", type=int, required=True)
    args = parser.parse_args(argv)
    run(resolve_settings(Settings()), args.prediction_id)


if __name__ == "__main__":
    main()
