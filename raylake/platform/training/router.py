"""Training: predictors, training runs, results, SHAP feature importance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from raylake.platform import standby
from raylake.platform.deps import (
    MAX_ID,
    CallbackTokenDep,
    ForgetServables,
    IdPath,
    JobCallback,
    JobsDep,
    LakeDep,
    PageDep,
    SessionDep,
    SettingsDep,
    TrainRead,
    TrainRun,
)
from raylake.platform.inference.deps import GatewayDep
from raylake.platform.jobs import reconcile
from raylake.platform.registry.models import Predictor
from raylake.platform.training import importance, results, runs, service
from raylake.platform.training.models import FeatureImportanceJob, TrainingRun
from raylake.schemas.training import (
    CallbackAck,
    DataMessage,
    DetailsRequest,
    DetailsResponse,
    FeatureImportance,
    ModelSummary,
    RunLogs,
    SchemaDownload,
    ShapResult,
    ShapSubmitted,
    StatusMessage,
    TrainDetail,
    TrainList,
    TrainPublic,
    TrainRequest,
    TrainResult,
    UpdateRequest,
)

router = APIRouter(prefix="/train", tags=["train"])
TrainId = Annotated[int, Query(ge=1, le=MAX_ID)]
DEFAULT_LOG_CHARS, MAX_LOG_CHARS = 100_000, 2_000_000
# The reference's display spelling; "submitted_to_ray" is shown as is, as the reference does.
TRAINING_STATUS = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
MODEL_STATUS = {"completed": "completed", "failed": "failed", "cancelled": "cancelled"}


def public(run: TrainingRun, predictor: Predictor, cls: type[TrainPublic] = TrainPublic) -> TrainPublic:
    """A run as the API shows it: its model's name, accuracy and the reference's status spellings."""
    metrics = run.metrics or {}
    data = run.model_dump()
    data.update(
        predictor_name=predictor.predictor_name,
        accuracy=metrics.get("accuracy"),
        ml_model_status=MODEL_STATUS.get(run.status, "pending"),
        train_status=run.status,
        training_status=TRAINING_STATUS.get(run.status, run.status),
    )
    return cls.model_validate(data)


def importance_public(job: FeatureImportanceJob) -> FeatureImportance:
    """A feature-importance job as the API shows it: status, progress, and the SHAP values once done."""
    return FeatureImportance(
        train_id=job.training_run_id,
        feature_importance=job.result,
        status=job.status,
        stage=job.stage,
        percent=job.percent,
        error=job.error,
        shap_job_id=job.ray_job_id,
    )


@router.post("/", response_model=TrainDetail, status_code=201)
def create(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    jobs: JobsDep,
    principal: TrainRun,
    body: TrainRequest,
) -> TrainPublic:
    """Train a new version of the model ``predictor_name`` as a Ray job: 201 with the run to poll."""
    run = service.create(
        session=session, settings=settings, ctx=ctx, jobs=jobs, principal=principal, request=body
    )
    return public(run, service.predictor_of(session, run), TrainDetail)


@router.post("/get_details", response_model=DetailsResponse)
def get_details(session: SessionDep, principal: TrainRead, body: DetailsRequest) -> dict:
    """What a training form offers for a dataset: its columns, column roles, problem types and algorithms."""
    return service.details(session=session, principal=principal, request=body)


@router.get("/list", response_model=TrainList)
def list_runs(session: SessionDep, principal: TrainRead, page: PageDep) -> TrainList:
    """A page of your tenant's training runs with their models, newest first; and how many there are."""
    rows, total = service.list_runs(session=session, principal=principal, skip=page.skip, limit=page.limit)
    return TrainList(total=total, data=[public(run, predictor) for run, predictor in rows])


@router.get("/refresh", response_model=TrainList)
def refresh(session: SessionDep, jobs: JobsDep, principal: TrainRead, page: PageDep) -> TrainList:
    """The runs list after every unfinished run's status is brought up to date with Ray."""
    rows, total = service.refresh(
        session=session, jobs=jobs, principal=principal, skip=page.skip, limit=page.limit
    )
    return TrainList(total=total, data=[public(run, predictor) for run, predictor in rows])


@router.get("/get/{train_id}", response_model=TrainDetail)
def get_run(session: SessionDep, jobs: JobsDep, principal: TrainRead, train_id: IdPath) -> TrainPublic:
    """A training run, its status brought up to date with its Ray job."""
    run = service.get_run(session=session, principal=principal, train_id=train_id)
    reconcile(session, jobs, run)
    return public(run, service.predictor_of(session, run), TrainDetail)


@router.get("/logs", response_model=RunLogs)
def run_logs(
    session: SessionDep,
    jobs: JobsDep,
    principal: TrainRead,
    train_id: TrainId,
    tail: Annotated[int, Query(ge=1, le=MAX_LOG_CHARS)] = DEFAULT_LOG_CHARS,
) -> RunLogs:
    """A run's log as its Ray job wrote it (the run names its job: ``ray_job_id``, in the dashboard)."""
    return service.logs(session=session, jobs=jobs, principal=principal, train_id=train_id, tail=tail)


@router.delete("/delete/{id}", response_model=StatusMessage, dependencies=[ForgetServables])
def delete(
    session: SessionDep,
    ctx: LakeDep,
    jobs: JobsDep,
    gateway: GatewayDep,
    principal: TrainRun,
    id: IdPath,
) -> StatusMessage:
    """Delete a run: its Ray jobs and deployment stop; its rows, forecast table and artifacts go."""
    service.delete(session=session, ctx=ctx, jobs=jobs, principal=principal, train_id=id, gateway=gateway)
    return StatusMessage(message="Training job deleted successfully")


@router.post("/update/", response_model=DataMessage, dependencies=[ForgetServables])
def update(session: SessionDep, principal: TrainRun, body: UpdateRequest) -> DataMessage:
    """Point a completed run at another preprocessing state that yields exactly its model's features."""
    service.update_preprocess(
        session=session, principal=principal, train_id=body.train_id, preprocess_id=body.preprocess_id
    )
    return DataMessage(data="Model updated successfully")


@router.post("/result", response_model=CallbackAck, dependencies=[JobCallback])
def result(
    session: SessionDep, settings: SettingsDep, jobs: JobsDep, token: CallbackTokenDep, body: TrainResult
) -> CallbackAck:
    """Where a training job reports its outcome or failure; accepted only with that job's callback token."""
    results.record(session=session, settings=settings, jobs=jobs, token=token, body=body)
    standby.refill(session, jobs, settings)  # the run's job (perhaps a standby) is ending: warm the next
    return CallbackAck(message="Result received")


@router.get("/download-schema/{train_id}", response_model=SchemaDownload)
def download_schema(session: SessionDep, principal: TrainRead, train_id: IdPath) -> JSONResponse:
    """The columns a prediction request for this run supplies, as a JSON file to download."""
    run = service.get_run(session=session, principal=principal, train_id=train_id)
    body = SchemaDownload(train_id=train_id, schema=runs.input_schema(run))
    return JSONResponse(
        body.model_dump(by_alias=True),
        headers={"Content-Disposition": f'attachment; filename="train_{train_id}_schema.json"'},
    )


@router.get("/model-summary", response_model=ModelSummary)
def model_summary(session: SessionDep, principal: TrainRead, train_id: TrainId) -> dict:
    """A completed run's metrics, confusion matrix and labels (409 before it completes)."""
    run = service.get_run(session=session, principal=principal, train_id=train_id)
    return service.summary(run)


@router.get("/generate-feature-importance", response_model=ShapSubmitted, status_code=202)
def generate_feature_importance(
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    principal: TrainRun,
    train_id: TrainId,
) -> ShapSubmitted:
    """Start a SHAP feature-importance job for a completed run: 202 with the Ray job id."""
    job = importance.generate(
        session=session, settings=settings, jobs=jobs, principal=principal, train_id=train_id
    )
    return ShapSubmitted(
        message="Feature importance job submitted successfully.", shap_job_id=job.ray_job_id or ""
    )


@router.get("/view-feature-importance", response_model=FeatureImportance)
def view_feature_importance(
    session: SessionDep, jobs: JobsDep, principal: TrainRead, train_id: TrainId
) -> FeatureImportance:
    """A run's latest feature-importance job: its status and progress, and the SHAP values once completed."""
    return importance_public(
        importance.latest(session=session, jobs=jobs, principal=principal, train_id=train_id)
    )


@router.post("/shap-result", response_model=CallbackAck, dependencies=[JobCallback])
def shap_result(
    session: SessionDep, settings: SettingsDep, token: CallbackTokenDep, body: ShapResult
) -> CallbackAck:
    """Where a SHAP job reports its feature importance; accepted only with that job's callback token."""
    importance.record(session=session, settings=settings, token=token, body=body)
    return CallbackAck(message="SHAP result received")


@router.delete("/delete-feature-importance/{train_id}", response_model=StatusMessage)
def delete_feature_importance(
    session: SessionDep, jobs: JobsDep, principal: TrainRun, train_id: IdPath
) -> StatusMessage:
    """Stop a run's unfinished feature-importance jobs and delete all its results."""
    importance.delete(session=session, jobs=jobs, principal=principal, train_id=train_id)
    return StatusMessage(message="Feature importance results deleted successfully")
