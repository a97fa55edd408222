"""Model replicas: the shared, multiplexed pool and dedicated per-version deployments.

One deployment class serves both. In the shared pool a request names its model with Serve's multiplexed
model id (``<tenant>/<train_id>/<preprocess_id>``); Serve routes it to a replica that already holds the
model where it can, and each replica keeps an LRU of loaded models. A dedicated deployment
(``inference/deploy``) is the same class in a Serve application of its own with its own replica count.

A replica resolves a model id through the metadata store (``inference/loading.py``), never through a
path from the request. A model id names the run's uid, so a deleted run's cached model can never answer
for a later run; deleting a run or a tenant also asks every replica to drop it (``forget``).
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import polars as pl
from ray import serve
from ray.serve import Application

from raylake.ml.forecast.forecaster import Forecaster
from raylake.platform import models as _all_tables  # noqa: F401  (foreign keys resolve across features)
from raylake.platform.config import Settings
from raylake.platform.db import make_engine
from raylake.platform.inference.loading import Loaded, load_model
from raylake.platform.inference.models import Prediction
from raylake.train_jobs import runtime
from raylake.train_jobs.batch_predict import run_in_replica

POOL_DEPLOYMENT = "models"


class SeriesNotFound(LookupError):
    """A forecast for a series the model was not trained on (the API answers 404)."""


@dataclass(eq=False)
class Held:
    """A loaded model as Serve's multiplexed LRU keeps it: ``forget`` empties it in place, so the memory
    goes at once and the next call that names the id asks the store again, whether or not the LRU has
    let go of the entry."""

    model: Loaded | None


def _deployment(models_per_replica: int) -> Any:
    """The deployment class, with the LRU size fixed when the class is made (Serve reads it statically)."""

    @serve.deployment(
        name=POOL_DEPLOYMENT,
        # Replicas take no CPU reservation: training and batch jobs keep the cluster's CPUs, and a
        # prediction is short. Size them with replicas (autoscaling bounds) instead.
        ray_actor_options={"num_cpus": 0},
        max_ongoing_requests=64,
        health_check_period_s=10,
    )
    class ModelServer:
        def __init__(self, settings: Settings) -> None:
            self._settings = settings
            self._engine = make_engine(settings.sqlalchemy_url)
            self._batches = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")
            # What the LRU holds, by model id; an entry leaves with the LRU's last reference.
            self._held: weakref.WeakValueDictionary[str, Held] = weakref.WeakValueDictionary()

        @serve.multiplexed(max_num_models_per_replica=models_per_replica)
        async def get_model(self, key: str) -> Held:
            """The model with this id, loaded on a miss; Serve keeps the replica's most recent few."""
            held = Held(await asyncio.to_thread(load_model, self._settings, self._engine, key))
            self._held[key] = held
            return held

        async def _model(self) -> Loaded:
            key = serve.get_multiplexed_model_id()
            held = await self.get_model(key)
            if held.model is None:  # forgotten: loaded again only if the store still says it may be
                held.model = await asyncio.to_thread(load_model, self._settings, self._engine, key)
            return held.model

        async def forget(self, prefix: str) -> list[str]:
            """Drop every loaded model whose id starts with ``prefix`` (a deleted or undeployed run's, a
            deleted tenant's); a later call for one loads it again, which a deleted run refuses."""
            dropped = [key for key in list(self._held) if key.startswith(prefix)]
            for key in dropped:
                held = self._held.get(key)
                if held is not None:
                    held.model = None
            return dropped

        async def holding(self) -> list[str]:
            """The model ids this replica can answer for (for operators and tests)."""
            return sorted(key for key, held in list(self._held.items()) if held.model is not None)

        async def predict(self, rows: list[dict[str, Any]], explain: bool = False) -> list[dict[str, Any]]:
            """Predictions for the rows from the request's model (with SHAP values when ``explain``)."""
            model = await self._model()
            if isinstance(model, Forecaster):
                raise ValueError(
                    "a forecasting model answers POST /api/v1/inference/forecast, not predictions"
                )
            if explain:  # SHAP may take a while: keep the event loop free for other requests
                return await asyncio.to_thread(model.predict, rows, explain=True)
            return model.predict(rows)

        async def forecast(
            self, unique_id: str, steps: int, exogenous: list[dict[str, Any]]
        ) -> list[dict[str, Any]]:
            """``steps`` points ahead of one series from the request's forecasting model."""
            model = await self._model()
            if not isinstance(model, Forecaster):
                raise ValueError("this model does not forecast")
            if unique_id not in model.series:
                raise SeriesNotFound(f"series {unique_id!r} is not one the model was trained on")
            try:
                return model.forecast(unique_id, steps, model.future_exog(unique_id, steps, exogenous))
            except pl.exceptions.PolarsError as exc:  # values that do not fit the features: the caller's 422
                raise ValueError(f"the exogenous values do not fit the model: {exc}") from None

        async def batch(self, prediction_id: int) -> None:
            """A batch prediction of a mid-size dataset (``train_jobs/batch_predict.run_in_replica``),
            awaited by the API replica that started it, so Serve counts it as ongoing work.

            Batches run one at a time on the replica's own batch thread: queued ones wait there, not
            in the default executor that model loads and explanations need. The row's lease is renewed
            from the moment the batch is queued (``runtime.lease``)."""
            model = await self._model()
            if isinstance(model, Forecaster):
                raise ValueError("a forecasting model does not predict batches")
            with runtime.lease(self._engine, Prediction, prediction_id):
                await asyncio.get_running_loop().run_in_executor(
                    self._batches, run_in_replica, self._settings, self._engine, model, prediction_id
                )

        async def check_health(self) -> None:
            """Serve's health probe: a replica that answers is healthy."""
            return None

    return ModelServer


def serve_logging(settings: Settings) -> dict[str, Any]:
    """Replica logging for every raylake deployment (the access log is a setting)."""
    return {"enable_access_log": settings.serve_access_log}


def pool_application(settings: Settings) -> Application:
    """The shared pool, autoscaled between the configured bounds."""
    cls = _deployment(settings.inference_models_per_replica)
    return cls.options(
        logging_config=serve_logging(settings),
        autoscaling_config={
            "min_replicas": settings.inference_min_replicas,
            "initial_replicas": settings.inference_min_replicas,
            "max_replicas": max(settings.inference_min_replicas, settings.inference_max_replicas),
            "target_ongoing_requests": 16,
        },
    ).bind(settings)


def dedicated_application(
    settings: Settings,
    replicas: int,
    *,
    autoscaling: tuple[int, int] | None = None,
    actor_options: dict[str, Any] | None = None,
) -> Application:
    """One version's own deployment, with an LRU of one model per replica: a fixed replica count, or
    autoscaled between ``autoscaling``'s (min, max); ``actor_options`` place its replicas (Ray custom
    resources, a label selector; ``placement.actor_options``), otherwise they take no CPU anywhere."""
    scaling: dict[str, Any]
    if autoscaling is None:
        scaling = {"num_replicas": replicas, "autoscaling_config": None}
    else:
        low, high = autoscaling
        scaling = {
            "autoscaling_config": {
                "min_replicas": low,
                "initial_replicas": low,
                "max_replicas": high,
                "target_ongoing_requests": 16,
            }
        }
    return (
        _deployment(1)
        .options(
            ray_actor_options=actor_options or {"num_cpus": 0},
            logging_config=serve_logging(settings),
            **scaling,
        )
        .bind(settings)
    )
