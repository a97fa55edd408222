"""The forecasting half of the training job (``train.py`` hands ``problem_type: Forecasting`` runs here).

It regularises the snapshot's rows into a panel (the same checks the API ran before submitting), runs
the rolling-origin backtest and the final fit as Ray tasks spread over the cluster's CPUs, and saves the
chosen forecaster (JSON state plus LightGBM text: no pickle).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import Engine

from raylake.ml.forecast import backtest, pipeline
from raylake.ml.forecast.frequency import parse
from raylake.ml.forecast.panel import regularise
from raylake.platform import lake
from raylake.platform.config import Settings
from raylake.platform.training import artifacts, forecasting
from raylake.platform.training.models import TrainingRun
from raylake.platform.training.service import input_schema, model_prefix
from raylake.train_jobs import runtime


def ray_runner(calls: Sequence[backtest.Call]) -> list[Any]:
    """Each call as a Ray task of one CPU: backtest folds and the final fit run side by side."""
    import ray

    if not ray.is_initialized():
        ray.init(log_to_driver=False)
    remotes: dict[Any, Any] = {}
    stored: dict[int, Any] = {}  # each large argument goes to the object store once, whatever its uses

    def shared(value: Any) -> Any:
        if isinstance(value, pl.DataFrame):
            if id(value) not in stored:
                stored[id(value)] = ray.put(value)
            return stored[id(value)]
        return value

    refs = []
    for fn, kwargs in calls:
        remote = remotes.setdefault(fn, ray.remote(num_cpus=1, max_retries=1)(fn))
        refs.append(remote.remote(**{name: shared(value) for name, value in kwargs.items()}))
    return ray.get(refs)


def train(settings: Settings, engine: Engine, run: TrainingRun) -> dict[str, Any]:
    from raylake.train_jobs.train import lineage, read_rows

    assert run.id is not None

    progress = runtime.progress(engine, TrainingRun, run.id)
    ctx = lake.open_lake(settings)
    progress("reading", 5)
    rows = read_rows(ctx, engine, run)
    roles, params = forecasting.column_names(run.columns), run.params
    horizon = int(params["horizon"])
    started = time.monotonic()
    panel = regularise(
        rows,
        time=roles["time"],
        target=roles["target"],
        series=roles["series"],
        exog=roles["exog"],
        frequency=parse(params["frequency"]),
        min_history=backtest.min_history(horizon),
    )
    progress("regularised", 15)
    result = pipeline.fit(
        panel,
        horizon=horizon,
        level=float(params["level"]),
        seed=run.seed,
        runner=ray_runner,
        progress=progress,
        target=roles["target"],
        candidates=params.get("candidates"),
    )
    progress("saving", 95)
    prefix = model_prefix(run)
    schema = input_schema(run)
    artifacts.save_forecaster(
        ctx.store,
        prefix,
        forecaster=result.forecaster,
        schema=schema,
        lineage=lineage(engine, run, result.forecaster.model),
    )
    seconds = round(time.monotonic() - started, 3)
    candidates = result.metrics["backtest"]["candidates"]
    return {
        "metrics": result.metrics,
        "algorithm": result.forecaster.model,
        "params": {k: params[k] for k in ("horizon", "frequency", "level")},
        "trials": [
            {
                "algorithm": name,
                "params": {},
                "score": -scores["mase"],  # higher is better, as for every trial
                "seconds": seconds,
                "status": "completed",
            }
            for name, scores in candidates.items()
        ],
        "rows": {"train": panel.frame.height, "series": len(panel.series)},
        "input_schema": schema,
        "path": prefix,
        "checkpoint": f"{prefix}/{artifacts.MANIFEST}",
        "preprocess": {
            "storage_key": f"{prefix}/{artifacts.FORECASTER}",
            "encoding": "forecast",
            "feature_names": result.forecaster.spec.names,
        },
        "error": None,
    }
