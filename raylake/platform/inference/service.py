"""Inference: which model a request may use, what its rows must hold, batch jobs, the prediction log.

Everything here runs in the API replica before any model replica or Ray job is involved: an unknown or
unfinished model, another tenant's model, a wrong type or a missing required feature is refused here,
so a model replica only ever sees rows it can predict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import event
from sqlmodel import Session, col, select

from raylake.core import types
from raylake.core.layout import prediction_table, predictions_prefix
from raylake.core.vocabulary import FINAL, JobStatus
from raylake.platform import callbacks
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets.models import Dataset, DatasetFile
from raylake.platform.db import paged
from raylake.platform.errors import Conflict, Invalid, NotFound, PayloadTooLarge, Unauthorized
from raylake.platform.inference.loading import accuracy_of, model_id, run_prefix
from raylake.platform.inference.models import Prediction
from raylake.platform.jobs import RayJobs, end_row, job_environment, lapse, reconcile
from raylake.platform.lake import Lake
from raylake.platform.registry.models import ModelDeployment, Predictor
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.platform.training.models import PreprocessState, TrainingRun
from raylake.schemas.inference import BatchCallback, PredictRequest

ENTRYPOINT = "python -m raylake.train_jobs.batch_predict --prediction-id {id}"
KIND = "batch"
MODEL_INPUTS = ("Feature", "Time")
MAX_PROBLEMS = 20  # problems named in one 422 about a request's rows


class Gateway(Protocol):
    """How the API deploys model replicas (``gateway.py`` over Ray Serve)."""

    def deploy(self, app_name: str, replicas: int) -> None: ...

    def undeploy(self, app_name: str) -> None: ...

    def forget(self, prefix: str, *, principals: bool = False) -> None: ...


def forget_after_commit(
    session: Session, gateway: Gateway | None, prefix: str, *, principals: bool = False
) -> None:
    """Once the session commits, every model and API replica drops what it cached under ``prefix``
    (``Gateway.forget``): only then, so a load racing the deletion finds nothing left to load."""
    if gateway is None:
        return
    event.listen(session, "after_commit", lambda _: gateway.forget(prefix, principals=principals), once=True)


def servable_run(*, session: Session, principal: Principal, train_id: int) -> tuple[TrainingRun, Predictor]:
    """A completed run of the caller's tenant (404 otherwise; 409 while it is not completed)."""
    run = get_scoped(session, TrainingRun, train_id, principal, "Model")
    if run.status != JobStatus.COMPLETED or run.preprocess_id is None or not run.artifact_key:
        raise Conflict(f"model {run.id} is {run.status}: only a completed training run can predict")
    predictor = session.get(Predictor, run.predictor_id)
    assert predictor is not None
    return run, predictor


def _not_forecasting(run: TrainingRun) -> None:
    if run.problem_type == "Forecasting":
        raise Invalid(f"model {run.id} forecasts: use POST /api/v1/inference/forecast")


def _check_preprocess(run: TrainingRun, preprocess_id: int | None) -> int:
    assert run.preprocess_id is not None
    if preprocess_id is not None and preprocess_id != run.preprocess_id:
        raise Invalid(
            f"model {run.id} uses preprocess_id {run.preprocess_id}, not {preprocess_id} "
            "(train/update switches it)"
        )
    return run.preprocess_id


def _target(run: TrainingRun) -> str:
    return next(c["name"] for c in run.columns if c["attribute"] == "Target")


class RowProblems:
    """What is wrong with a request's rows, collected (up to ``MAX_PROBLEMS``) and raised as one 422,
    so a caller fixes every bad value at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def note(self, message: str) -> None:
        self.messages.append(message)

    def parsed(self, where: str, name: str, data_type: str, value: Any) -> Any:
        """``value`` as the column's template type; None, with the problem noted, when it is not one."""
        try:
            return _parse(data_type, value)
        except ValueError as exc:
            self.note(f"{where}{name!r} must be {data_type}: {exc}")
            return None

    @property
    def full(self) -> bool:
        return len(self.messages) >= MAX_PROBLEMS

    def raise_any(self) -> None:
        if self.messages:
            raise Invalid("; ".join(self.messages))


def prepare_rows(run: TrainingRun, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows with each model input parsed as its template type; 422 naming every problem found.

    A value arrives as a JSON string or number and must parse as the column's type. A missing (or null)
    input with a template default takes the model's fill; one without a default is required. Columns of
    the dataset the model does not read (Id, Target, Ignore) are accepted and dropped; names the dataset
    never had are refused, so a typo is not silently predicted as a default."""
    inputs = {c["name"]: c for c in run.columns if c["attribute"] in MODEL_INPUTS}
    known = {c["name"] for c in run.columns}
    problems = RowProblems()
    parsed_rows: list[dict[str, Any]] = []
    many = len(rows) > 1
    for index, row in enumerate(rows):
        where = f"instance {index}: " if many else ""
        unknown = sorted(name for name in row if name not in known)
        if unknown:
            problems.note(f"{where}unknown features: {', '.join(unknown)}")
        parsed: dict[str, Any] = {}
        missing = []
        for name, column in inputs.items():
            value = row.get(name)
            blank = isinstance(value, str) and not value.strip() and column["data_type"] != "String"
            if value is None or blank:
                if column.get("default") is None:
                    missing.append(name)
                continue
            parsed[name] = problems.parsed(f"{where}feature ", name, column["data_type"], value)
        if missing:
            problems.note(f"{where}missing required features: {', '.join(missing)}")
        parsed_rows.append(parsed)
        if problems.full:
            break
    problems.raise_any()
    return parsed_rows


def _parse(data_type: str, value: Any) -> Any:
    if isinstance(value, bool):
        if data_type == "Boolean":
            return value
        if data_type == "String":
            return str(value).lower()
        raise ValueError(f"got a boolean ({str(value).lower()})")
    if isinstance(value, int | float) and data_type in ("Integer", "Float"):
        if data_type == "Integer" and isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            value = int(value)
        return types.parse_value(data_type, repr(value) if isinstance(value, float) else str(value))
    return types.parse_value(data_type, str(value))


@dataclass(frozen=True)
class Servable:
    """What a real-time call needs to know about its model, read once and reused (``cache.py``): the
    run and predictor (detached, read-only), its dedicated deployment if any, its target and accuracy."""

    run: TrainingRun
    predictor: Predictor
    app_name: str | None
    target: str
    accuracy: float | None


def describe(*, session: Session, principal: Principal, train_id: int) -> Servable:
    """The caller's completed, predicting model (404 another tenant's or none; 409 unfinished; 422 a
    forecaster)."""
    run, predictor = servable_run(session=session, principal=principal, train_id=train_id)
    _not_forecasting(run)
    app_name = dedicated_app(session, run)
    session.expunge_all()  # these rows outlive the session (cached, read on the event loop)
    return Servable(run, predictor, app_name, _target(run), accuracy_of(run.metrics))


def dedicated_app(session: Session, run: TrainingRun) -> str | None:
    """The Serve application of the run's dedicated deployment; None: the shared pool serves it."""
    deployment = session.exec(select(ModelDeployment).where(ModelDeployment.train_id == run.id)).first()
    return deployment.app_name if deployment else None


def readable_dataset(session: Session, principal: Principal, dataset_id: int) -> Dataset:
    """A validated dataset of the caller's tenant that a request names as input (422 otherwise)."""
    dataset = session.exec(
        scoped(select(Dataset), Dataset, principal).where(Dataset.id == dataset_id)
    ).first()
    if dataset is None:
        raise Invalid(f"dataset {dataset_id} does not exist")
    if not dataset.is_valid or dataset.snapshot_id is None or not dataset.iceberg_table_name:
        raise Invalid(f"dataset {dataset.dataset_name!r} has no validated rows to predict")
    return dataset


@dataclass(frozen=True)
class Prepared:
    """A validated real-time request: which model replica to ask, with which rows."""

    key: str
    app_name: str | None
    rows: list[dict[str, Any]]
    single: bool
    run: TrainingRun
    predictor: Predictor
    target: str
    accuracy: float | None


def prepare(*, servable: Servable, settings: Settings, request: PredictRequest) -> Prepared:
    """Everything checked before a model replica is asked: size, preprocessing, target, rows. Plain
    CPU work on the described model: no database."""
    if (request.features is None) == (request.instances is None):
        raise Invalid("send either features (one row) or instances (a list of rows)")
    rows = [request.features] if request.features is not None else list(request.instances or [])
    if not rows:
        raise Invalid("instances is empty")
    if len(rows) > settings.inference_max_instances:
        raise PayloadTooLarge(
            f"{len(rows)} instances exceed the limit of {settings.inference_max_instances} per call; "
            "use batchPrediction for large inputs"
        )
    run = servable.run
    preprocess_id = _check_preprocess(run, request.preprocess_id)
    if request.target is not None and request.target.strip() != servable.target:
        raise Invalid(f"model {run.id} predicts {servable.target!r}, not {request.target!r}")
    return Prepared(
        key=model_id(run, preprocess_id),
        app_name=servable.app_name,
        rows=prepare_rows(run, rows),
        single=request.features is not None,
        run=run,
        predictor=servable.predictor,
        target=servable.target,
        accuracy=servable.accuracy,
    )


def response(prepared: Prepared, results: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "train_id": prepared.run.id,
        "target": prepared.target,
        "accuracy": prepared.accuracy,
    }
    if prepared.single:
        body.update(results[0])
    else:
        body["predictions"] = results
    return body


def form(*, session: Session, ctx: Lake, principal: Principal, train_id: int) -> dict[str, Any]:
    """The fields a prediction form shows: inputs with types, defaults, and categories seen in training."""
    run, _ = servable_run(session=session, principal=principal, train_id=train_id)
    state = session.get(PreprocessState, run.preprocess_id)
    assert state is not None
    categories = _categories(json.loads(ctx.store.read_bytes(state.storage_key)))
    headers = [
        {
            "column_name": c["name"],
            "data_type": c["data_type"],
            "default_value": c.get("default"),
            "attribute_name": c["attribute"],
            "required": c.get("default") is None,
            "categories": categories.get(c["name"]),
        }
        for c in run.columns
        if c["attribute"] in MODEL_INPUTS
    ]
    return {
        "id": run.id,
        "headers": headers,
        "target": _target(run),
        "preprocess_id": run.preprocess_id,
        "problem_type": run.problem_type,
    }


def _categories(state: dict[str, Any]) -> dict[str, list[str]]:
    """Categories the model knows per String column (the preprocessing state's, most frequent first)."""
    out = {}
    for column in state.get("columns", []):
        if column.get("kind") == "category":
            out[column["name"]] = [c for c in column.get("categories", []) if c != "__missing__"]
    return out


# ---------------------------------------------------------------------- dedicated deployments


def app_name(run: TrainingRun) -> str:
    """Serve application names are cluster-wide: the tenant's id keeps two installations apart."""
    return f"raylake-model-{run.tenant_id[:8]}-{run.id}"


def deploy(
    *, session: Session, gateway: Gateway, principal: Principal, train_id: int, replicas: int
) -> ModelDeployment:
    run, _ = servable_run(session=session, principal=principal, train_id=train_id)
    deployment = session.exec(select(ModelDeployment).where(ModelDeployment.train_id == run.id)).first()
    if deployment is None:
        deployment = ModelDeployment(
            tenant_id=run.tenant_id,
            train_id=run.id,  # type: ignore[arg-type]
            app_name=app_name(run),
            replicas=replicas,
            created_by=principal.username,
        )
    deployment.replicas = replicas
    gateway.deploy(deployment.app_name, replicas)
    session.add(deployment)
    session.flush()
    return deployment


def undeploy(*, session: Session, gateway: Gateway, principal: Principal, train_id: int) -> str:
    run = get_scoped(session, TrainingRun, train_id, principal, "Model")
    name = undeploy_run(session=session, gateway=gateway, run=run)
    if name is None:
        raise NotFound(f"model {train_id} has no dedicated deployment")
    forget_after_commit(session, gateway, run_prefix(run.tenant_id, run.id))  # type: ignore[arg-type]
    return name


def undeploy_run(*, session: Session, gateway: Gateway | None, run: TrainingRun) -> str | None:
    """Remove the run's dedicated deployment, if it has one (also called when a run is deleted)."""
    deployment = session.exec(select(ModelDeployment).where(ModelDeployment.train_id == run.id)).first()
    if deployment is None:
        return None
    if gateway is not None:
        gateway.undeploy(deployment.app_name)
    session.delete(deployment)
    session.flush()
    return deployment.app_name


# ---------------------------------------------------------------------- batch


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
    _not_forecasting(run)
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
        key = model_id(run, run.preprocess_id)  # type: ignore[arg-type]
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
        dataset_id=prediction.dataset_id,  # type: ignore[arg-type]
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


# ---------------------------------------------------------------------- the log


def list_predictions(
    *, session: Session, principal: Principal, train_id: int | None, skip: int, limit: int
) -> tuple[list[Prediction], int]:
    """A page of the prediction log (one model's, or the tenant's), newest first; and its length."""
    stmt = scoped(select(Prediction), Prediction, principal)
    if train_id is not None:
        get_scoped(session, TrainingRun, train_id, principal, "Model")
        stmt = stmt.where(Prediction.train_id == train_id)
    return paged(session, stmt.order_by(col(Prediction.id).desc()), skip=skip, limit=limit)
