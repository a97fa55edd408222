"""Inference: real-time, form-based and batch predictions, the prediction log."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from raylake.platform.db import session_scope
from raylake.platform.deployments import service as deployments
from raylake.platform.deps import (
    MAX_ID,
    CallbackTokenDep,
    ForgetServables,
    IdPath,
    InferenceRead,
    InferenceRun,
    JobCallback,
    JobsDep,
    LakeDep,
    PageDep,
    SessionDep,
    SettingsDep,
)
from raylake.platform.inference import cleanup, forecasts, hotpath, service
from raylake.platform.inference.deps import GatewayDep, LogDep
from raylake.platform.inference.models import Prediction
from raylake.platform.monitoring import capture, sources
from raylake.schemas.inference import (
    BatchCallback,
    BatchRequest,
    BatchResult,
    BatchSubmitted,
    DeployResponse,
    ForecastRequest,
    ForecastResponse,
    FormResponse,
    PredictionLogEntry,
    PredictRequest,
    PredictResponse,
)
from raylake.schemas.inference import PredictionLog as PredictionLogOut
from raylake.schemas.training import CallbackAck, StatusMessage

router = APIRouter(prefix="/inference", tags=["inference"])
ModelId = Annotated[int, Query(ge=1, le=MAX_ID)]


@router.post("/", response_model=PredictResponse, response_model_exclude_none=True)
async def predict(request: Request, principal: InferenceRun, body: PredictRequest) -> dict:
    """The hot path (``hotpath.py``): no database session, no per-part dependencies."""
    prepared, results = await hotpath.predict(request, principal, body)
    return service.response(prepared, results)


@router.post("/forecast", response_model=ForecastResponse)
async def forecast(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    gateway: GatewayDep,
    principal: InferenceRun,
    body: ForecastRequest,
) -> dict:
    """A forecast from a forecasting model's replica; logged, appended to ``gold.forecast_<train_id>`` and
    captured in the lake."""
    started = time.perf_counter()
    prepared = await run_in_threadpool(
        lambda: forecasts.prepare(
            session=session, settings=settings, ctx=ctx, principal=principal, request=body
        )
    )
    points = await gateway.forecast(
        prepared.key, prepared.app_name, prepared.unique_id, prepared.steps, prepared.exogenous
    )
    prediction = await run_in_threadpool(
        lambda: forecasts.record(
            session=session, ctx=ctx, prepared=prepared, points=points, username=principal.username
        )
    )
    if prepared.predictor.capture_predictions:
        rows, sent, results = sources.forecast_rows(
            prepared.run, prepared.unique_id, prepared.exogenous, points
        )
        request.app.state.capture.add(
            prepared.run,
            source=capture.CaptureSource.FORECAST,
            caller=principal.username,
            rows=rows,
            sent=sent,
            results=results,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
    return {
        "train_id": prepared.run.id,
        "prediction_id": prediction.id,
        "unique_id": prepared.unique_id,
        "frequency": prepared.frequency,
        "model": prepared.run.model_algorithm,
        "forecast": points,
    }


@router.get("/form-based-prediction", response_model=FormResponse)
def form_based_prediction(session: SessionDep, ctx: LakeDep, principal: InferenceRead, id: ModelId) -> dict:
    """A model's prediction form: its inputs with types, defaults and the categories seen in training."""
    return service.form(session=session, ctx=ctx, principal=principal, train_id=id)


# Both spellings are the reference's: batchPrediction (its section 9.2), batch-prediction (its summary).
@router.post("/batch-prediction", response_model=BatchSubmitted, status_code=202)
@router.post("/batchPrediction", response_model=BatchSubmitted, status_code=202)
async def batch_prediction(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    gateway: GatewayDep,
    principal: InferenceRun,
    body: BatchRequest,
) -> BatchSubmitted:
    """A Ray job for large inputs; mid-size ones go to the model's replica (``service.submit_batch``)."""
    prediction, replica = await run_in_threadpool(
        lambda: service.submit_batch(
            session=session,
            settings=settings,
            jobs=jobs,
            principal=principal,
            train_id=body.train_id,
            dataset_id=body.dataset_id,
        )
    )
    if replica is not None:
        assert prediction.id is not None
        engine, prediction_id = request.app.state.engine, prediction.id

        def fail(reason: str) -> None:
            """End the batch prediction's row with the reason when the model's replica could not report it."""
            with session_scope(engine) as own:
                service.fail_batch(own, prediction_id, reason)

        await gateway.start_batch(replica.key, replica.app_name, prediction_id, fail)
    return BatchSubmitted(
        message="Batch prediction job started successfully.",
        prediction_id=prediction.id,
        status=prediction.status,
        ray_job_id=prediction.ray_job_id,
    )


def _result(prediction: Prediction) -> BatchResult:
    return BatchResult(prediction_id=prediction.id, **prediction.model_dump(exclude={"id"}))


@router.get("/result", response_model=BatchResult)
def result(
    session: SessionDep, jobs: JobsDep, principal: InferenceRead, prediction_id: ModelId
) -> BatchResult:
    """A batch prediction's status, brought up to date with its Ray job, and its outputs once completed."""
    return _result(
        service.get_prediction(session=session, jobs=jobs, principal=principal, prediction_id=prediction_id)
    )


@router.post("/batch-result", response_model=CallbackAck, dependencies=[JobCallback])
def batch_result(
    session: SessionDep, settings: SettingsDep, token: CallbackTokenDep, body: BatchCallback
) -> CallbackAck:
    """Where a batch job reports its result; accepted only with that job's callback token."""
    service.record_batch(session=session, settings=settings, token=token, body=body)
    return CallbackAck(message="Batch result received")


@router.get("/predictions", response_model=PredictionLogOut)
def predictions(
    session: SessionDep,
    prediction_log: LogDep,
    principal: InferenceRead,
    page: PageDep,
    train_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> PredictionLogOut:
    """A page of the prediction log (one model's, or your tenant's), newest first, the latest included."""
    prediction_log.flush()
    rows, total = service.list_predictions(
        session=session, principal=principal, train_id=train_id, skip=page.skip, limit=page.limit
    )
    return PredictionLogOut(
        total=total,
        data=[
            PredictionLogEntry(prediction_id=p.id, date=p.created_at, **p.model_dump(exclude={"id"}))
            for p in rows
        ],
    )


@router.delete("/predictions/{prediction_id}", response_model=StatusMessage)
def delete_prediction(
    session: SessionDep, ctx: LakeDep, jobs: JobsDep, principal: InferenceRun, prediction_id: IdPath
) -> StatusMessage:
    """A prediction and what it wrote: its gold table, CSV and file row (a forecast: its points)."""
    cleanup.delete(session=session, ctx=ctx, jobs=jobs, principal=principal, prediction_id=prediction_id)
    return StatusMessage(message="Prediction deleted successfully")


@router.post("/deploy", response_model=DeployResponse, status_code=201, dependencies=[ForgetServables])
def deploy(
    session: SessionDep,
    gateway: GatewayDep,
    principal: InferenceRun,
    train_id: ModelId,
    replicas: Annotated[int, Query(ge=1, le=16)] = 1,
) -> DeployResponse:
    """A thin alias of ``POST /deployments`` for one training run (rescales an existing deployment)."""
    deployment = deployments.deploy_version(
        session=session, gateway=gateway, principal=principal, train_id=train_id, replicas=replicas
    )
    return DeployResponse(
        train_id=train_id,
        app_name=deployment.app_name,
        replicas=deployment.replicas,
        message=f"Model {train_id} is served by its own deployment with {deployment.replicas} replica(s)",
    )


@router.delete("/deploy", response_model=StatusMessage, dependencies=[ForgetServables])
def undeploy(
    session: SessionDep, gateway: GatewayDep, principal: InferenceRun, train_id: ModelId
) -> StatusMessage:
    """A thin alias of ``DELETE /deployments/{id}`` for one training run."""
    name = deployments.undeploy_version(
        session=session, gateway=gateway, principal=principal, train_id=train_id
    )
    return StatusMessage(message=f"Deployment {name} removed; model {train_id} is served by the shared pool")
