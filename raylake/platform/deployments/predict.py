"""Predictions through a deployment: the call resolved to its deployment and version, its rows checked
as the real-time path checks them (``realtime.prepare_rows`` on the version's columns), then sent to
the deployment's own Serve application. Every call is recorded in the operations log (``deps.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from raylake.platform.config import Settings
from raylake.platform.deployments.service import get_deployment
from raylake.platform.errors import Invalid, PayloadTooLarge
from raylake.platform.inference.gateway import ServeGateway
from raylake.platform.inference.loading import model_id
from raylake.platform.inference.realtime import check_preprocess, not_forecasting, prepare_rows
from raylake.platform.monitoring.buffer import CaptureBuffer
from raylake.platform.monitoring.capture import CaptureSource, stamp
from raylake.platform.registry.lifecycle import check_usable
from raylake.platform.registry.models import Predictor
from raylake.platform.tenancy import Principal
from raylake.platform.training.models import TrainingRun
from raylake.schemas.deployments import DeploymentPredict, DeploymentPrediction

INLINE_ROWS = 50  # more rows than this are checked in a worker thread, off the event loop


@dataclass(frozen=True)
class Target:
    """The deployment a call names: what its log row and its replica call need (read-only)."""

    deployment_id: int
    tenant_id: str
    model_id: int
    version: str
    app_name: str
    key: str  # the version's model id, as its replicas load it
    run: TrainingRun  # detached: its columns check the rows
    model: Predictor  # detached: an archived model predicts no more


@dataclass
class Call:
    """One predict call in progress: its caller, its deployment, and how many rows it sent once known."""

    principal: Principal
    target: Target
    rows: int = 0


def target(*, session: Session, principal: Principal, ref: int | str) -> Target:
    """The caller's deployment (404 otherwise) with its version and model."""
    deployment = get_deployment(session=session, principal=principal, ref=ref)
    run = session.get(TrainingRun, deployment.train_id)
    predictor = session.get(Predictor, deployment.model_id)
    assert run is not None and predictor is not None and deployment.id is not None
    key = model_id(run, check_preprocess(run, None))
    session.expunge_all()  # the rows outlive the session (read on the event loop)
    return Target(
        deployment_id=deployment.id,
        tenant_id=deployment.tenant_id,
        model_id=deployment.model_id,
        version=deployment.version,
        app_name=deployment.app_name,
        key=key,
        run=run,
        model=predictor,
    )


def _rows(body: DeploymentPredict, settings: Settings) -> list[dict[str, Any]]:
    if (body.rows is None) == (body.data is None):
        raise Invalid("send either rows (a list of rows) or data (one row)")
    rows = body.rows if body.rows is not None else [body.data or {}]
    if not rows:
        raise Invalid("rows is empty")
    if len(rows) > settings.inference_max_instances:
        raise PayloadTooLarge(
            f"{len(rows)} rows exceed the limit of {settings.inference_max_instances} per call; "
            "use batchPrediction for large inputs"
        )
    return rows


async def predict(
    *,
    settings: Settings,
    gateway: ServeGateway,
    capture: CaptureBuffer,
    call: Call,
    body: DeploymentPredict,
) -> DeploymentPrediction:
    """The rows' predictions from the deployment's replicas (422 naming every problem in the rows; 409
    once its model is archived), captured unless its model says not to."""
    started = time.perf_counter()
    rows = _rows(body, settings)
    call.rows = len(rows)
    check_usable(call.target.model, "used for predictions")
    run = call.target.run
    not_forecasting(run)
    if len(rows) > INLINE_ROWS:
        parsed = await run_in_threadpool(prepare_rows, run, rows)
    else:
        parsed = prepare_rows(run, rows)
    results = await gateway.predict(call.target.key, call.target.app_name, parsed, body.explain)
    if call.target.model.capture_predictions:
        request_id = capture.add(
            run,
            source=CaptureSource.DEPLOYMENT,
            caller=call.principal.username,
            rows=parsed,
            sent=rows,
            results=results,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        stamp(results, request_id)
    return DeploymentPrediction(
        deployment_id=call.target.deployment_id,
        model_id=call.target.model_id,
        version=call.target.version,
        predictions=results,
    )
