"""Batch predictions: a dataset scored by a Ray job or the model's replica, and the job's report."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from raylake.core.layout import prediction_table, predictions_prefix
from raylake.core.vocabulary import FINAL, EventType, JobStatus
from raylake.platform import callbacks
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets.models import Dataset, DatasetFile
from raylake.platform.errors import Conflict, Invalid, Unauthorized
from raylake.platform.events.outbox import emit
from raylake.platform.inference.loading import model_id
from raylake.platform.inference.models import Prediction
from raylake.platform.inference.realtime import (
    MODEL_INPUTS,
    check_preprocess,
    dedicated_app,
    not_forecasting,
    readable_dataset,
    servable_run,
)
from raylake.platform.jobs import RayJobs, end_row, job_environment, lapse, reconcile
from raylake.platform.tenancy import Principal, get_scoped
from raylake.platform.training.models import TrainingRun
from raylake.schemas.inference import BatchCallback

ENTRYPOINT = "python -m raylake.train_jobs.batch_predict --prediction-id {id}"
KIND = "batch"


def _model_inputs_in(dataset: Dataset, run: TrainingRun) -> bool:
    """422 unless the dataset has every required model input with the model's type; whether it has the
    target (so the job can score itself)."""
    specs = {spec["name"]: spec["data_type"] for spec in dataset.column_specs}
    problems = []
    for column in run.columns:
        if column["attribute"] not in MODEL_INPUTS:
            continue
        have = specs.get(column["name"])
        if have is None:
            if column.get("default") is None:
                problems.append(f"{column['name']!r} is missing")
        elif have != column["data_type"]:
            problems.append(f"{column['name']!r} is {have}, the model needs {column['data_type']}")
    if problems:
        raise Invalid(
            f"dataset {dataset.dataset_name!r} does not match model {run.id}'s schema: " + "; ".join(problems)
        )
    target = next(c for c in run.columns if c["attribute"] == "Target")
    return specs.get(target["name"]) == target["data_type"]


@dataclass(frozen=True)
class ReplicaBatch:
    """A batch the model's replica runs (``submit_batch`` chose it): which replica to hand it to."""

    key: str
    app_name: str | None


def submit_batch(
    *,
    session: Session,
    settings: Settings,
    jobs: RayJobs,
    principal: Principal,
    train_id: int,
    dataset_id: int,
) -> tuple[Prediction, ReplicaBatch | None]:
    """Record a batch and start its Ray job, or (up to ``batch_replica_max_rows`` rows) say which model
    replica the caller must hand it to: a Ray job's start-up costs more than predicting a million rows."""
    run, predictor = servable_run(session=session, principal=principal, train_id=train_id)
    not_forecasting(run)
    dataset = readable_dataset(session, principal, dataset_id)
    scored = _model_inputs_in(dataset, run)
    secret, secret_hash = callbacks.new_secret()
    prediction = Prediction(
        tenant_id=run.tenant_id,
        train_id=run.id,
        dataset_id=dataset.id,
        snapshot_id=dataset.snapshot_id,
        predictor_name=predictor.predictor_name,
        problem_type=run.problem_type,
        domain_name=run.domain,
        prediction_type="batch",
        input_data=f"dataset_id:{dataset.id}" + (" (with target: scored)" if scored else ""),
        callback_secret_hash=secret_hash,
        created_by=principal.username,
    )
    session.add(prediction)
    session.flush()
    if dataset.valid_records <= settings.batch_replica_max_rows:
        prediction.stage = "queued for the model replica"
        session.add(prediction)
        session.flush()
        key = model_id(run, check_preprocess(run, None))
        return prediction, ReplicaBatch(key, dedicated_app(session, run))
    prediction.ray_job_id = jobs.submit(
        entrypoint=ENTRYPOINT.format(id=prediction.id),
        metadata={
            "raylake_kind": "batch_prediction",
            "tenant_id": run.tenant_id,
            "prediction_id": str(prediction.id),
        },
        env_vars={**job_environment(settings), callbacks.ENV_VAR: secret},
        # The driver only coordinates Ray Data; its read tasks and predictor actors take the CPUs.
        num_cpus=0,
    )
    session.add(prediction)
    session.flush()
    return prediction, None


def fail_batch(session: Session, prediction_id: int, reason: str) -> None:
    """End a batch whose model replica could not report (its row would otherwise wait for the lease)."""
    prediction = session.get(Prediction, prediction_id)
    if prediction is not None and prediction.status not in FINAL:
        end_row(session, prediction, JobStatus.FAILED, reason)


def get_prediction(
    *, session: Session, jobs: RayJobs, principal: Principal, prediction_id: int
) -> Prediction:
    """A prediction of the caller's tenant, its status brought up to date with its Ray job or lease."""
    prediction = get_scoped(session, Prediction, prediction_id, principal, "Prediction")
    return reconcile(session, jobs, prediction) if prediction.ray_job_id else lapse(session, prediction)


def record_batch(*, session: Session, settings: Settings, token: str | None, body: BatchCallback) -> None:
    """A batch job's report: accepted only with that job's token, outputs only under its own folder."""
    prediction = session.get(Prediction, body.prediction_id)
    if prediction is None or prediction.prediction_type != "batch":
        raise Unauthorized("Invalid callback token")
    callbacks.verify(
        settings,
        kind=KIND,
        row_id=body.prediction_id,
        stored_hash=prediction.callback_secret_hash,
        presented=token,
    )
    if prediction.status in FINAL:
        raise Conflict(f"prediction {prediction.id} already ended ({prediction.status})")
    result = body.result
    if result.error:
        end_row(session, prediction, JobStatus.FAILED, result.error)
        return
    if prediction.dataset_id is None:
        end_row(
            session,
            prediction,
            JobStatus.FAILED,
            "the dataset was deleted while its predictions were written",
        )
        return
    prediction.updated_at = prediction.finished_at = utcnow()
    prefix = predictions_prefix(prediction)
    key, table = result.csv_key or "", result.gold_table or ""
    if not key.startswith(prefix) or ".." in key or table != prediction_table(prediction):
        raise Invalid(f"outputs must be {prefix}* and gold.{prediction_table(prediction)}")
    file = DatasetFile(
        dataset_id=prediction.dataset_id,
        tenant_id=prediction.tenant_id,
        file_name=f"prediction_{prediction.id}.csv",
        kind="prediction",
        storage_key=key,
        size_bytes=result.csv_size or 0,
        total_records=result.no_of_records or 0,
        valid_records=result.no_of_records or 0,
        is_valid=True,
        created_by=prediction.created_by,
    )
    session.add(file)
    session.add(LakeTable(tenant_id=prediction.tenant_id, namespace="gold", name=table, created_by="batch"))
    session.flush()
    prediction.file_id = file.id
    prediction.result_path = key
    prediction.gold_table = f"gold.{table}"
    prediction.no_of_records = result.no_of_records or 0
    prediction.accuracy = result.accuracy
    prediction.metrics = result.metrics
    prediction.status, prediction.stage, prediction.percent, prediction.error = (
        JobStatus.COMPLETED,
        "done",
        100,
        None,
    )
    session.add(prediction)
    session.flush()
    emit(
        session,
        tenant_id=prediction.tenant_id,
        type=EventType.BATCH_COMPLETED,
        payload={
            "prediction_id": prediction.id,
            "train_id": prediction.train_id,
            "dataset_id": prediction.dataset_id,
            "no_of_records": prediction.no_of_records,
            "gold_table": prediction.gold_table,
        },
    )
