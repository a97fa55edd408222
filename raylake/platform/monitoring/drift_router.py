"""A model's drift: checks over captured predictions or a dataset, their reports, the version baselines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from raylake.core.vocabulary import JobStatus
from raylake.platform.deps import (
    CallbackTokenDep,
    JobCallback,
    JobsDep,
    LakeDep,
    SessionDep,
    SettingsDep,
    TrainRead,
    TrainRun,
)
from raylake.platform.monitoring import drift
from raylake.platform.monitoring.drift_models import DriftReport
from raylake.platform.registry.paths import ModelRef
from raylake.schemas.drift import (
    BaselinePublic,
    BaselineRequest,
    DriftCheck,
    DriftJobResult,
    DriftReportPublic,
    DriftReportsPublic,
)
from raylake.schemas.training import CallbackAck

router = APIRouter(tags=["monitoring"])
VersionQuery = Annotated[str | None, Query(min_length=1, max_length=64, description="Number or alias")]
ReportId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _answer(session: SessionDep, response: Response, report: DriftReport) -> DriftReportPublic:
    if report.status != JobStatus.COMPLETED:
        response.status_code = 202  # a Ray job computes it: poll the report
    return drift.public(session, report)


@router.get("/models/{model_id}/drift", response_model=DriftReportPublic)
def check_drift(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    jobs: JobsDep,
    principal: TrainRead,
    response: Response,
    model_id: ModelRef,
    window: Annotated[str | None, Query(max_length=16, description="Seconds or 30m, 24h, 7d")] = None,
    version: VersionQuery = None,
) -> DriftReportPublic:
    """Per-column drift scores and the verdict over a window of the version's captured predictions (the
    model's window and the ``production`` alias's version, else the newest, by default); 202 with the
    report to poll when a Ray job computes it."""
    report = drift.check_window(
        session=session,
        settings=settings,
        ctx=ctx,
        jobs=jobs,
        principal=principal,
        model_id=model_id,
        window=window,
        version=version,
    )
    return _answer(session, response, report)


@router.post("/models/{model_id}/drift", response_model=DriftReportPublic)
def check_dataset_drift(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    jobs: JobsDep,
    principal: TrainRun,
    response: Response,
    model_id: ModelRef,
    body: DriftCheck,
) -> DriftReportPublic:
    """Drift of a dataset's rows against a version's baseline (its inputs; a dataset has no predictions)."""
    report = drift.check_dataset(
        session=session,
        settings=settings,
        ctx=ctx,
        jobs=jobs,
        principal=principal,
        model_id=model_id,
        body=body,
    )
    return _answer(session, response, report)


@router.get("/models/{model_id}/drift/reports", response_model=DriftReportsPublic)
def list_drift_reports(
    session: SessionDep,
    principal: TrainRead,
    model_id: ModelRef,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DriftReportsPublic:
    """A model's drift checks, newest first (scheduled ones too)."""
    rows, total = drift.list_reports(
        session=session, principal=principal, model_id=model_id, limit=limit, offset=offset
    )
    items = [drift.public(session, r) for r in rows]
    return DriftReportsPublic(items=items, total=total, limit=limit, offset=offset)


@router.get("/models/{model_id}/drift/reports/{report_id}", response_model=DriftReportPublic)
def read_drift_report(
    session: SessionDep, jobs: JobsDep, principal: TrainRead, model_id: ModelRef, report_id: ReportId
) -> DriftReportPublic:
    """One drift check, with where its Ray job stands while it runs."""
    report = drift.get_report(
        session=session, jobs=jobs, principal=principal, model_id=model_id, report_id=report_id
    )
    return drift.public(session, report)


@router.get("/models/{model_id}/drift/baseline", response_model=BaselinePublic)
def read_baseline(
    session: SessionDep, ctx: LakeDep, principal: TrainRead, model_id: ModelRef, version: VersionQuery = None
) -> BaselinePublic:
    """A version's baseline: its inputs' bins and the prediction's, with the baseline's counts."""
    run, baseline = drift.read_baseline(
        session=session, ctx=ctx, principal=principal, model_id=model_id, version=version
    )
    return drift.public_baseline(run, baseline)


@router.post("/models/{model_id}/drift/baseline", response_model=BaselinePublic, status_code=201)
def set_baseline(
    session: SessionDep, ctx: LakeDep, principal: TrainRun, model_id: ModelRef, body: BaselineRequest
) -> BaselinePublic:
    """Give a version (an external one, or any) a baseline from a dataset's rows, replacing its own."""
    run, baseline = drift.set_baseline(
        session=session,
        ctx=ctx,
        principal=principal,
        model_id=model_id,
        dataset_id=body.dataset_id,
        version=body.version,
    )
    return drift.public_baseline(run, baseline)


@router.post("/models/drift-result", response_model=CallbackAck, dependencies=[JobCallback])
def drift_result(
    session: SessionDep, settings: SettingsDep, token: CallbackTokenDep, body: DriftJobResult
) -> CallbackAck:
    """A drift job's report (its own callback token only)."""
    drift.record(session=session, settings=settings, token=token, body=body)
    return CallbackAck(message="drift result received")
