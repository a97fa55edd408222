"""Drift checks of a model's versions: a window of its captured predictions (``GET /models/{id}/drift``)
or a dataset (``POST``) compared with the version's baseline, kept as a report.

A check whose rows may number more than ``drift_job_rows`` (counted from the lake's manifests, no data
read) runs as a Ray job (``train_jobs/drift.py``) that reports through ``models/drift-result``; smaller
ones run in the request. A scheduled check (``drift_schedule.py``) that finds drift marks the model
``degraded`` (when its lifecycle allows) and emits ``drift.detected``; checks users ask for report only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from raylake.core.vocabulary import FINAL, DriftMethod, DriftStatus, EventType, JobStatus, ModelStatus, Task
from raylake.ml import drift
from raylake.platform import callbacks
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.errors import Conflict, Invalid, NotFound, Unauthorized
from raylake.platform.events.outbox import emit
from raylake.platform.inference.realtime import readable_dataset
from raylake.platform.jobs import RayJobs, job_environment, reconcile
from raylake.platform.lake import Lake
from raylake.platform.monitoring import drift_baseline, drift_reader
from raylake.platform.monitoring.drift_models import DATASET, PREDICTIONS, DriftReport
from raylake.platform.registry import lifecycle
from raylake.platform.registry.models import ModelAlias, Predictor
from raylake.platform.registry.service import get_model
from raylake.platform.registry.versions import resolve
from raylake.platform.tenancy import Principal, get_scoped
from raylake.platform.training.models import TrainingRun
from raylake.schemas.drift import (
    BaselinePublic,
    ColumnBaseline,
    ColumnDrift,
    DriftCheck,
    DriftJobResult,
    DriftReportPublic,
    DriftSettings,
    window_seconds,
)

KIND = "drift"
ENTRYPOINT = "python -m raylake.train_jobs.drift --report-id {id}"
DEFAULT_ALIAS = "production"
SCHEDULER = "drift-scheduler"


def settings_of(model: Predictor) -> DriftSettings:
    """A model's drift settings, the defaults where it has none."""
    return DriftSettings.model_validate(model.drift_settings or {})


def version_to_check(session: Session, model: Predictor, version: str | None) -> TrainingRun:
    """The version a check compares with: the one named, else the ``production`` alias's, else the
    newest completed (409 when it has not completed)."""
    if version:
        run = resolve(session, model, version)
    else:
        alias = session.exec(
            select(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == DEFAULT_ALIAS)
        ).first()
        found = session.get(TrainingRun, alias.train_id) if alias else None
        found = (
            found
            or session.exec(
                select(TrainingRun)
                .where(TrainingRun.predictor_id == model.id, TrainingRun.status == JobStatus.COMPLETED)
                .order_by(col(TrainingRun.version).desc())
            ).first()
        )
        if found is None:
            raise Conflict(f"model {model.id} has no completed version to check drift against")
        run = found
    if run.status != JobStatus.COMPLETED:
        raise Conflict(f"version {lifecycle.version_name(run)} is {run.status}: it has no baseline yet")
    return run


def baseline_of(ctx: Lake, run: TrainingRun) -> drift.Baseline:
    """A version's baseline; 422 when it has none, saying how to give it one."""
    if run.problem_type == "Forecasting":
        raise Invalid(f"version {lifecycle.version_name(run)} forecasts: drift is checked for predictions")
    baseline = drift_baseline.load(ctx.store, run)
    if baseline is None:
        raise Invalid(
            f"version {lifecycle.version_name(run)} has no drift baseline (trained before drift checks, "
            f"or registered from a file): POST /models/{run.predictor_id}/drift/baseline names a dataset"
        )
    return baseline


def check_window(
    *,
    session: Session,
    settings: Settings,
    ctx: Lake,
    jobs: RayJobs,
    principal: Principal,
    model_id: int | str,
    window: str | int | None,
    version: str | None,
) -> DriftReport:
    """Check a window (default: the model's) of a version's captured predictions up to now."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    try:
        seconds = window_seconds(window) if window is not None else None
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    run = version_to_check(session, model, version)
    return _window_report(
        session, settings, ctx, jobs, model, run, seconds, by=principal.username, scheduled=False
    )


def scheduled_window(
    session: Session, settings: Settings, ctx: Lake, jobs: RayJobs, model: Predictor, run: TrainingRun
) -> DriftReport:
    """The scheduled check of a model: its window of the version's captured predictions, acting on drift."""
    return _window_report(session, settings, ctx, jobs, model, run, None, by=SCHEDULER, scheduled=True)


def _window_report(
    session: Session,
    settings: Settings,
    ctx: Lake,
    jobs: RayJobs,
    model: Predictor,
    run: TrainingRun,
    seconds: int | None,
    *,
    by: str,
    scheduled: bool,
) -> DriftReport:
    baseline = baseline_of(ctx, run)
    chosen = settings_of(model)
    end = utcnow()
    assert model.id is not None and run.id is not None
    report = DriftReport(
        tenant_id=model.tenant_id,
        model_id=model.id,
        train_id=run.id,
        source=PREDICTIONS,
        method=chosen.method.value,
        threshold=chosen.threshold,
        min_rows=chosen.min_rows,
        window_start=end - timedelta(seconds=seconds or window_seconds(chosen.window)),
        window_end=end,
        scheduled=scheduled,
        created_by=by,
    )
    return _run(session, settings, ctx, jobs, report, baseline, drift_reader.captured(ctx, report))


def check_dataset(
    *,
    session: Session,
    settings: Settings,
    ctx: Lake,
    jobs: RayJobs,
    principal: Principal,
    model_id: int | str,
    body: DriftCheck,
) -> DriftReport:
    """Check a dataset's rows against a version's baseline (its inputs only: a dataset has no predictions)."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    run = version_to_check(session, model, body.version)
    baseline = baseline_of(ctx, run)
    dataset = readable_dataset(session, principal, body.dataset_id)
    chosen = settings_of(model)
    assert model.id is not None and run.id is not None
    report = DriftReport(
        tenant_id=model.tenant_id,
        model_id=model.id,
        train_id=run.id,
        source=DATASET,
        dataset_id=dataset.id,
        method=(body.method or chosen.method).value,
        threshold=body.threshold if body.method or body.threshold else chosen.threshold,
        min_rows=body.min_rows or chosen.min_rows,
        created_by=principal.username,
    )
    return _run(session, settings, ctx, jobs, report, baseline, drift_reader.dataset_rows(ctx, dataset))


def _run(
    session: Session,
    settings: Settings,
    ctx: Lake,
    jobs: RayJobs,
    report: DriftReport,
    baseline: drift.Baseline,
    source: drift_reader.Source,
) -> DriftReport:
    """Compute in the request, or start a Ray job when the rows may be many; the report either way."""
    session.add(report)
    session.flush()
    if source.estimate_rows() > settings.drift_job_rows:
        return _submit(session, settings, jobs, report)
    result = drift_reader.measure(
        source,
        baseline,
        method=DriftMethod(report.method),
        threshold=report.threshold,
        min_rows=report.min_rows,
        with_prediction=report.source == PREDICTIONS,
    )
    conclude(session, report, result.to_json())
    return report


def _submit(session: Session, settings: Settings, jobs: RayJobs, report: DriftReport) -> DriftReport:
    secret, secret_hash = callbacks.new_secret()
    report.status, report.stage, report.percent = JobStatus.SUBMITTED_TO_RAY, "queued", 0
    report.callback_secret_hash = secret_hash
    report.ray_job_id = jobs.submit(
        entrypoint=ENTRYPOINT.format(id=report.id),
        metadata={"raylake_kind": KIND, "tenant_id": report.tenant_id, "train_id": str(report.train_id)},
        env_vars={**job_environment(settings), callbacks.ENV_VAR: secret},
        num_cpus=1,
    )
    session.add(report)
    session.flush()
    return report


def conclude(session: Session, report: DriftReport, result: dict[str, Any]) -> None:
    """Keep a check's result on its report; a scheduled check that found drift acts on the model."""
    report.rows = int(result["rows"])
    report.drift_status = str(result["status"])
    report.scores = result
    report.status, report.stage, report.percent, report.error = JobStatus.COMPLETED, "done", 100, None
    report.updated_at = utcnow()
    session.add(report)
    session.flush()
    if report.scheduled and report.drift_status == DriftStatus.DRIFT:
        act(session, report)


def act(session: Session, report: DriftReport) -> None:
    """Drift found by a scheduled check: the model is ``degraded`` (when trained) and ``drift.detected``
    names the columns, the method and the scores (once: not again while the next checks still drift)."""
    model = session.get(Predictor, report.model_id)
    run = session.get(TrainingRun, report.train_id)
    if model is None or run is None or report.scores is None:
        return
    if ModelStatus.DEGRADED in ModelStatus(model.status).allowed_next:
        lifecycle.change_status(session, model, ModelStatus.DEGRADED, SCHEDULER)
    if _drifting_before(session, report):
        return  # told when it began: a drift that lasts is not news at every interval
    scores = report.scores
    prediction = scores.get("prediction")
    emit(
        session,
        tenant_id=report.tenant_id,
        type=EventType.DRIFT_DETECTED,
        payload={
            "model_id": model.id,
            "model_uid": model.uid,
            "version": lifecycle.version_name(run),
            "train_id": run.id,
            "report_id": report.id,
            "method": report.method,
            "features": scores.get("drifted", []),
            "scores": {c["name"]: c["score"] for c in scores.get("columns", [])},
            "prediction_drifted": bool(prediction and prediction.get("drifted")),
            "rows": report.rows,
            "window_start": report.window_start,
            "window_end": report.window_end,
        },
    )


def _drifting_before(session: Session, report: DriftReport) -> bool:
    """Whether the version's previous scheduled check (before this one) also found drift."""
    previous = session.exec(
        select(DriftReport.drift_status)
        .where(
            DriftReport.model_id == report.model_id,
            DriftReport.train_id == report.train_id,
            col(DriftReport.scheduled).is_(True),
            DriftReport.status == JobStatus.COMPLETED,
            col(DriftReport.id) < report.id,
        )
        .order_by(col(DriftReport.id).desc())
    ).first()
    return previous == DriftStatus.DRIFT


def record(*, session: Session, settings: Settings, token: str | None, body: DriftJobResult) -> DriftReport:
    """A drift job reports its report's result (or failure); only its own token is accepted."""
    report = session.get(DriftReport, body.report_id)
    if report is None or report.status in FINAL:
        raise Unauthorized("Invalid callback token")
    assert report.id is not None
    callbacks.verify(
        settings, kind=KIND, row_id=report.id, stored_hash=report.callback_secret_hash, presented=token
    )
    if body.error or body.result is None:
        report.status, report.stage = JobStatus.FAILED, "failed"
        report.error = (body.error or "no result")[:2000]
        report.updated_at = utcnow()
        session.add(report)
        session.flush()
        return report
    conclude(session, report, body.result)
    return report


def set_baseline(
    *,
    session: Session,
    ctx: Lake,
    principal: Principal,
    model_id: int | str,
    dataset_id: int,
    version: str | None,
) -> tuple[TrainingRun, drift.Baseline]:
    """A version's baseline from a dataset's rows (replacing any): its inputs' bins, no prediction's."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    lifecycle.check_usable(model, "given a baseline")
    run = version_to_check(session, model, version)
    if run.problem_type == "Forecasting" or model.task == Task.FORECASTING:
        raise Invalid(f"version {lifecycle.version_name(run)} forecasts: drift is checked for predictions")
    dataset = readable_dataset(session, principal, dataset_id)
    kinds = drift_baseline.input_kinds(run.columns)
    present = {spec["name"] for spec in dataset.column_specs}
    missing = [name for name in kinds if name not in present]
    if missing:
        raise Invalid(f"dataset {dataset.dataset_name!r} lacks the version's inputs: {', '.join(missing)}")
    source = drift_reader.dataset_rows(ctx, dataset)
    frame = source.frame(list(kinds)).collect()
    baseline = drift.Baseline(
        drift.fit_bins(frame, kinds),
        rows=frame.height,
        source={"kind": DATASET, "dataset_id": dataset.id, "snapshot_id": dataset.snapshot_id},
    )
    drift_baseline.save(ctx.store, run, baseline)
    return run, baseline


def read_baseline(
    *, session: Session, ctx: Lake, principal: Principal, model_id: int | str, version: str | None
) -> tuple[TrainingRun, drift.Baseline]:
    """A version's baseline as stored (422 when it has none)."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    run = version_to_check(session, model, version)
    return run, baseline_of(ctx, run)


def get_report(
    *, session: Session, jobs: RayJobs, principal: Principal, model_id: int | str, report_id: int
) -> DriftReport:
    """One of a model's reports, reconciled with Ray while its job runs."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    report = get_scoped(session, DriftReport, report_id, principal, "Drift report")
    if report.model_id != model.id:
        raise NotFound(f"Drift report {report_id} not found")
    return reconcile(session, jobs, report)


def list_reports(
    *, session: Session, principal: Principal, model_id: int | str, limit: int, offset: int
) -> tuple[list[DriftReport], int]:
    """A model's reports, newest first."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    where = DriftReport.model_id == model.id
    total = session.exec(select(func.count()).select_from(DriftReport).where(where)).one()
    rows = session.exec(
        select(DriftReport).where(where).order_by(col(DriftReport.id).desc()).offset(offset).limit(limit)
    ).all()
    return list(rows), int(total)


def dataset_of(session: Session, report: DriftReport) -> Dataset | None:
    """The dataset a dataset check reads (None for a window, or once deleted)."""
    return session.get(Dataset, report.dataset_id) if report.dataset_id else None


def public(session: Session, report: DriftReport) -> DriftReportPublic:
    """A report as the API shows it."""
    run = session.get(TrainingRun, report.train_id)
    scores = report.scores or {}
    method = DriftMethod(report.method)
    assert report.id is not None
    return DriftReportPublic(
        id=report.id,
        model_id=report.model_id,
        version=lifecycle.version_name(run) if run else "",
        train_id=report.train_id,
        source=report.source,
        dataset_id=report.dataset_id,
        window_start=report.window_start,
        window_end=report.window_end,
        method=method,
        threshold=report.threshold if report.threshold is not None else drift.DEFAULT_THRESHOLDS[method],
        min_rows=report.min_rows,
        rows=report.rows,
        status=DriftStatus(report.drift_status) if report.drift_status else None,
        drifted=scores.get("drifted", []),
        columns=[ColumnDrift.model_validate(c) for c in scores.get("columns", [])],
        prediction=ColumnDrift.model_validate(scores["prediction"]) if scores.get("prediction") else None,
        scheduled=report.scheduled,
        job_status=report.status,
        stage=report.stage,
        percent=report.percent,
        error=report.error,
        ray_job_id=report.ray_job_id,
        created_by=report.created_by,
        created_at=report.created_at,
    )


def public_baseline(run: TrainingRun, baseline: drift.Baseline) -> BaselinePublic:
    """A version's baseline as the API shows it."""
    assert run.id is not None

    def column(bins: drift.ColumnBins) -> ColumnBaseline:
        """A column's baseline bins as the API shows them: edges when numeric, else categories."""
        numeric = bins.kind == drift.NUMERIC
        return ColumnBaseline(
            name=bins.name,
            kind=bins.kind,
            edges=bins.edges if numeric else None,
            categories=None if numeric else bins.categories,
            counts=bins.counts,
        )

    return BaselinePublic(
        model_id=run.predictor_id,
        version=lifecycle.version_name(run),
        train_id=run.id,
        rows=baseline.rows,
        source=baseline.source,
        columns=[column(c) for c in baseline.columns],
        prediction=column(baseline.prediction) if baseline.prediction else None,
    )
