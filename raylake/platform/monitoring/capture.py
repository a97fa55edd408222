"""Prediction capture: every prediction a model makes, in full, in its tenant's lake.

One Iceberg table per registered model, ``gold.prediction_log_<model id>`` (``core/layout.py``; model
ids are never reused), partitioned by ``day(_ts)``: a row per predicted row with the request's id,
time (UTC), model, run, version, caller and source, the row's place in its request (a captured row's
id is ``<request id>.<row>``: the ``capture_id`` answers carry and feedback names), the call's latency,
the prediction (as text, as a number for regression, the predicted class's probability and all
probabilities as JSON), then one column per model input (and Id column) under its own name and type.
A version that adds inputs adds columns (``union_by_name``); an input whose type a later version
changed keeps its first type (values that do not convert are null). An input named like one of the
``_`` columns is stored as ``_input_<name>``.

The table is created on first capture and owned like every lake table (a ``lake_tables`` row, written
first, so a tenant's delete finds it); a model's delete drops it. Appends from several API replicas or
jobs conflict in Iceberg's optimistic commit: pyiceberg retries them on the refreshed table with
exponential backoff (the ``commit.retry.*`` properties the table is created with), reusing the data
files it wrote. Drift and live accuracy read the table back with ``read_captured``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    DoubleType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from raylake.core import types
from raylake.core.layout import feedback_table, prediction_log_table
from raylake.platform import lake
from raylake.platform.datalake.models import LakeTable
from raylake.platform.db import session_scope

log = logging.getLogger(__name__)
NAMESPACE = "gold"


class CaptureSource(StrEnum):
    """Where a captured prediction was asked for."""

    REALTIME = "realtime"  # POST /inference/
    INFER = "infer"  # POST /models/{id}/versions/{v}/infer
    DEPLOYMENT = "deployment"  # POST /deployments/{id}/predict
    BATCH = "batch"  # a batch prediction's rows
    FORECAST = "forecast"  # a forecast's points


# The table's own columns, in order; the model's inputs follow.
RESERVED: tuple[tuple[str, IcebergType, pl.DataType], ...] = (
    ("_request_id", StringType(), pl.String()),
    ("_ts", TimestamptzType(), pl.Datetime("us", "UTC")),
    ("_model_id", LongType(), pl.Int64()),
    ("_train_id", LongType(), pl.Int64()),
    ("_version", IntegerType(), pl.Int32()),
    ("_caller", StringType(), pl.String()),
    ("_source", StringType(), pl.String()),
    ("_latency_ms", DoubleType(), pl.Float64()),
    ("_prediction", StringType(), pl.String()),
    ("_prediction_value", DoubleType(), pl.Float64()),
    ("_probability", DoubleType(), pl.Float64()),
    ("_probabilities", StringType(), pl.String()),
    # Last, so a table made before it keeps its field ids (``evolve`` adds it to those).
    ("_row", IntegerType(), pl.Int32()),
)
RESERVED_NAMES = tuple(name for name, _, _ in RESERVED)
TS_FIELD_ID = 2  # _ts: the partition's source
# A template type's column in the table: its Iceberg type and the polars type it is written from.
INPUT_TYPES: dict[str, tuple[IcebergType, pl.DataType]] = {
    "String": (StringType(), pl.String()),
    "Integer": (LongType(), pl.Int64()),
    "Float": (DoubleType(), pl.Float64()),
    "Boolean": (BooleanType(), pl.Boolean()),
    "Date": (DateType(), pl.Date()),
    "DateTime": (TimestamptzType(), pl.Datetime("us", "UTC")),
}
# Concurrent appenders (API replicas, batch jobs) retry a lost commit race this many times, waiting
# 20 ms doubling to 2 s between tries (pyiceberg's own loop, with jitter).
# Old metadata files are deleted as commits go (20 kept), and old snapshots expired (``KEEP_SNAPSHOTS``):
# a table appended every few seconds would otherwise rewrite an ever longer history at each commit.
TABLE_PROPERTIES = {
    "commit.retry.num-retries": "12",
    "commit.retry.min-wait-ms": "20",
    "commit.retry.max-wait-ms": "2000",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
}
KEEP_SNAPSHOTS = 20
SCHEMA_RETRIES = 8
MODEL_INPUTS = ("Feature", "Time")


class ModelGone(LookupError):
    """The model (or its tenant) was deleted while its rows were on their way to the lake."""


@dataclass(frozen=True)
class ModelVersion:
    """What a captured row says about the version that predicted it, and the columns it fills."""

    tenant_id: str
    model_id: int
    train_id: int
    version: int
    regression: bool
    inputs: tuple[tuple[str, str], ...]  # (name, template type): the model's inputs, then its Id columns
    ids: tuple[str, ...]  # the Id columns: not model inputs, taken from the rows as sent


def model_version(run: Any) -> ModelVersion:
    """A training run (``TrainingRun``, read-only) as its captured rows name it."""
    inputs = [(c["name"], canonical(c["data_type"])) for c in run.columns if c["attribute"] in MODEL_INPUTS]
    ids = [(c["name"], canonical(c["data_type"])) for c in run.columns if c["attribute"] == "Id"]
    return ModelVersion(
        tenant_id=run.tenant_id,
        model_id=run.predictor_id,
        train_id=run.id,
        version=run.version,
        regression=run.problem_type in ("Regression", "Forecasting"),
        inputs=tuple(inputs + ids),
        ids=tuple(name for name, _ in ids),
    )


def canonical(data_type: str) -> str:
    """A template type name or alias as its canonical name."""
    return types.resolve(data_type).value


def column(name: str) -> str:
    """The table column of a model input."""
    return f"_input_{name}" if name in RESERVED_NAMES else name


def table_schema(inputs: Sequence[tuple[str, str]]) -> Schema:
    """The table's schema for these inputs (every field optional)."""
    fields = [NestedField(i, name, kind, required=False) for i, (name, kind, _) in enumerate(RESERVED, 1)]
    for i, (name, data_type) in enumerate(inputs, len(fields) + 1):
        fields.append(NestedField(i, column(name), INPUT_TYPES[data_type][0], required=False))
    return Schema(*fields)


PARTITION = PartitionSpec(
    PartitionField(source_id=TS_FIELD_ID, field_id=1000, transform=DayTransform(), name="_ts_day")
)


def _owned(session: Session, tenant_id: str, name: str) -> None:
    found = session.exec(
        select(LakeTable.id).where(LakeTable.namespace == NAMESPACE, LakeTable.name == name)
    ).first()
    if found is None:
        session.add(LakeTable(tenant_id=tenant_id, namespace=NAMESPACE, name=name, created_by="capture"))


def open_table(
    ctx: lake.Lake, engine: Engine, version: ModelVersion, inputs: Sequence[tuple[str, str]]
) -> Table:
    """The model's capture table with a column for each of ``inputs``: created (owned first) when
    missing, evolved when a version brought new inputs."""
    name, schema = prediction_log_table(version.model_id), table_schema(inputs)
    table = open_owned(ctx, engine, version.tenant_id, version.model_id, name, schema, PARTITION)
    return evolve(table, inputs)


def open_owned(
    ctx: lake.Lake,
    engine: Engine,
    tenant_id: str,
    model_id: int,
    name: str,
    schema: Schema,
    partition: PartitionSpec,
) -> Table:
    """A model's gold table, created when missing: its ``lake_tables`` row first, so a tenant's delete
    finds it (``ModelGone`` when the tenant is gone)."""
    try:
        return lake.load(ctx.catalog, NAMESPACE, name)
    except NoSuchTableError:
        pass
    try:
        with session_scope(engine) as session:
            _owned(session, tenant_id, name)
    except IntegrityError:  # another replica recorded it first, or the tenant is gone
        with session_scope(engine) as session:
            owned = select(LakeTable.id).where(LakeTable.namespace == NAMESPACE, LakeTable.name == name)
            if session.exec(owned).first() is None:
                raise ModelGone(f"model {model_id}'s tenant is gone") from None
    return ctx.catalog.create_table_if_not_exists(
        lake.identifier(NAMESPACE, name),
        schema=schema,
        partition_spec=partition,
        properties=TABLE_PROPERTIES,
    )


def evolve(table: Table, inputs: Iterable[tuple[str, str]]) -> Table:
    """Add the inputs (and reserved columns) the table lacks, by name (a concurrent schema change is
    retried on the fresh one)."""
    wanted: dict[str, IcebergType] = {name: kind for name, kind, _ in RESERVED}
    wanted.update((column(name), INPUT_TYPES[data_type][0]) for name, data_type in inputs)
    for attempt in range(SCHEMA_RETRIES):
        known = {field.name for field in table.schema().fields}
        missing = [(name, kind) for name, kind in wanted.items() if name not in known]
        if not missing:
            return table
        try:
            with table.update_schema() as update:
                for name, kind in missing:
                    update.add_column(name, kind)
            return table
        except CommitFailedException:
            if attempt == SCHEMA_RETRIES - 1:
                raise
            time.sleep(0.02 * 2**attempt)
            table = table.refresh()
    return table


def _polars_type(kind: IcebergType) -> pl.DataType:
    for iceberg, polars in (*((i, p) for _, i, p in RESERVED), *INPUT_TYPES.values()):
        if kind == iceberg:
            return polars
    raise ValueError(f"a capture table has no {kind} columns")


def conform(table: Table, frame: pl.DataFrame) -> pa.Table:
    """The frame as the table's Arrow schema: its columns in order, missing ones null, each cast to the
    table's type (a value that does not convert is null: a version changed that input's type)."""
    target = table.schema().as_arrow()
    arrays = []
    for field, iceberg in zip(target, table.schema().fields, strict=True):
        if field.name not in frame.columns:
            arrays.append(pa.nulls(frame.height, field.type))
            continue
        series = frame[field.name]
        wanted = _polars_type(iceberg.field_type)
        if isinstance(wanted, pl.Datetime) and isinstance(series.dtype, pl.Datetime):
            if series.dtype.time_zone is None:  # the lake's naive timestamps are UTC
                series = series.dt.replace_time_zone("UTC")
            series = series.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        elif series.dtype != wanted:
            series = series.cast(wanted, strict=False)
        arrays.append(series.to_arrow().cast(field.type))
    return pa.Table.from_arrays(arrays, schema=target)


def append(table: Table, frames: Iterable[pl.DataFrame]) -> int:
    """Append the frames as one commit (retried against concurrent writers), then trim the table's
    history; the rows appended."""
    rows = 0
    with table.transaction() as tx:
        for frame in frames:
            if frame.height:
                tx.append(conform(table, frame))
                rows += frame.height
    expire_snapshots(table)
    return rows


def expire_snapshots(table: Table) -> None:
    """Past twice ``KEEP_SNAPSHOTS`` snapshots, expire all but the newest ``KEEP_SNAPSHOTS`` (the log is
    read at its current snapshot; no one travels back in it). Another writer's concurrent commit wins:
    the next append tries again."""
    snapshots = sorted(table.snapshots(), key=lambda snapshot: snapshot.timestamp_ms)
    if len(snapshots) <= 2 * KEEP_SNAPSHOTS:
        return
    current = table.current_snapshot()
    old = [s.snapshot_id for s in snapshots[:-KEEP_SNAPSHOTS] if current is None or s != current]
    try:
        table.maintenance.expire_snapshots().by_ids(old).commit()
    except CommitFailedException:
        log.debug("snapshot expiry of %s lost to a concurrent commit", table.name())


def capture_id(request_id: str, row: int) -> str:
    """A captured row's id: its request's id and its place in the request."""
    return f"{request_id}.{row}"


def split_capture_id(value: str) -> tuple[str, int] | None:
    """A captured row's id as its request id and row (None when it is not one)."""
    request_id, _, row = value.rpartition(".")
    if not request_id or not row.isdigit() or len(row) > 9:
        return None
    return request_id, int(row)


def stamp(results: Sequence[dict[str, Any]], request_id: str) -> None:
    """Give each answered row its ``capture_id`` (the answers are the call's own dicts)."""
    for row, result in enumerate(results):
        result["capture_id"] = capture_id(request_id, row)


_to_json = json.JSONEncoder(separators=(",", ":")).encode  # made once: json.dumps makes one per call


def outputs(
    result: dict[str, Any], regression: bool
) -> tuple[str | None, float | None, float | None, str | None]:
    """A replica's answer for one row as ``_prediction``, ``_prediction_value``, ``_probability`` and
    ``_probabilities``."""
    value = result.get("prediction")
    if value is None:
        text = None
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    number = None
    if regression and isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    probabilities = result.get("probabilities")
    if not probabilities:
        return text, number, None, None
    chosen = probabilities.get(text) if text is not None else None
    if chosen is None:
        chosen = max(probabilities.values())
    return text, number, float(chosen), _to_json(probabilities)


def parse_input(data_type: str, value: Any) -> Any:
    """A value as sent (JSON) as its template type; None when it is not one (Id columns are not checked
    by the prediction routes)."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            return value if data_type == "Boolean" else str(value).lower() if data_type == "String" else None
        return types.parse_value(data_type, str(value))
    except ValueError:
        return None


def forget_table(session: Session, model_id: int) -> None:
    """A model being deleted: its capture and feedback tables' ownership rows (the tables go after,
    ``drop_table``)."""
    session.exec(
        LakeTable.__table__.delete().where(  # type: ignore[attr-defined]
            LakeTable.namespace == NAMESPACE,
            col(LakeTable.name).in_([prediction_log_table(model_id), feedback_table(model_id)]),
        )
    )


def discard_leftovers(ctx: lake.Lake, table: Table) -> bool:
    """After an append failed: whether its table was dropped meanwhile (its model deleted), and if so the
    files the append wrote are removed with the folder (only a deleted model's table is dropped, and
    its folder is not reused: model ids never are)."""
    if ctx.catalog.table_exists(table.name()):
        return False
    fs, path = pafs.FileSystem.from_uri(table.location())
    with contextlib.suppress(OSError):
        fs.delete_dir(path)
    return True


def drop_table(ctx: lake.Lake, model_id: int) -> None:
    """The model's capture and feedback tables and their files (idempotent)."""
    lake.drop(ctx.catalog, NAMESPACE, prediction_log_table(model_id))
    lake.drop(ctx.catalog, NAMESPACE, feedback_table(model_id))


def _scan(table: Table, since: datetime | None, until: datetime | None, version: int | None) -> pl.LazyFrame:
    frame = pl.scan_iceberg(table)
    if since is not None:
        frame = frame.filter(pl.col("_ts") >= utc(since))
    if until is not None:
        frame = frame.filter(pl.col("_ts") < utc(until))
    if version is not None:
        frame = frame.filter(pl.col("_version") == version)
    return frame


def utc(moment: datetime) -> datetime:
    """A moment in UTC (a naive one is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _table(ctx: lake.Lake, model_id: int) -> Table | None:
    try:
        return lake.load(ctx.catalog, NAMESPACE, prediction_log_table(model_id))
    except NoSuchTableError:
        return None


def scan_captured(ctx: lake.Lake, model_id: int) -> tuple[pl.LazyFrame, set[str]] | None:
    """A model's captured rows, lazily, and the table's columns; None when nothing was captured."""
    table = _table(ctx, model_id)
    if table is None:
        return None
    return pl.scan_iceberg(table), {field.name for field in table.schema().fields}


def empty() -> pl.DataFrame:
    """No captured rows: the reserved columns only."""
    return pl.DataFrame(schema={name: kind for name, _, kind in RESERVED})


def read_captured(
    ctx: lake.Lake,
    model_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    columns: Sequence[str] | None = None,
    version: int | None = None,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = True,
) -> pl.DataFrame:
    """A model's captured rows in ``[since, until)`` (of one version), newest first, reading only
    ``columns`` (all when None) and the files of the days asked for; an empty frame when nothing was
    captured."""
    table = _table(ctx, model_id)
    if table is None:
        frame = empty()
        return frame.select(columns) if columns is not None else frame
    scan = _scan(table, since, until, version)
    if columns is not None:
        scan = scan.select(list(dict.fromkeys([*columns, *(["_ts"] if limit is not None else [])])))
    if limit is not None or offset:
        scan = scan.sort("_ts", descending=newest_first, maintain_order=True).slice(offset, limit)
    out = scan.collect()
    return out.select(columns) if columns is not None else out


def count_captured(
    ctx: lake.Lake,
    model_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    version: int | None = None,
) -> int:
    """How many rows ``read_captured`` would find (reading one column)."""
    table = _table(ctx, model_id)
    if table is None:
        return 0
    return int(_scan(table, since, until, version).select(pl.len()).collect().item())
