"""The real-time prediction, shared by ``POST /inference/`` and a registry version's ``infer``.

No database session of its own: the model's description comes from this replica's short-lived cache
(``cache.py``), the caller from the principal cache, and the replica call is awaited on the event loop.
The app's parts are read from ``app.state`` rather than through one dependency each: every dependency
is resolved per request.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.inference import service
from raylake.platform.inference.gateway import ServeGateway
from raylake.platform.inference.log import PredictionLog
from raylake.platform.monitoring import capture
from raylake.platform.monitoring.buffer import CaptureBuffer
from raylake.platform.monitoring.capture import CaptureSource
from raylake.platform.tenancy import Principal
from raylake.schemas.inference import PredictRequest

INLINE_ROWS = 50  # more rows than this are parsed in a worker thread, off the event loop


def _describe(request: Request, principal: Principal, train_id: int) -> service.Servable:
    with session_scope(request.app.state.engine) as session:
        return service.describe(session=session, principal=principal, train_id=train_id)


async def predict(
    request: Request,
    principal: Principal,
    body: PredictRequest,
    source: CaptureSource = CaptureSource.REALTIME,
) -> tuple[service.Prepared, list[dict[str, Any]]]:
    """Predict the request's rows with its model's replicas, log the call and capture its rows (each
    answered row then carries its ``capture_id``)."""
    started = time.perf_counter()
    state = request.app.state
    settings: Settings = state.settings
    gateway: ServeGateway = state.gateway
    prediction_log: PredictionLog = state.prediction_log
    servable = await state.servables.resolve(
        principal, body.train_id, lambda: _describe(request, principal, body.train_id)
    )
    if body.instances is not None and len(body.instances) > INLINE_ROWS:
        prepared = await run_in_threadpool(
            lambda: service.prepare(servable=servable, settings=settings, request=body)
        )
    else:
        prepared = service.prepare(servable=servable, settings=settings, request=body)
    results = await gateway.predict(prepared.key, prepared.app_name, prepared.rows, body.explain)
    run = prepared.run
    if prepared.predictor.capture_predictions:
        buffer: CaptureBuffer = state.capture
        request_id = buffer.add(
            run,
            source=source,
            caller=principal.username,
            rows=prepared.rows,
            sent=[body.features] if body.features is not None else body.instances,
            results=results,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        capture.stamp(results, request_id)
    prediction_log.record(
        tenant_id=run.tenant_id,
        train_id=run.id,  # type: ignore[arg-type]
        predictor_name=prepared.predictor.predictor_name,
        problem_type=run.problem_type,
        domain_name=run.domain,
        username=principal.username,
        accuracy=prepared.accuracy,
        rows=len(prepared.rows),
        sample=body.features if body.features is not None else body.instances[0] if body.instances else None,
    )
    return prepared, results
