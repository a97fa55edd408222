"""Real-time requests: which model a request may use and what its rows must hold.

Everything here runs in the API replica before any model replica is involved: an unknown or
unfinished model, another tenant's model, a wrong type or a missing required feature is refused here,
so a model replica only ever sees rows it can predict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from raylake.core import types
from raylake.core.vocabulary import JobStatus
from raylake.platform.config import Settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.errors import Conflict, Invalid, PayloadTooLarge
from raylake.platform.inference.loading import accuracy_of, model_id
from raylake.platform.lake import Lake
from raylake.platform.registry.external_files import NO_PREPROCESS, is_external
from raylake.platform.registry.lifecycle import check_usable
from raylake.platform.registry.models import ModelDeployment, Predictor
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.platform.training.models import PreprocessState, TrainingRun
from raylake.schemas.inference import PredictRequest

MODEL_INPUTS = ("Feature", "Time")
MAX_PROBLEMS = 20  # problems named in one 422 about a request's rows


def servable_run(*, session: Session, principal: Principal, train_id: int) -> tuple[TrainingRun, Predictor]:
    """A completed run of the caller's tenant (404 otherwise; 409 while it is not completed, or when
    its model is archived)."""
    run = get_scoped(session, TrainingRun, train_id, principal, "Model")
    prepared = run.preprocess_id is not None or is_external(run)
    if run.status != JobStatus.COMPLETED or not prepared or not run.artifact_key:
        raise Conflict(f"model {run.id} is {run.status}: only a completed training run can predict")
    predictor = session.get(Predictor, run.predictor_id)
    assert predictor is not None
    check_usable(predictor, "used for predictions or deployed")
    return run, predictor


def not_forecasting(run: TrainingRun) -> None:
    """422 for a forecaster: forecasts are asked for at their own endpoint."""
    if run.problem_type == "Forecasting":
        raise Invalid(f"model {run.id} forecasts: use POST /api/v1/inference/forecast")


def check_preprocess(run: TrainingRun, preprocess_id: int | None) -> int:
    """The run's preprocess_id (an external version's: none, 0 in its model id); 422 when the request
    names another one."""
    if is_external(run):
        if preprocess_id not in (None, NO_PREPROCESS):
            raise Invalid(f"model {run.id} is an external model: it has no preprocess_id to choose")
        return NO_PREPROCESS
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
        """Add one problem to report."""
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
        """Whether enough problems are noted to stop looking for more."""
        return len(self.messages) >= MAX_PROBLEMS

    def raise_any(self) -> None:
        """Raise one 422 listing every noted problem, if there is any."""
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
    not_forecasting(run)
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
    preprocess_id = check_preprocess(run, request.preprocess_id)
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
    """The prediction route's body: one row's fields inline, or ``predictions`` for many."""
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
    run, predictor = servable_run(session=session, principal=principal, train_id=train_id)
    state = session.get(PreprocessState, run.preprocess_id) if run.preprocess_id is not None else None
    if state is not None:
        categories = _categories(json.loads(ctx.store.read_bytes(state.storage_key)))
    else:  # an external model: the categories of its model's column schema, if it has one
        categories = {
            c["name"]: c["categories"]
            for c in (predictor.columns_schema or {}).get("columns", [])
            if c.get("categories")
        }
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
