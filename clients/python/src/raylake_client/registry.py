"""The model registry: models, their versions and aliases, describe, infer, feedback; and deployments."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from raylake_client import frames, progress
from raylake_client.errors import RunFailed
from raylake_client.models import (
    Alias,
    Artifact,
    CapturedPrediction,
    Deployment,
    Describe,
    DriftReport,
    FactoryResult,
    FeedbackReport,
    Model,
    Operation,
    Page,
    Surrogate,
    Version,
)
from raylake_client.paging import iterate

if TYPE_CHECKING:
    from raylake_client.client import Client

ModelRef = int | str | Model


def _ref(model: ModelRef) -> str:
    return str(model.id if isinstance(model, Model) else model)


class Models:
    """``client.models``: registered models (``/models/...``), by id, uid or ``Model``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def page(self, *, offset: int = 0, limit: int = 50, **filters: Any) -> Page[Model]:
        """One page; ``filters``: search, status, task, tag, project_id, latest_only."""
        params = {k: v for k, v in filters.items() if v is not None}
        body = self._client.http.json("GET", "/models", params={**params, "offset": offset, "limit": limit})
        return Page[Model](items=body["items"], total=body["total"])

    def list(self, *, page_size: int = 50, **filters: Any) -> Iterator[Model]:
        """Every model matching ``filters`` (as ``page``), a page at a time."""
        return iterate(lambda offset, limit: self.page(offset=offset, limit=limit, **filters), page_size)

    def get(self, model: ModelRef) -> Model:
        return Model.model_validate(self._client.http.json("GET", f"/models/{_ref(model)}"))

    def create(self, name: str, *, task: str, **fields: Any) -> Model:
        """Register a model of a ``task`` (``binary_classification``, ``regression``...)."""
        body = self._client.http.json("POST", "/models", json={"name": name, "task": task, **fields})
        return Model.model_validate(body)

    def update(self, model: ModelRef, **fields: Any) -> Model:
        """Change any of description, tags, status, metadata, capture, drift and feedback settings."""
        return Model.model_validate(self._client.http.json("PATCH", f"/models/{_ref(model)}", json=fields))

    def delete(self, model: ModelRef) -> None:
        self._client.http.send("DELETE", f"/models/{_ref(model)}")

    def train(self, model: ModelRef, *, dataset_id: int | None = None, **training_config: Any) -> Model:
        """Start the model's next version (202; the model reads ``training`` until it ends)."""
        body: dict[str, Any] = {}
        if dataset_id is not None:
            body["dataset_id"] = dataset_id
        if training_config:
            body["training_config"] = training_config
        return Model.model_validate(self._client.http.json("POST", f"/models/{_ref(model)}/train", json=body))

    def versions(self, model: ModelRef) -> builtins.list[Version]:
        body = self._client.http.json("GET", f"/models/{_ref(model)}/versions")
        return [Version.model_validate(v) for v in body["items"]]

    def version(self, model: ModelRef, version: str | int) -> Version:
        """One version by number (``3`` or ``v3``) or alias."""
        body = self._client.http.json("GET", f"/models/{_ref(model)}/versions/{version}")
        return Version.model_validate(body)

    def describe(self, model: ModelRef, version: str | int = "production") -> Describe:
        """Features, target, performance and JSON Schemas of a version (or alias)."""
        body = self._client.http.json("GET", f"/models/{_ref(model)}/versions/{version}/describe")
        return Describe.model_validate(body)

    def infer(self, model: ModelRef, version: str | int, data: Any) -> Any:
        """Flat named fields in, flat outputs back (a dict for one row, a list for a frame or list)."""
        rows = frames.to_rows(data)
        path = f"/models/{_ref(model)}/versions/{version}/infer"
        if isinstance(data, dict):
            return self._client.http.json("POST", path, json=rows[0])
        return self._client.http.json("POST", path, json={"instances": rows})["predictions"]

    def set_alias(self, model: ModelRef, alias: str, version: str | int) -> Alias:
        """Point ``alias`` (``production``, ``staging``...) at a version."""
        body = self._client.http.json(
            "PUT", f"/models/{_ref(model)}/aliases/{alias}", json={"version": str(version)}
        )
        return Alias.model_validate(body)

    def delete_alias(self, model: ModelRef, alias: str) -> None:
        self._client.http.send("DELETE", f"/models/{_ref(model)}/aliases/{alias}")

    def feedback(
        self, model: ModelRef, labels: dict[str, Any] | None = None, *, dataset_id: int | None = None
    ) -> FeedbackReport:
        """True outcomes by capture id (``{capture_id: label}``) or from a dataset; returns live accuracy."""
        body: dict[str, Any] = (
            {"dataset_id": dataset_id}
            if dataset_id is not None
            else {"labels": [{"capture_id": k, "label": v} for k, v in (labels or {}).items()]}
        )
        answer = self._client.http.json("POST", f"/models/{_ref(model)}/feedback", json=body)
        return FeedbackReport.model_validate(answer)

    def live_accuracy(self, model: ModelRef) -> FeedbackReport:
        """Live accuracy from the feedback received so far, per version and day."""
        return FeedbackReport.model_validate(self._client.http.json("GET", f"/models/{_ref(model)}/feedback"))

    # --- monitoring ---------------------------------------------------------------------------------

    def predictions_page(
        self, model: ModelRef, *, offset: int = 0, limit: int = 100, **filters: Any
    ) -> Page[CapturedPrediction]:
        """One page of captured predictions, newest first; ``filters``: since, until, version."""
        params = {k: str(v) for k, v in filters.items() if v is not None}
        body = self._client.http.json(
            "GET",
            f"/models/{_ref(model)}/predictions",
            params={**params, "offset": offset, "limit": limit},
        )
        return Page[CapturedPrediction](items=body["items"], total=body["total"])

    def predictions(
        self, model: ModelRef, *, page_size: int = 100, **filters: Any
    ) -> Iterator[CapturedPrediction]:
        """Every captured prediction of the model (inputs, outputs, caller), newest first."""
        return iterate(
            lambda offset, limit: self.predictions_page(model, offset=offset, limit=limit, **filters),
            page_size,
        )

    def drift(
        self,
        model: ModelRef,
        *,
        window: str | None = None,
        version: str | int | None = None,
        wait: bool = True,
        timeout: float | None = 600,
    ) -> DriftReport:
        """Drift of the inputs captured over ``window`` (``24h``, ``7d``, seconds) against the version's
        training baseline; with ``wait``, a report a Ray job computes is polled to its end."""
        params = {k: str(v) for k, v in {"window": window, "version": version}.items() if v is not None}
        report = DriftReport.model_validate(
            self._client.http.json("GET", f"/models/{_ref(model)}/drift", params=params)
        )
        if not wait or report.done:
            return report
        path = f"/models/{_ref(model)}/drift/reports/{report.id}"
        deadline = None if timeout is None else time.monotonic() + timeout
        while not report.done:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"drift report {report.id} still {report.job_status} after {timeout} s")
            time.sleep(1.0)
            report = DriftReport.model_validate(self._client.http.json("GET", path))
        if report.job_status != "completed":
            raise RunFailed(
                f"drift report {report.id} {report.job_status}: {report.error or 'no reason given'}",
                status=report.job_status,
                job=report,
            )
        return report

    # --- models trained elsewhere -----------------------------------------------------------------

    def factory(
        self,
        *,
        dataset_id: int | None = None,
        file_id: int | None = None,
        model: ModelRef | None = None,
        **options: Any,
    ) -> FactoryResult:
        """Read a sample of a dataset (or uploaded file): each column's type, range, categories, bins, and
        a suggested spec; stored on ``model`` when given. ``options``: max_cardinality, sample_size, spec."""
        body: dict[str, Any] = {"dataset_id": dataset_id, "file_id": file_id, **options}
        if model is not None:
            body["model_id"] = _ref(model) if isinstance(model, str) else int(_ref(model))
        body = {k: v for k, v in body.items() if v is not None}
        return FactoryResult.model_validate(self._client.http.json("POST", "/models/factory", json=body))

    def upload_artifact(self, model: ModelRef, path: str | Path, *, file_kind: str = "model") -> Artifact:
        """Upload a file to a model (a model file: skops, ONNX...; or data, code, environment)."""
        file = Path(path)
        body = self._client.http.json(
            "POST",
            f"/models/{_ref(model)}/artifacts",
            files=[("file", (file.name, file.read_bytes(), "application/octet-stream"))],
            data={"file_kind": file_kind},
        )
        return Artifact.model_validate(body)

    def artifacts(self, model: ModelRef) -> builtins.list[Artifact]:
        body = self._client.http.json("GET", f"/models/{_ref(model)}/artifacts")
        return [Artifact.model_validate(a) for a in body["items"]]

    def register_version(
        self,
        model: ModelRef,
        artifact: int | str | Artifact,
        *,
        inputs: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
        class_order: Sequence[str] | None = None,
        **fields: Any,
    ) -> Version:
        """Register an uploaded model file as the model's next version; the server loads it and predicts
        a probe row first. ``inputs`` in the order the model takes them (``{"Tenure": "Integer"}`` or the
        API's dicts); ``fields``: task, target, metrics."""
        body: dict[str, Any] = {"artifact_id": artifact.id if isinstance(artifact, Artifact) else artifact}
        if isinstance(inputs, Mapping):
            body["inputs"] = [{"name": k, "data_type": v} for k, v in inputs.items()]
        elif inputs is not None:
            body["inputs"] = [dict(i) for i in inputs]
        if class_order is not None:
            body["class_order"] = builtins.list(class_order)
        body.update(fields)
        return Version.model_validate(
            self._client.http.json("POST", f"/models/{_ref(model)}/versions", json=body)
        )

    def fit_surrogate(
        self,
        model: ModelRef,
        dataset_id: int,
        *,
        version: str | int | None = None,
        wait: bool = True,
        timeout: float | None = 600,
    ) -> Surrogate:
        """Fit a surrogate tree to a version's predictions on a dataset (a Ray job), so TreeSHAP explains
        the version; with ``wait``, followed to its end (``RunFailed`` when it fails)."""
        body: dict[str, Any] = {"dataset_id": dataset_id}
        if version is not None:
            body["version"] = str(version)
        started = Surrogate.model_validate(
            self._client.http.json("POST", f"/models/{_ref(model)}/surrogate", json=body)
        )
        if not wait:
            return started
        final, _ = progress.wait(
            lambda: self.surrogate(model),
            label=f"surrogate of model {_ref(model)}",
            progress=False,
            timeout=timeout,
        )
        return final

    def surrogate(self, model: ModelRef) -> Surrogate:
        """The model's surrogate: its job's state, and its fidelity once fitted."""
        return Surrogate.model_validate(self._client.http.json("GET", f"/models/{_ref(model)}/surrogate"))


class Deployments:
    """``client.deployments``: a version's own replicas (``/deployments/...``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self, model: ModelRef, *, version: str | int | None = None, replicas: int = 1, **options: Any
    ) -> Deployment:
        """Deploy a version (the latest completed when None); ``options``: ``autoscaling``, ``placement``."""
        body: dict[str, Any] = {"model_id": _ref(model), "replicas": replicas, **options}
        if version is not None:
            body["version"] = str(version)
        return Deployment.model_validate(self._client.http.json("POST", "/deployments", json=body))

    def get(self, deployment_id: int) -> Deployment:
        return Deployment.model_validate(self._client.http.json("GET", f"/deployments/{deployment_id}"))

    def page(self, *, offset: int = 0, limit: int = 50) -> Page[Deployment]:
        body = self._client.http.json("GET", "/deployments", params={"offset": offset, "limit": limit})
        return Page[Deployment](items=body["items"], total=body["total"])

    def list(self, *, page_size: int = 50) -> Iterator[Deployment]:
        return iterate(lambda offset, limit: self.page(offset=offset, limit=limit), page_size)

    def wait_running(self, deployment_id: int, *, timeout: float = 300, poll_s: float = 1.0) -> Deployment:
        """Poll until the deployment is ``running``; ``RuntimeError`` with its reason if it fails."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.get(deployment_id)
            if current.status == "running":
                return current
            if current.status in ("failed", "unhealthy"):
                raise RuntimeError(f"deployment {deployment_id} {current.status}: {current.reason}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"deployment {deployment_id} still {current.status} after {timeout} s")
            time.sleep(poll_s)

    def predict(
        self, deployment_id: int, data: Any, *, explain: bool = False
    ) -> builtins.list[dict[str, Any]]:
        """Predictions of the deployment's replicas for each row, in order."""
        body = {"rows": frames.to_rows(data), "explain": explain}
        answer = self._client.http.json("POST", f"/deployments/{deployment_id}/predict", json=body)
        return builtins.list(answer["predictions"])

    def operations_page(self, deployment_id: int, *, offset: int = 0, limit: int = 50) -> Page[Operation]:
        body = self._client.http.json(
            "GET", f"/deployments/{deployment_id}/operations", params={"offset": offset, "limit": limit}
        )
        return Page[Operation](items=body["items"], total=body["total"])

    def operations(self, deployment_id: int, *, page_size: int = 50) -> Iterator[Operation]:
        """The deployment's calls (caller, status, latency, rows), newest first."""
        return iterate(
            lambda offset, limit: self.operations_page(deployment_id, offset=offset, limit=limit), page_size
        )

    def delete(self, deployment_id: int) -> None:
        self._client.http.send("DELETE", f"/deployments/{deployment_id}")


class Files:
    """``client.files``: downloads of stored files (raw uploads, batch results)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def download(self, file_id: int, dest: str | Path) -> Path:
        """Save a file to ``dest``; returns the path."""
        path = Path(dest)
        resp = self._client.http.send("GET", "/files/download/", params={"file_id": file_id})
        path.write_bytes(resp.content)
        return path

    def view(self, file_id: int, *, lines: int | None = None) -> builtins.list[str]:
        """The first lines of a file as uploaded (text files only)."""
        params = {"file_id": file_id, **({"lines": lines} if lines else {})}
        return builtins.list(self._client.http.json("GET", "/files/view", params=params)["content_preview"])
