"""Forecasts: what a forecast request must hold, where its future exogenous values come from, and its
record (a prediction-log row plus the points appended to the model's ``gold.forecast_<train_id>`` table).

Checked here, before a replica is asked: the model (tenant, completed, a forecasting model), the
preprocessing id, ``steps`` (1 to ``forecast_max_steps``), a frequency that matches the trained one,
and that future values of every exogenous feature are supplied at all. The replica then checks the
series exists (404) and that each step has its values (422 naming the missing dates).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
from pyiceberg.exceptions import NoSuchTableError
from sqlmodel import Session, select

from raylake.core.layout import forecast_table
from raylake.core.vocabulary import JobStatus
from raylake.ml.forecast.frequency import ForecastDataError, parse
from raylake.ml.forecast.panel import SINGLE_SERIES
from raylake.platform import lake
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.datalake.models import LakeTable
from raylake.platform.errors import Invalid
from raylake.platform.inference.loading import model_id
from raylake.platform.inference.models import Prediction
from raylake.platform.inference.realtime import (
    RowProblems,
    check_preprocess,
    dedicated_app,
    readable_dataset,
    servable_run,
)
from raylake.platform.registry.models import Predictor
from raylake.platform.tenancy import Principal
from raylake.platform.training.models import TrainingRun
from raylake.schemas.inference import ForecastRequest

GOLD_SCHEMA = pa.schema(
    [
        ("prediction_id", pa.int64()),
        ("unique_id", pa.string()),
        ("date", pa.string()),
        ("value", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
        ("confidence", pa.float64()),
        ("created_at", pa.timestamp("us")),
    ]
)


@dataclass(frozen=True)
class PreparedForecast:
    key: str
    app_name: str | None
    unique_id: str
    steps: int
    exogenous: list[dict[str, Any]]
    run: TrainingRun
    predictor: Predictor
    frequency: str


def prepare(
    *, session: Session, settings: Settings, ctx: lake.Lake, principal: Principal, request: ForecastRequest
) -> PreparedForecast:
    """A forecast request checked against its model (steps, frequency, series, future exogenous values)."""
    run, predictor = servable_run(session=session, principal=principal, train_id=request.train_id)
    if run.problem_type != "Forecasting":
        raise Invalid(f"model {run.id} is a {run.problem_type} model: use POST /api/v1/inference/ instead")
    preprocess_id = check_preprocess(run, request.preprocess_id)
    if not 1 <= request.steps <= settings.forecast_max_steps:
        raise Invalid(f"steps must be between 1 and {settings.forecast_max_steps}, not {request.steps}")
    trained = parse(run.params["frequency"])
    if request.frequency:
        try:
            asked = parse(request.frequency)
        except ForecastDataError as exc:
            raise Invalid(str(exc)) from None
        if asked.every != trained.every:
            raise Invalid(f"model {run.id} forecasts {trained.name} steps, not {asked.name}")
    roles = {r["attribute"]: r for r in run.columns}
    series_column = roles.get("Id")
    unique_id = request.unique_id
    if unique_id is None:
        if series_column is not None:
            raise Invalid(
                f"unique_id is required: model {run.id} forecasts one series per {series_column['name']!r}"
            )
        unique_id = SINGLE_SERIES
    features = [c for c in run.columns if c["attribute"] == "Feature"]
    exogenous: list[dict[str, Any]] = []
    if features:
        if request.dataset_id is not None and request.exogenous is not None:
            raise Invalid("send future exogenous values either as dataset_id or as exogenous, not both")
        if request.dataset_id is not None:
            exogenous = _dataset_rows(session, ctx, principal, request.dataset_id, run, unique_id)
        elif request.exogenous is not None:
            exogenous = _inline_rows(run, request.exogenous)
        else:
            names = ", ".join(c["name"] for c in features)
            raise Invalid(
                f"model {run.id} needs future values of {names}: send exogenous rows or a dataset_id"
            )
    app_name = dedicated_app(session, run)
    session.expunge_all()
    return PreparedForecast(
        key=model_id(run, preprocess_id),
        app_name=app_name,
        unique_id=unique_id,
        steps=request.steps,
        exogenous=exogenous,
        run=run,
        predictor=predictor,
        frequency=trained.name,
    )


def _time_column(run: TrainingRun) -> dict[str, Any]:
    return next(c for c in run.columns if c["attribute"] == "Time")


def _inline_rows(run: TrainingRun, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ``{<Time column>: ..., <feature>: ...}`` parsed as the template's types."""
    time = _time_column(run)["name"]
    features = {c["name"]: c for c in run.columns if c["attribute"] == "Feature"}
    out, problems = [], RowProblems()
    for index, row in enumerate(rows):
        where = f"exogenous row {index}: "
        if row.get(time) is None:
            problems.note(f"{where}no {time!r} value")
            continue
        parsed: dict[str, Any] = {"time": str(row[time])}
        for name, value in row.items():
            if name in features and value is not None:
                parsed[name] = problems.parsed(where, name, features[name]["data_type"], value)
            elif name not in features and name != time:
                problems.note(f"{where}unknown column {name!r}")
        out.append(parsed)
        if problems.full:
            break
    problems.raise_any()
    return out


def _dataset_rows(
    session: Session, ctx: lake.Lake, principal: Principal, dataset_id: int, run: TrainingRun, unique_id: str
) -> list[dict[str, Any]]:
    dataset = readable_dataset(session, principal, dataset_id)
    time = _time_column(run)["name"]
    series = next((c["name"] for c in run.columns if c["attribute"] == "Id"), None)
    features = [c["name"] for c in run.columns if c["attribute"] == "Feature"]
    present = {spec["name"] for spec in dataset.column_specs}
    missing = [c for c in [time, *([series] if series else []), *features] if c not in present]
    if missing:
        raise Invalid(f"dataset {dataset.dataset_name!r} lacks the columns {', '.join(missing)}")
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    frame = pl.scan_iceberg(table, snapshot_id=dataset.snapshot_id)
    if series:
        frame = frame.filter(pl.col(series).cast(pl.String) == unique_id)
    rows = frame.select(pl.col(time).cast(pl.String).alias("time"), *features).collect()
    return rows.to_dicts()


def record(
    *,
    session: Session,
    ctx: lake.Lake,
    prepared: PreparedForecast,
    points: list[dict[str, Any]],
    username: str,
) -> Prediction:
    """Log the forecast and append its points to the model's gold table (created on first use)."""
    run = prepared.run
    prediction = Prediction(
        tenant_id=run.tenant_id,
        train_id=run.id,
        dataset_id=run.dataset_id,
        predictor_name=prepared.predictor.predictor_name,
        problem_type=run.problem_type,
        domain_name=run.domain,
        prediction_type="forecast",
        input_data=json.dumps({"unique_id": prepared.unique_id, "steps": prepared.steps}),
        status=JobStatus.COMPLETED,
        stage="done",
        percent=100,
        no_of_records=len(points),
        created_by=username,
        finished_at=utcnow(),
    )
    session.add(prediction)
    session.flush()
    name = forecast_table(run)
    rows = pa.Table.from_pylist(
        [
            {"prediction_id": prediction.id, "unique_id": prepared.unique_id, "created_at": utcnow(), **p}
            for p in points
        ],
        schema=GOLD_SCHEMA,
    )
    try:
        table = lake.load(ctx.catalog, "gold", name)
    except NoSuchTableError:
        table = ctx.catalog.create_table_if_not_exists(lake.identifier("gold", name), schema=GOLD_SCHEMA)
        owned = session.exec(
            select(LakeTable).where(LakeTable.namespace == "gold", LakeTable.name == name)
        ).first()
        if owned is None:
            session.add(
                LakeTable(tenant_id=run.tenant_id, namespace="gold", name=name, created_by="forecast")
            )
    lake.with_commit_retry(table, lambda t: t.append(rows))
    prediction.gold_table = f"gold.{name}"
    session.add(prediction)
    session.flush()
    return prediction
