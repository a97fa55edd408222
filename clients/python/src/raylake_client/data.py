"""Templates (a tenant's data contracts) and datasets (uploads validated against them)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from raylake_client import frames
from raylake_client import progress as progress_
from raylake_client.models import Dataset, Page, Statistics, Template, UploadReport
from raylake_client.paging import iterate

if TYPE_CHECKING:
    from raylake_client.client import Client

# Template columns: ``{"Churn": "Boolean"}``, or the API's dicts (with ``default_value``).
TemplateColumns = Mapping[str, str] | Sequence[Mapping[str, Any]]


class Templates:
    """``client.templates``: the tenant's templates (``/template/...``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, name: str, columns: TemplateColumns = ()) -> Template:
        """A new template; columns in order, each a type (and optionally a default)."""
        if isinstance(columns, Mapping):
            schema = [{"column_name": k, "data_type": v} for k, v in columns.items()]
        else:
            schema = [dict(c) for c in columns]
        body = self._client.http.json(
            "POST", "/template/", json={"template_name": name, "template_schema": schema}
        )
        return self.get(int(body["id"]))

    def get(self, template_id: int) -> Template:
        return Template.model_validate(self._client.http.json("GET", f"/template/{template_id}"))

    def page(self, *, skip: int = 0, limit: int = 100) -> Page[Template]:
        body = self._client.http.json("GET", "/template/list", params={"skip": skip, "limit": limit})
        return Page[Template](items=body["data"], total=body["total"])

    def list(self, *, page_size: int = 100) -> Iterator[Template]:
        """Every template of the tenant (summaries, without their columns)."""
        return iterate(lambda skip, limit: self.page(skip=skip, limit=limit), page_size)

    def delete(self, template_id: int) -> None:
        self._client.http.json("DELETE", f"/template/{template_id}")


class Datasets:
    """``client.datasets``: uploads, listing, previews (``/dataset/...``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def upload(
        self,
        data: str | Path | Any,
        *,
        name: str | None = None,
        template: int | Template | None = None,
        usage: str = "t",
        table_name: str | None = None,
    ) -> UploadReport:
        """Upload a CSV or Parquet file (a path) or a polars/pandas frame; returns the validation report
        (usable share, each file's valid rows and per-column errors). ``usage``: ``"t"`` training,
        ``"p"`` prediction."""
        if isinstance(data, str | Path):
            path = Path(data)
            files = [("files", (path.name, path.read_bytes(), _media_type(path)))]
            default_name = path.stem
        else:
            files = [("files", ("frame.csv", frames.to_csv(data), "text/csv"))]
            default_name = "frame"
        params: dict[str, Any] = {"dataset_name": name or default_name, "usage": usage}
        if template is not None:
            params["template_id"] = template.id if isinstance(template, Template) else int(template)
        if table_name:
            params["iceberg_table_name"] = table_name
        body = self._client.http.json("POST", "/dataset/upload", params=params, files=files)
        return UploadReport.model_validate(body)

    def page(self, *, skip: int = 0, limit: int = 100) -> Page[Dataset]:
        body = self._client.http.json("GET", "/dataset/list", params={"skip": skip, "limit": limit})
        return Page[Dataset](items=body["data"], total=body["total"])

    def list(self, *, page_size: int = 100) -> Iterator[Dataset]:
        """Every dataset of the tenant, a page at a time."""
        return iterate(lambda skip, limit: self.page(skip=skip, limit=limit), page_size)

    def preview(self, dataset_id: int, *, limit: int = 10, offset: int = 0) -> builtins.list[dict[str, Any]]:
        """Typed rows of the dataset (defaults filled)."""
        body = self._client.http.json(
            "GET", "/dataset/view", params={"dataset_id": dataset_id, "limit": limit, "offset": offset}
        )
        return builtins.list(body["preview"])

    def delete(self, dataset_id: int) -> None:
        self._client.http.json("DELETE", f"/dataset/delete/{dataset_id}")

    def generate_statistics(self, dataset_id: int) -> Statistics:
        """Start a Ray job computing the dataset's per-column statistics; returns its state at once."""
        self._client.http.json("POST", "/dataset/generate_statistics", params={"dataset_id": dataset_id})
        return self.statistics(dataset_id, wait=False)

    def statistics(
        self,
        dataset_id: int,
        *,
        wait: bool = True,
        progress: progress_.Progress = False,
        timeout: float | None = 600,
    ) -> Statistics:
        """The dataset's latest statistics job; with ``wait``, followed to its end (a tqdm bar with
        ``progress=True``, or a callback given each state); ``RunFailed`` when it fails."""

        def fetch() -> Statistics:
            body = self._client.http.json("GET", "/dataset/statistics", params={"dataset_id": dataset_id})
            return Statistics.model_validate(body)

        if not wait:
            return fetch()
        final, _ = progress_.wait(
            fetch, label=f"statistics of dataset {dataset_id}", progress=progress, timeout=timeout
        )
        return final


def _media_type(path: Path) -> str:
    return "application/vnd.apache.parquet" if path.suffix.lower() == ".parquet" else "text/csv"
