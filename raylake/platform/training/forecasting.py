"""What a Forecasting training request must satisfy, checked on the data before any job is submitted.

Columns: one ``Time`` (Date, DateTime, or text that parses as dates), an optional ``Id`` (the series
key; one series when absent), a numeric ``Target``, and ``Feature`` columns as exogenous variables. The
snapshot's rows are regularised here exactly as the job will (``ml/forecast/panel.py``), so unparseable
or duplicate timestamps, an irregular or contradicted frequency and too-short series are a 422 naming
them, not a failed job. The result is the run's forecasting parameters.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from raylake.ml.forecast.backtest import min_history
from raylake.ml.forecast.forecaster import CANDIDATES
from raylake.ml.forecast.frequency import ForecastDataError, parse
from raylake.ml.forecast.panel import regularise
from raylake.platform import lake
from raylake.platform.config import Settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.errors import Invalid
from raylake.schemas.training import TrainRequest

AUTO = "auto"
ALGORITHMS = (AUTO, *CANDIDATES)
TIME_TYPES = {"Date", "DateTime", "String"}
NUMERIC = {"Integer", "Float"}
RESERVED = {"series", "time", "y"}  # the panel's own column names


def algorithm(name: str | None) -> str:
    """The forecasting algorithm's canonical name (auto when none is given); 422 for an unknown one."""
    if name is None or not name.strip():
        return AUTO
    for known in ALGORITHMS:
        if name.strip().lower() == known.lower():
            return known
    raise Invalid(f"algorithm {name!r} is not valid for Forecasting; choose one of {', '.join(ALGORITHMS)}")


def column_names(roles: list[dict[str, Any]]) -> dict[str, Any]:
    """The Time, Id (or None), Target and Feature (exogenous) column names of a Forecasting run's
    roles, keyed as ``regularise`` takes them (``time``, ``series``, ``target``, ``exog``), refusing
    roles that cannot be forecast: the API checks requests with it, the job reads its run's columns
    with it."""

    def named(attribute: str) -> list[dict[str, Any]]:
        """The roles with this attribute, in order."""
        return [r for r in roles if r["attribute"] == attribute]

    times, ids, target = named("Time"), named("Id"), named("Target")[0]
    if not times:
        raise Invalid("Forecasting needs a column with attribute_name Time (its dates or timestamps)")
    if times[0]["data_type"] not in TIME_TYPES:
        raise Invalid(
            f"the Time column {times[0]['name']!r} is {times[0]['data_type']}, not Date or DateTime"
        )
    if len(ids) > 1:
        raise Invalid(
            f"at most one Id column (the series key) is allowed, got {', '.join(r['name'] for r in ids)}"
        )
    if target["data_type"] not in NUMERIC:
        raise Invalid(f"Forecasting needs a numeric target; {target['name']!r} is {target['data_type']}")
    exog = [r["name"] for r in named("Feature")]
    dated = [r["name"] for r in named("Feature") if r["data_type"] in ("Date", "DateTime")]
    if dated:
        raise Invalid(
            f"date columns cannot be exogenous features ({', '.join(dated)}): the model derives calendar "
            "features from the Time column; mark them Ignore"
        )
    clashing = sorted(set(exog) & RESERVED)
    if clashing:
        raise Invalid(
            f"rename feature columns {', '.join(clashing)}: those names are reserved for forecasting"
        )
    return {
        "time": times[0]["name"],
        "series": ids[0]["name"] if ids else None,
        "target": target["name"],
        "exog": exog,
    }


def check(
    *,
    ctx: lake.Lake,
    settings: Settings,
    dataset: Dataset,
    roles: list[dict[str, Any]],
    request: TrainRequest,
) -> dict[str, Any]:
    """The run's parameters (horizon, frequency, level, candidates), or a 422 naming what is wrong."""
    if request.params:
        raise Invalid("params are not used by Forecasting: set forecast_horizon, frequency, interval_level")
    if request.shap_enabled:
        raise Invalid("shap_enabled is not available for Forecasting")
    names = column_names(roles)
    chosen = algorithm(request.algorithm)
    try:
        given = parse(request.frequency) if request.frequency else None
        table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
        columns = [
            names["time"],
            names["target"],
            *([names["series"]] if names["series"] else []),
            *names["exog"],
        ]
        rows = pl.scan_iceberg(table, snapshot_id=dataset.snapshot_id).select(columns).collect()
        panel = regularise(rows, **names, frequency=given, min_history=2)
    except ForecastDataError as exc:
        raise Invalid(f"dataset {dataset.dataset_name!r}: {exc}") from None
    horizon = request.forecast_horizon or panel.frequency.horizon
    if horizon > settings.forecast_max_steps:
        raise Invalid(
            f"forecast_horizon {horizon} is above the maximum of {settings.forecast_max_steps} steps"
        )
    needed = min_history(horizon)
    if panel.report["shortest_length"] < needed:
        raise Invalid(
            f"series {panel.report['shortest_series']!r} has {panel.report['shortest_length']} observations; "
            f"a horizon of {horizon} {panel.frequency.name} steps needs at least {needed} per series "
            "(shorten forecast_horizon or add history)"
        )
    return {
        "horizon": horizon,
        "frequency": panel.frequency.name,
        "level": request.interval_level,
        "candidates": list(CANDIDATES) if chosen == AUTO else [chosen],
        "fits": settings.forecast_fits,
        "threads": settings.train_cpus,
        "data": panel.report,
    }
