"""Predictions: real-time rows (batched ``instances``), explanations, batch jobs and forecasts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from raylake_client import frames, progress
from raylake_client.models import (
    BatchResult,
    Forecast,
    LoggedPrediction,
    Model,
    Page,
    Prediction,
    PredictionForm,
    RowPrediction,
    RunDeployment,
    RunInfo,
)
from raylake_client.paging import iterate

if TYPE_CHECKING:
    from raylake_client.client import Client

# The API takes at most RAYLAKE_INFERENCE_MAX_INSTANCES rows (1000 by default) per call.
DEFAULT_BATCH = 500


def train_id_of(client: Client, model: Any, version: str | None = None) -> int:
    """The training run that answers for ``model``: a run id, a ``Run``/``RunInfo``, or a registered
    ``Model`` (or its id or uid as text) at ``version`` (a number, ``v3`` or an alias; its latest completed
    version when None)."""
    if isinstance(model, int) and version is None:
        return model
    if isinstance(model, RunInfo):
        return model.id
    if hasattr(model, "info") and isinstance(model.info, RunInfo):
        return model.info.id
    model_id = model.id if isinstance(model, Model) else model
    if version is not None:
        return client.models.version(model_id, version).train_id
    registered = model if isinstance(model, Model) else client.models.get(model_id)
    completed = [v for v in registered.versions if v.status == "completed"]
    if not completed:
        raise ValueError(f"model {registered.name!r} has no completed version")
    return max(completed, key=lambda v: v.train_id).train_id


def predict_rows(
    client: Client, train_id: int, rows: list[dict[str, Any]], *, explain: bool, batch_size: int
) -> list[RowPrediction]:
    """Predictions for every row, in order, sent ``batch_size`` rows per call."""
    out: list[RowPrediction] = []
    for start in range(0, len(rows), batch_size):
        body = {"train_id": train_id, "instances": rows[start : start + batch_size], "explain": explain}
        answer = client.http.json("POST", "/inference/", json=body)
        out += [RowPrediction.model_validate(p) for p in answer["predictions"]]
    return out


def as_frame(data: Any, rows: list[dict[str, Any]], predictions: list[RowPrediction], explain: bool) -> Any:
    """The input rows with ``prediction`` (and ``probability_<class>``, ``shap_<column>``) added, as a
    frame of the input's library (a list of dicts when the input was not a frame)."""
    out = []
    for row, p in zip(rows, predictions, strict=True):
        extra: dict[str, Any] = {"prediction": p.prediction}
        for label, value in (p.probabilities or {}).items():
            extra[f"probability_{label}"] = value
        if explain:
            for column, value in (p.explanation or {}).items():
                extra[f"shap_{column}"] = value
        if p.capture_id is not None:
            extra["capture_id"] = p.capture_id
        out.append({**row, **extra})
    return frames.like(data, out)


def batch(
    client: Client,
    train_id: int,
    dataset_id: int,
    *,
    wait: bool = True,
    download: str | Path | None = None,
    progress_shown: progress.Progress = True,
    timeout: float | None = None,
) -> BatchResult:
    """A batch prediction over a validated dataset; with ``wait`` followed to its end (and its CSV saved
    to ``download`` when given)."""
    submitted = client.http.json(
        "POST", "/inference/batchPrediction", json={"train_id": train_id, "dataset_id": dataset_id}
    )
    prediction_id = int(submitted["prediction_id"])

    def fetch() -> BatchResult:
        body = client.http.json("GET", "/inference/result", params={"prediction_id": prediction_id})
        return BatchResult.model_validate(body)

    if not wait:
        return fetch()
    result, _ = progress.wait(fetch, label=f"batch {prediction_id}", progress=progress_shown, timeout=timeout)
    if download is not None and result.file_id is not None:
        client.files.download(result.file_id, download)
    return result


def forecast(
    client: Client,
    model: Any,
    steps: int,
    *,
    unique_id: str | None = None,
    frequency: str | None = None,
    exogenous: Any = None,
    dataset_id: int | None = None,
) -> Forecast:
    """A forecaster's next ``steps`` points of one series, with future exogenous values when it has any."""
    body: dict[str, Any] = {"train_id": train_id_of(client, model), "steps": steps}
    if unique_id is not None:
        body["unique_id"] = unique_id
    if frequency is not None:
        body["frequency"] = frequency
    if exogenous is not None:
        body["exogenous"] = frames.to_rows(exogenous)
    if dataset_id is not None:
        body["dataset_id"] = dataset_id
    return Forecast.model_validate(client.http.json("POST", "/inference/forecast", json=body))


class Inference:
    """``client.inference``: a run's prediction form, one-row predictions, the prediction log, and a
    run's own deployment (``/inference/...``); ``Client.predict`` and ``batch`` are the common calls."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def form(self, model: Any) -> PredictionForm:
        """The fields a run's model takes: each column's type, default, role, categories."""
        params = {"id": train_id_of(self._client, model)}
        return PredictionForm.model_validate(
            self._client.http.json("GET", "/inference/form-based-prediction", params=params)
        )

    def predict_row(
        self,
        model: Any,
        features: dict[str, Any],
        *,
        preprocess_id: int | None = None,
        target: str | None = None,
        explain: bool = False,
    ) -> Prediction:
        """One row (the form's call): its prediction, probabilities and (``explain``) SHAP contributions."""
        body: dict[str, Any] = {
            "train_id": train_id_of(self._client, model),
            "features": features,
            "explain": explain,
        }
        if preprocess_id is not None:
            body["preprocess_id"] = preprocess_id
        if target is not None:
            body["target"] = target
        return Prediction.model_validate(self._client.http.json("POST", "/inference/", json=body))

    def log_page(self, model: Any = None, *, skip: int = 0, limit: int = 100) -> Page[LoggedPrediction]:
        params: dict[str, Any] = {"skip": skip, "limit": limit}
        if model is not None:
            params["train_id"] = train_id_of(self._client, model)
        body = self._client.http.json("GET", "/inference/predictions", params=params)
        return Page[LoggedPrediction](items=body["data"], total=body["total"])

    def log(self, model: Any = None, *, page_size: int = 100) -> Iterator[LoggedPrediction]:
        """The prediction log (one run's, or the tenant's), newest first, a page at a time."""
        return iterate(lambda skip, limit: self.log_page(model, skip=skip, limit=limit), page_size)

    def deploy(self, model: Any, *, replicas: int = 1) -> RunDeployment:
        """A run's own Serve application with ``replicas`` (rescaled if it has one)."""
        params = {"train_id": train_id_of(self._client, model), "replicas": replicas}
        return RunDeployment.model_validate(
            self._client.http.json("POST", "/inference/deploy", params=params)
        )

    def undeploy(self, model: Any) -> str:
        """Back to the shared pool; returns the server's message."""
        params = {"train_id": train_id_of(self._client, model)}
        return str(self._client.http.json("DELETE", "/inference/deploy", params=params)["message"])
