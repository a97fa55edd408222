"""The API's way to the model replicas: Serve deployment handles, with a deadline on every call.

The shared pool's handle comes with the API deployment (bound into the same Serve application); a
dedicated deployment is a Serve application of its own, deployed, read and deleted from here, with the
cluster's nodes its placement is checked against. Every call
has a deadline (``inference_timeout_s``), so a replica that died mid-load or is restarting gives the
caller a 503 instead of a hung request; Serve restarts the replica and later calls succeed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import httpx

from raylake.platform.config import Settings
from raylake.platform.errors import Invalid, NotFound, ServiceUnavailable
from raylake.platform.inference.loading import ModelNotServable

log = logging.getLogger(__name__)
ROUTES = 4096  # remembered (app, model id) handles per API replica
FORGET_TIMEOUT_S = 15.0  # a delete waits this long for every replica to drop what it cached
SERVE_DETAILS_TIMEOUT_S = 10.0
NOT_UNDER_SERVE = "this API runs without model replicas (not under Ray Serve)"


class ServeGateway:
    def __init__(self, settings: Settings, pool: Any | None, dedicated: Any | None = None) -> None:
        self._settings = settings
        self._pool = pool
        # (settings, replicas, autoscaling=, actor_options=) -> a Serve application of one version
        self._dedicated = dedicated
        self._apps: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._batches: set[asyncio.Task[None]] = set()  # watched batches (a task needs a reference)
        # (app, model id) -> the handle with that multiplexed model id: made once, not per call
        self._routes: dict[tuple[str | None, str], Any] = {}
        self._api: Any | None = None  # this API deployment's own handle (``forget`` reaches every replica)
        try:  # the replica's event loop, which Serve's handles must be used from
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def _handle(self, app_name: str | None) -> Any:
        if app_name is None:
            if self._pool is None:
                raise ServiceUnavailable(NOT_UNDER_SERVE)
            return self._pool
        handle = self._apps.get(app_name)
        if handle is None:
            from ray import serve

            try:
                handle = serve.get_app_handle(app_name)
            except Exception as exc:  # the deployment was removed behind our back
                raise ServiceUnavailable(f"the dedicated deployment {app_name} is not running") from exc
            with self._lock:
                self._apps[app_name] = handle
        return handle

    async def predict(
        self, key: str, app_name: str | None, rows: list[dict[str, Any]], explain: bool
    ) -> list[dict[str, Any]]:
        """Ask a replica; must run on the event loop (Serve's throughput-optimized handles need it)."""
        return await self._call(key, app_name, "predict", rows, explain)

    async def forecast(
        self, key: str, app_name: str | None, unique_id: str, steps: int, exogenous: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A forecast from the replica serving the model (shared or its dedicated application)."""
        return await self._call(key, app_name, "forecast", unique_id, steps, exogenous)

    async def start_batch(
        self, key: str, app_name: str | None, prediction_id: int, on_failure: Callable[[str], None]
    ) -> None:
        """Hand a batch to the model's replica and watch it from this replica's event loop. The replica
        reports the result itself (the batch callback); ``on_failure`` ends the row when the replica
        could not (it died, or the model went away before it started)."""
        response = (await self._resolve(key, app_name)).batch.remote(prediction_id)
        task = asyncio.get_running_loop().create_task(self._watch(response, prediction_id, on_failure))
        self._batches.add(task)
        task.add_done_callback(self._batches.discard)

    @staticmethod
    async def _watch(response: Any, prediction_id: int, on_failure: Callable[[str], None]) -> None:
        try:
            await response
        except Exception as exc:
            reason = (str(exc).strip().splitlines() or [""])[-1][:500]
            log.warning("batch %s in a model replica failed: %s", prediction_id, type(exc).__name__)
            await asyncio.to_thread(on_failure, f"the model replica could not finish it: {reason}")

    async def _resolve(self, key: str, app_name: str | None) -> Any:
        route = self._routes.get((app_name, key))
        if route is not None:
            return route
        handle: Any = self._apps.get(app_name) if app_name else self._pool
        if handle is None:
            handle = await asyncio.to_thread(self._handle, app_name)
        route = handle.options(multiplexed_model_id=key)
        if len(self._routes) >= ROUTES:
            self._routes.clear()
        self._routes[(app_name, key)] = route
        return route

    async def _call(self, key: str, app_name: str | None, method: str, *args: Any) -> Any:
        from ray.exceptions import RayError

        response = getattr(await self._resolve(key, app_name), method).remote(*args)
        try:
            async with asyncio.timeout(self._settings.inference_timeout_s):
                return await response
        except ModelNotServable as exc:  # deleted between our check and the replica's load
            raise NotFound(f"Model {key.split('/')[1]} not found") from exc
        except LookupError as exc:  # a forecast for a series the model does not know
            raise NotFound(str(exc).splitlines()[-1][:500]) from exc
        except ValueError as exc:  # rows the model refuses (validated before where possible)
            raise Invalid(str(exc).splitlines()[-1][:500]) from exc
        except TimeoutError as exc:
            response.cancel()
            raise ServiceUnavailable(
                f"the model replica did not answer within {self._settings.inference_timeout_s:.0f} s; "
                "retry shortly"
            ) from exc
        except RayError as exc:
            log.warning("model replica call failed: %s", type(exc).__name__)
            raise ServiceUnavailable("the model replica failed (it is restarted); retry shortly") from exc

    def deploy(
        self,
        app_name: str,
        replicas: int,
        *,
        autoscaling: tuple[int, int] | None = None,
        actor_options: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> None:
        """Run (or update) a model's dedicated Serve application: ``replicas`` replicas, or autoscaled
        between ``autoscaling``'s bounds, each with ``actor_options`` (placement). With ``wait``, until
        it runs (only for a placement that fits: Serve waits for good on replicas no node can hold)."""
        from ray import serve

        if self._dedicated is None:
            raise ServiceUnavailable(NOT_UNDER_SERVE)
        app = self._dedicated(self._settings, replicas, autoscaling=autoscaling, actor_options=actor_options)
        try:
            if wait:
                serve.run(app, name=app_name, route_prefix=None)
            else:
                serve.run_many(
                    [serve.RunTarget(app, name=app_name, route_prefix=None)],
                    wait_for_applications_running=False,
                )
        except Exception as exc:
            log.warning("deploying %s failed: %s", app_name, exc)
            raise ServiceUnavailable(f"could not deploy {app_name}: {type(exc).__name__}") from exc
        with self._lock:
            self._apps.pop(app_name, None)
            self._routes.clear()

    def forget(self, prefix: str, *, principals: bool = False) -> None:
        """Make every replica drop what it cached under ``prefix`` (a run's or a tenant's model ids):
        each model replica of the shared pool its loaded models, each API replica its described models
        (and, with ``principals``, its verified callers). Called after a delete is committed, from a
        worker thread: Serve's handles live on this replica's event loop, so the broadcast runs there.
        A replica that cannot be reached is logged (it serves nothing, or its caches lapse within
        ``inference_cache_s``). Outside Serve there are no other replicas."""
        if self._pool is None or self._loop is None:
            return
        work = self._forget(prefix, principals)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:  # on the loop itself: it cannot wait for its own work
            task = self._loop.create_task(work)
            # kept like a watched batch: a task needs a reference
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)
            return
        try:
            asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=2 * FORGET_TIMEOUT_S)
        except Exception as exc:
            log.warning("could not ask every replica to forget %s: %s", prefix, type(exc).__name__)

    async def _forget(self, prefix: str, principals: bool) -> None:
        from ray import serve

        if self._api is None:
            context = serve.get_replica_context()
            self._api = serve.get_deployment_handle(context.deployment, context.app_name)
        handle: Any  # the pool's, then this deployment's: both set by now
        for handle, method, args in (
            (self._pool, "forget", (prefix,)),
            (self._api, "forget", (prefix, principals)),
        ):
            try:
                results = await handle.broadcast(method, *args).results_async(
                    timeout_s=FORGET_TIMEOUT_S, return_exceptions=True
                )
            except Exception as exc:
                log.warning("could not ask every replica to forget %s: %s", prefix, type(exc).__name__)
                continue
            for result in results:
                if isinstance(result, BaseException):
                    log.warning("a replica could not forget %s: %s", prefix, type(result).__name__)

    def undeploy(self, app_name: str) -> None:
        """Remove a model's dedicated Serve application and forget its routes."""
        from ray import serve

        with self._lock:
            self._apps.pop(app_name, None)
            self._routes.clear()
        try:
            serve.delete(app_name, _blocking=False)
        except Exception as exc:
            log.warning("deleting %s failed: %s", app_name, exc)
            raise ServiceUnavailable(f"could not delete {app_name}: {type(exc).__name__}") from exc

    def nodes(self) -> list[dict[str, Any]]:
        """The cluster's nodes as the GCS lists them (``ray.nodes()``: Alive, Resources, Labels, ...)."""
        import ray

        if self._dedicated is None or not ray.is_initialized():
            raise ServiceUnavailable(NOT_UNDER_SERVE)
        try:
            return list(ray.nodes())
        except Exception as exc:
            log.warning("listing the cluster's nodes failed: %s", type(exc).__name__)
            raise ServiceUnavailable("the Ray cluster did not list its nodes; retry shortly") from exc

    def applications(self) -> dict[str, dict[str, Any]]:
        """Serve's details of every application by name (statuses, messages, replicas with their nodes):
        the Serve REST API on the Ray dashboard, the supported way to read them."""
        if self._dedicated is None:
            raise ServiceUnavailable(NOT_UNDER_SERVE)
        url = f"{self._settings.ray_dashboard_url.rstrip('/')}/api/serve/applications/"
        headers = {"Authorization": f"Bearer {self._settings.ray_token()}"}
        try:
            resp = httpx.get(url, headers=headers, timeout=SERVE_DETAILS_TIMEOUT_S)
            resp.raise_for_status()
            return dict(resp.json().get("applications") or {})
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("reading Serve's applications failed: %s", type(exc).__name__)
            raise ServiceUnavailable("Ray Serve did not report its applications; retry shortly") from exc
