"""Training: start runs, follow them (``Run.wait`` with a progress bar), read their results and logs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from raylake_client import progress
from raylake_client.errors import NotFound
from raylake_client.models import FeatureImportance, ModelSummary, Page, RunInfo, TrainingDetails
from raylake_client.paging import iterate

if TYPE_CHECKING:
    from raylake_client.client import Client

# Column roles: ``{"CustomerID": "Id", "Churn": "Target"}`` or the API's list of dicts.
Columns = Mapping[str, str] | Sequence[Mapping[str, Any]]


def column_roles(columns: Columns | None, target: str | None, id_columns: Sequence[str] = ()) -> list[Any]:
    """The API's ``columns`` list from a name-to-role mapping (or as given), with ``target`` and ids added."""
    if columns is None:
        roles: list[dict[str, Any]] = []
    elif isinstance(columns, Mapping):
        roles = [{"column_name": name, "attribute_name": role} for name, role in columns.items()]
    else:
        roles = [dict(c) for c in columns]
    named = {r["column_name"] for r in roles}
    roles += [{"column_name": c, "attribute_name": "Id"} for c in id_columns if c not in named]
    if target is not None and target not in named:
        roles.append({"column_name": target, "attribute_name": "Target"})
    return roles


class Run:
    """A training run: ``info`` is its last known state; ``wait()`` follows it to its end."""

    def __init__(self, client: Client, info: RunInfo) -> None:
        self._client = client
        self.info = info
        self.bar: Any = None  # the tqdm bar of the last wait(), closed, for a look at its final state

    @property
    def id(self) -> int:
        return self.info.id

    def __repr__(self) -> str:
        i = self.info
        return f"Run(id={i.id}, predictor={i.predictor_name!r}, status={i.train_status!r}, {i.percent}%)"

    def refresh(self) -> RunInfo:
        """Ask the server for the run's current state."""
        self.info = RunInfo.model_validate(self._client.http.json("GET", f"/train/get/{self.id}"))
        return self.info

    def wait(
        self, *, progress: progress.Progress = True, timeout: float | None = None, poll_s: float = 1.0
    ) -> RunInfo:
        """Wait until the run ends, showing a tqdm bar of its stage and percent; ``RunFailed`` (with the
        server's reason) when it fails or is cancelled."""
        self.info, self.bar = _wait(self, progress, timeout, poll_s)
        return self.info

    def summary(self) -> ModelSummary:
        """The test metrics (accuracy, f1, roc_auc, confusion matrix; rmse, r2 for regression)."""
        body = self._client.http.json("GET", "/train/model-summary", params={"train_id": self.id})
        return ModelSummary.model_validate(body)

    def importance(self, *, wait: bool = True, timeout: float | None = 600) -> FeatureImportance:
        """Mean |SHAP| per input column; with ``wait``, once its job has ended (started if none was)."""
        return self._client.training.importance(self.id, wait=wait, timeout=timeout)

    def schema(self) -> list[dict[str, Any]]:
        """The model's input columns with their types and attributes."""
        return list(self._client.http.json("GET", f"/train/download-schema/{self.id}")["schema"])

    def logs(self, *, tail: int | None = None) -> str:
        """The run's log as its Ray job wrote it."""
        return self._client.training.logs(self.id, tail=tail)

    def predict(self, data: Any, **kwargs: Any) -> Any:
        """``Client.predict`` with this run's model."""
        return self._client.predict(self, data, **kwargs)


def _wait(run: Run, shown: progress.Progress, timeout: float | None, poll_s: float) -> tuple[RunInfo, Any]:
    return progress.wait(
        run.refresh,
        label=f"run {run.id} ({run.info.predictor_name})",
        progress=shown,
        timeout=timeout,
        poll_s=poll_s,
    )


class Training:
    """``client.training``: runs of the tenant (``/train/...``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def start(
        self,
        dataset: int | Any,
        *,
        predictor_name: str,
        target: str | None = None,
        problem_type: str = "Classification",
        columns: Columns | None = None,
        id_columns: Sequence[str] = (),
        domain: str = "General",
        algorithm: str | None = None,
        **options: Any,
    ) -> Run:
        """Submit a training run (a Ray job) and return it at once; ``options`` are the API's other fields
        (``params``, ``time_budget_s``, ``seed``, ``shap_enabled``, ``is_incremental``, forecasting's)."""
        body: dict[str, Any] = {
            "dataset_id": getattr(dataset, "dataset_id", dataset),
            "predictor_name": predictor_name,
            "domain": domain,
            "problem_type": problem_type,
            "columns": column_roles(columns, target, id_columns),
            **({"algorithm": algorithm} if algorithm else {}),
            **options,
        }
        return Run(self._client, RunInfo.model_validate(self._client.http.json("POST", "/train/", json=body)))

    def details(self, dataset: int | Any, *, problem_type: str | None = None) -> TrainingDetails:
        """What a dataset offers for training: columns and types, roles, problem types, algorithms."""
        body: dict[str, Any] = {"dataset_id": getattr(dataset, "dataset_id", dataset)}
        if problem_type is not None:
            body["problem_type"] = problem_type
        return TrainingDetails.model_validate(self._client.http.json("POST", "/train/get_details", json=body))

    def get(self, train_id: int) -> Run:
        return Run(
            self._client, RunInfo.model_validate(self._client.http.json("GET", f"/train/get/{train_id}"))
        )

    def page(self, *, skip: int = 0, limit: int = 100) -> Page[RunInfo]:
        body = self._client.http.json("GET", "/train/list", params={"skip": skip, "limit": limit})
        return Page[RunInfo](items=body["data"], total=body["total"])

    def list(self, *, page_size: int = 100) -> Iterator[RunInfo]:
        """Every run of the tenant, newest first, fetched a page at a time."""
        return iterate(lambda skip, limit: self.page(skip=skip, limit=limit), page_size)

    def delete(self, train_id: int) -> None:
        self._client.http.json("DELETE", f"/train/delete/{train_id}")

    def logs(self, train_id: int, *, tail: int | None = None) -> str:
        """A run's log as its Ray job wrote it (its last ``tail`` characters; the server's default: None)."""
        params = {"train_id": train_id, **({"tail": tail} if tail else {})}
        return str(self._client.http.json("GET", "/train/logs", params=params)["logs"])

    def importance(
        self, train_id: int, *, wait: bool = True, timeout: float | None = 600
    ) -> FeatureImportance:
        """A run's feature importance; with ``wait``, its SHAP job is started when none exists and awaited."""
        http = self._client.http

        def fetch() -> FeatureImportance:
            body = http.json("GET", "/train/view-feature-importance", params={"train_id": train_id})
            return FeatureImportance.model_validate(body)

        try:
            current = fetch()
        except NotFound:
            if not wait:
                raise
            http.json("GET", "/train/generate-feature-importance", params={"train_id": train_id})
            current = fetch()
        if not wait or current.done:
            return current
        final, _ = progress.wait(fetch, label=f"SHAP of run {train_id}", progress=False, timeout=timeout)
        return final
