"""Captured rows of the predictions that are not one call's rows: a batch's blocks (appended by the job
that predicted them, once its result is accepted) and a forecast's points."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
from sqlalchemy import Engine

from raylake.platform.lake import Lake
from raylake.platform.monitoring import capture
from raylake.platform.monitoring.capture import CaptureSource, ModelVersion

CARRIED = "__capture__"  # the prefix of the input columns a batch block carries for its captured rows
APPEND_ROWS = 250_000  # rows per Arrow table appended (bounded memory; one commit for the whole file)


def carried(name: str) -> str:
    """The name of an input column a predicted block carries to its captured rows."""
    return f"{CARRIED}{name}"


def batch_block(
    version: ModelVersion,
    block: pl.DataFrame,
    *,
    request_id: str,
    ts: datetime,
    caller: str,
    prediction: str,
    probability: str | None,
    first_row: int,
) -> pl.DataFrame:
    """A predicted block (its ``prediction``, ``probability`` and carried input columns) as captured
    rows: one request id and time for the whole batch, no latency (rows are predicted by the block),
    rows numbered from ``first_row`` (the block's place in the batch's result)."""
    inputs = [
        pl.col(carried(name)).alias(capture.column(name))
        for name, _ in version.inputs
        if carried(name) in block.columns
    ]
    value = pl.col(prediction).cast(pl.Float64, strict=False) if version.regression else pl.lit(None)
    chosen = pl.col(probability) if probability is not None and probability in block.columns else pl.lit(None)
    return block.select(
        pl.lit(request_id, pl.String).alias("_request_id"),
        pl.lit(ts, pl.Datetime("us", "UTC")).alias("_ts"),
        pl.lit(version.model_id, pl.Int64).alias("_model_id"),
        pl.lit(version.train_id, pl.Int64).alias("_train_id"),
        pl.lit(version.version, pl.Int32).alias("_version"),
        pl.lit(caller, pl.String).alias("_caller"),
        pl.lit(CaptureSource.BATCH.value, pl.String).alias("_source"),
        pl.lit(None, pl.Float64).alias("_latency_ms"),
        pl.col(prediction).cast(pl.String).alias("_prediction"),
        value.cast(pl.Float64).alias("_prediction_value"),
        chosen.cast(pl.Float64).alias("_probability"),
        pl.lit(None, pl.String).alias("_probabilities"),
        (pl.int_range(pl.len(), dtype=pl.Int32) + first_row).alias("_row"),
        *inputs,
    )


def append_file(ctx: Lake, engine: Engine, version: ModelVersion, path: Path) -> int:
    """A batch's captured rows (a Parquet file of ``batch_block`` frames) appended as one commit; the
    rows appended."""
    table = capture.open_table(ctx, engine, version, version.inputs)
    parquet = pq.ParquetFile(path)
    frames = (pl.from_arrow(batch) for batch in parquet.iter_batches(batch_size=APPEND_ROWS))
    return capture.append(table, (f for f in frames if isinstance(f, pl.DataFrame)))


def forecast_rows(
    run: Any, unique_id: str, exogenous: Sequence[dict[str, Any]], points: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """A forecast's points as captured rows: the step's time and the future exogenous values it used
    (its inputs), its series (its Id column, as sent) and its value (the prediction)."""
    time = next(c for c in run.columns if c["attribute"] == "Time")
    series = next((c["name"] for c in run.columns if c["attribute"] == "Id"), None)
    kind = capture.canonical(time["data_type"])
    future = {capture.parse_input(kind, row.get("time")): row for row in exogenous}
    rows, sent, results = [], [], []
    for point in points:
        at = capture.parse_input(kind, point.get("date"))
        rows.append({**{k: v for k, v in future.get(at, {}).items() if k != "time"}, time["name"]: at})
        sent.append({series: unique_id} if series else {})
        results.append({"prediction": point.get("value")})
    return rows, sent, results
