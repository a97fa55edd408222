"""The forecasting half of the training job (``train.py`` hands ``problem_type: Forecasting`` runs here;
its job never imports scikit-learn).

It regularises the snapshot's rows into a panel (the same checks the API ran before submitting), runs
the rolling-origin backtest and the final fit side by side, and saves the chosen forecaster (JSON state
plus LightGBM text: no pickle).

The fits run where the run's ``params["fits"]`` says (``RAYLAKE_FORECAST_FITS`` when it was submitted):
``threads`` in this job's own process, on the CPUs the job reserved (LightGBM and polars release the
GIL; no worker starts, imports or receives the panel: on a 2-core node that start-up was a quarter of
the run), or ``tasks``, one-CPU Ray tasks spread over the cluster, for clusters of several nodes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl
from sqlalchemy import Engine

from raylake.core.layout import model_prefix
from raylake.core.vocabulary import JobStatus
from raylake.ml.forecast import backtest, pipeline
from raylake.ml.forecast.frequency import parse
from raylake.ml.forecast.panel import regularise
from raylake.platform import lake
from raylake.platform.config import Settings
from raylake.platform.training import artifacts, forecasting
from raylake.platform.training.models import TrainingRun
from raylake.platform.training.runs import input_schema
from raylake.train_jobs import runtime
from raylake.train_jobs.inputs import lineage, read_rows


def ray_runner(calls: Sequence[backtest.Call]) -> list[Any]:
    """Each call as a Ray task of one CPU: backtest folds and the final fit run side by side."""
    import ray

    if not ray.is_initialized():
        ray.init(log_to_driver=False)
    remotes: dict[Any, Any] = {}
    stored: dict[int, Any] = {}  # each large argument goes to the object store once, whatever its uses

    def shared(value: Any) -> Any:
        """A frame as its object-store reference (put once, whatever its uses); anything else as it is."""
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


def thread_runner(threads: int) -> backtest.Runner:
    """Each call on a thread of this process, ``threads`` at a time."""

    def run(calls: Sequence[backtest.Call]) -> list[Any]:
        """Each call's result, in order."""
        with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="forecast-fit") as pool:
            return list(pool.map(lambda call: call[0](**call[1]), calls))

    return run


def runner_for(params: dict[str, Any], settings: Settings) -> backtest.Runner:
    """Where a run's backtest fits go: Ray tasks when its params say ``fits: tasks``, else threads here."""
    if params.get("fits") == "tasks":
        return ray_runner
    return thread_runner(int(params.get("threads") or settings.train_cpus))


def train(settings: Settings, engine: Engine, run: TrainingRun) -> dict[str, Any]:
    """Fit a forecasting run (backtest the candidates, keep the best) and save it; the result to report."""
    assert run.id is not None

    progress = runtime.progress(engine, TrainingRun, run.id)
    ctx = lake.open_lake(settings)
    progress("reading", 5)
    rows = read_rows(ctx, engine, run)
    roles, params = forecasting.column_names(run.columns), run.params
    horizon = int(params["horizon"])
    started = time.monotonic()
    panel = regularise(
        rows, **roles, frequency=parse(params["frequency"]), min_history=backtest.min_history(horizon)
    )
    progress("regularised", 15)
    result = pipeline.fit(
        panel,
        horizon=horizon,
        level=float(params["level"]),
        seed=run.seed,
        runner=runner_for(params, settings),
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
                "status": JobStatus.COMPLETED,
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
