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
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.training import artifacts
from raylake.platform.training.models import Predictor, TrainingRun
from raylake.platform.training.service import model_prefix
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


def roles_of(run: TrainingRun) -> dict[str, Any]:
    by = {r["attribute"]: r["name"] for r in run.columns}
    return {
        "time": by["Time"],
        "target": by["Target"],
        "series": by.get("Id"),
        "exog": [r["name"] for r in run.columns if r["attribute"] == "Feature"],
    }


def train(settings: Settings, engine: Engine, run: TrainingRun) -> dict[str, Any]:
    from raylake.train_jobs.train import read_rows

    assert run.id is not None

    progress = runtime.progress(engine, TrainingRun, run.id)
    ctx = lake.open_lake(settings)
    progress("reading", 5)
    rows = read_rows(ctx, engine, run)
    roles, params = roles_of(run), run.params
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
    with session_scope(engine) as session:
        predictor = session.get(Predictor, run.predictor_id)
        predictor_name = predictor.predictor_name if predictor else ""
    schema = [
        {"column_name": r["name"], "data_type": r["data_type"], "attribute_name": r["attribute"]}
        for r in run.columns
        if r["attribute"] in ("Time", "Id", "Feature")
    ]
    artifacts.save_forecaster(
        ctx.store,
        prefix,
        forecaster=result.forecaster,
        schema=schema,
        lineage={
            "train_id": run.id,
            "predictor_name": predictor_name,
            "version": run.version,
            "parent_id": run.parent_id,
            "dataset_id": run.dataset_id,
            "snapshot_id": run.snapshot_id,
            "problem_type": run.problem_type,
            "algorithm": result.forecaster.model,
            "created_at": utcnow().isoformat(),
        },
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
