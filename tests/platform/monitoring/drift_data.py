"""Test data for drift: a churn-like population (optionally shifted on one input), a version whose
baseline is built from it as training builds one, and a capture table written to the prediction log's
contract (``gold.prediction_log_<model id>``, partitioned by day of ``_ts``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import numpy as np
import polars as pl
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyiceberg.types import (
    DoubleType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)
from sqlmodel import Session

from raylake.core.layout import prediction_log_table
from raylake.core.vocabulary import ModelStatus
from raylake.platform import lake
from raylake.platform.monitoring import drift_baseline
from raylake.platform.registry.models import Predictor
from raylake.platform.tenancy import Principal
from raylake.platform.training.models import TrainingRun
from tests.factories import add_version, draft_model

ROLES = [
    {"name": "tenure", "data_type": "Integer", "attribute": "Feature"},
    {"name": "plan", "data_type": "String", "attribute": "Feature"},
    {"name": "charges", "data_type": "Float", "attribute": "Feature"},
    {"name": "churn", "data_type": "Boolean", "attribute": "Target"},
]
RESERVED = [
    ("_request_id", StringType()),
    ("_ts", TimestamptzType()),
    ("_model_id", LongType()),
    ("_train_id", LongType()),
    ("_version", IntegerType()),
    ("_caller", StringType()),
    ("_source", StringType()),
    ("_latency_ms", DoubleType()),
    ("_prediction", StringType()),
    ("_prediction_value", DoubleType()),
    ("_probability", DoubleType()),
    ("_probabilities", StringType()),
]
INPUTS = [("tenure", LongType()), ("plan", StringType()), ("charges", DoubleType())]


def population(n: int, seed: int, tenure_shift: int = 0) -> pl.DataFrame:
    """Customers; the label depends on charges only, so shifting tenure leaves the predictions alone."""
    rng = np.random.default_rng(seed)
    charges = rng.gamma(4.0, 15.0, n)
    return pl.DataFrame(
        {
            "tenure": rng.integers(1, 60, n) + tenure_shift,
            "plan": rng.choice(["basic", "pro", "team"], n, p=[0.6, 0.3, 0.1]),
            "charges": charges,
            "churn": charges > 80,
        }
    )


def labels(frame: pl.DataFrame) -> list[str]:
    """What the model predicts: the rule the labels follow, as the labels' text."""
    return ["true" if value else "false" for value in frame["charges"] > 80]


def trained_version(session: Session, ctx: lake.Lake, principal: Principal) -> tuple[Predictor, TrainingRun]:
    """A trained classifier whose version has the baseline a training job writes (5,000 training rows,
    the last 15% as its held-out predictions)."""
    model = draft_model(session, principal, task="binary_classification")
    run = add_version(session, model, columns=ROLES, problem_type="Classification")
    model.status = ModelStatus.TRAINED
    session.add(model)
    session.flush()
    frame = population(5_000, seed=1)
    baseline = drift_baseline.build(
        frame,
        ROLES,
        problem_type="Classification",
        predictions=labels(frame.tail(750)),
        source={"kind": "training"},
    )
    drift_baseline.save(ctx.store, run, baseline)
    return model, run


def capture_table(ctx: lake.Lake, model_id: int) -> Table:
    """The model's prediction log, as capture creates it."""
    fields = [*RESERVED, *INPUTS]
    schema = Schema(
        *(NestedField(i, name, kind, required=False) for i, (name, kind) in enumerate(fields, start=1))
    )
    spec = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=DayTransform(), name="_ts_day"))
    return ctx.catalog.create_table(
        lake.identifier("gold", prediction_log_table(model_id)), schema=schema, partition_spec=spec
    )


def capture(table: Table, run: TrainingRun, frame: pl.DataFrame, at: datetime) -> None:
    """Append a frame's rows as one version's captured predictions, one a second up to ``at``."""
    n = frame.height
    rows = frame.drop("churn").with_columns(
        _request_id=pl.Series([uuid4().hex for _ in range(n)]),
        _ts=pl.Series([at - timedelta(seconds=n - i) for i in range(n)], dtype=pl.Datetime("us", "UTC")),
        _model_id=pl.lit(run.predictor_id, pl.Int64),
        _train_id=pl.lit(run.id, pl.Int64),
        _version=pl.lit(run.version, pl.Int32),
        _caller=pl.lit("tester"),
        _source=pl.lit("realtime"),
        _latency_ms=pl.lit(1.0),
        _prediction=pl.Series(labels(frame)),
        _prediction_value=pl.lit(None, pl.Float64),
        _probability=pl.lit(0.9),
        _probabilities=pl.lit(None, pl.String),
    )
    names = [name for name, _ in [*RESERVED, *INPUTS]]
    table.append(rows.select(names).to_arrow().cast(table.schema().as_arrow()))
