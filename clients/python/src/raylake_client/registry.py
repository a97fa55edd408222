"""The model registry: models, their versions and aliases, describe, infer, feedback; and deployments."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from raylake_client import frames
from raylake_client.models import Alias, Deployment, Describe, FeedbackReport, Model, Page, Version
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
