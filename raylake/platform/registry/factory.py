"""The model factory: a column schema and a spec suggestion read from a sample of a tenant's dataset (its
validated rows at its snapshot) or of an uploaded file (as uploaded), optionally stored on a model; and a
model's columns, from its stored schema or, without one, from its latest completed version.

Only the sample is read: the Iceberg scan stops at ``sample_size`` rows, and so does the file's reader.
Templates carry no column roles, so the suggested target is the model's own ``target`` when the result is
stored on a model that names one of the columns, else a column named like a target (``ml/profile.py``).
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import polars as pl
from pydantic import ValidationError
from sqlmodel import Session

from raylake.core import types
from raylake.core.types import DataType
from raylake.core.vocabulary import ColumnAttribute, JobStatus
from raylake.ml import profile
from raylake.platform import lake
from raylake.platform.clock import utcnow
from raylake.platform.datasets.models import Dataset, DatasetFile
from raylake.platform.errors import Invalid, NotFound
from raylake.platform.lake import Lake
from raylake.platform.registry import service
from raylake.platform.registry.models import Predictor
from raylake.platform.storage import CHUNK, staging_dir
from raylake.platform.tenancy import Principal, get_scoped
from raylake.schemas.factory import (
    ColumnsSchema,
    ColumnsSchemaIn,
    FactoryRequest,
    FactoryResult,
    ModelColumn,
    ModelSpec,
    column_ids,
)

UTF8 = (None, "utf-8", "utf-8-sig")


def generate(*, session: Session, ctx: Lake, principal: Principal, request: FactoryRequest) -> FactoryResult:
    """The schema and spec of the sample; stored on ``request.model_id``'s model when one is named."""
    model = None
    if request.model_id is not None:
        model = service.get_model(session=session, principal=principal, model_id=request.model_id)
    declared: dict[str, str] = {}
    if request.dataset_id is not None:
        dataset = get_scoped(session, Dataset, request.dataset_id, principal, "Dataset")
        frame = dataset_sample(ctx, dataset, request.sample_size)
        declared = {spec["name"]: spec["data_type"] for spec in dataset.column_specs}
    else:
        assert request.file_id is not None  # the request has exactly one source
        file = get_scoped(session, DatasetFile, request.file_id, principal, "File")
        frame = file_sample(ctx, file, request.sample_size)
    try:
        columns = profile.profile(frame, max_cardinality=request.max_cardinality, declared=declared)
        schema = ColumnsSchemaIn.model_validate({"columns": [c.as_dict() for c in columns]})
        target = model.target if model is not None else None
        spec = request.spec or ModelSpec.model_validate(profile.suggest_spec(columns, target=target))
    except (ValueError, ValidationError) as exc:  # a column no schema can hold (a nested type, a bad name)
        raise Invalid(f"the sample's columns cannot be described: {exc}") from None
    service.check_spec(schema, spec)
    if model is not None:
        _store(session, model, schema, spec, principal)
    return FactoryResult(
        columns_schema=ColumnsSchema.model_validate(schema.model_dump()),
        spec=spec,
        sample_rows=frame.height,
        dataset_id=request.dataset_id,
        file_id=request.file_id,
        model_id=model.id if model is not None else None,
    )


def dataset_sample(ctx: Lake, dataset: Dataset, size: int) -> pl.DataFrame:
    """At most ``size`` of the dataset's typed rows at its recorded snapshot (the scan stops there)."""
    if not dataset.is_valid or dataset.snapshot_id is None or not dataset.iceberg_table_name:
        raise Invalid(f"dataset {dataset.dataset_name!r} has no validated rows to read")
    names = [spec["name"] for spec in dataset.column_specs]
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    rows = table.scan(snapshot_id=dataset.snapshot_id, selected_fields=tuple(names), limit=size).to_arrow()
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    return frame.select(names)


def file_sample(ctx: Lake, file: DatasetFile, size: int) -> pl.DataFrame:
    """At most ``size`` rows of an uploaded file as uploaded: a CSV's text, a Parquet file's types."""
    try:
        with ctx.store.open(file.storage_key) as fh:
            parquet = fh.read(4) == b"PAR1"
        with _readable(ctx, file, parquet, size) as path:
            if parquet:
                return profile.sample(pl.scan_parquet(path), size)
            delimiter = (file.error_report or {}).get("delimiter") or ","
            scan = pl.scan_csv(path, separator=delimiter, infer_schema=False, quote_char='"')
            return profile.sample(scan, size)
    except (pl.exceptions.PolarsError, OSError, UnicodeError, LookupError, csv.Error, NotFound) as exc:
        raise Invalid(f"file {file.id} ({file.file_name}) cannot be read: {exc}") from None


@contextlib.contextmanager
def _readable(ctx: Lake, file: DatasetFile, parquet: bool, rows: int) -> Iterator[Path]:
    """A local file polars can scan: the stored file itself where the store is local and the file is
    Parquet or UTF-8; else a scratch copy (the whole Parquet file, or the CSV's first rows as UTF-8)."""
    local = ctx.store.local_root
    if local is not None and (parquet or file.encoding in UTF8):
        yield local / file.storage_key
        return
    scratch = staging_dir(ctx.settings.data_dir) / f"factory-{uuid4().hex}"
    try:
        with ctx.store.open(file.storage_key) as src, scratch.open("wb") as dst:
            if parquet:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
            else:
                _first_rows(src, dst, file, rows)
        yield scratch
    finally:
        scratch.unlink(missing_ok=True)


def _first_rows(src: Any, dst: Any, file: DatasetFile, rows: int) -> None:
    """The header and ``rows`` rows of a CSV in any encoding, written as UTF-8 (read no further)."""
    encoding = file.encoding or "utf-8"
    delimiter = (file.error_report or {}).get("delimiter") or ","
    text = io.TextIOWrapper(src, encoding=encoding, newline="")
    out = io.TextIOWrapper(dst, encoding="utf-8", newline="")
    writer = csv.writer(out, delimiter=delimiter, quotechar='"', lineterminator="\n")
    for i, row in enumerate(csv.reader(text, delimiter=delimiter, quotechar='"')):
        if i > rows:
            break
        writer.writerow(row)
    out.flush()
    out.detach()
    text.detach()


def _store(
    session: Session, model: Predictor, schema: ColumnsSchemaIn, spec: ModelSpec, principal: Principal
) -> None:
    model.columns_schema = schema.model_dump(mode="json")
    model.spec = spec.model_dump(mode="json")
    model.updated_by, model.modified_at = principal.username, utcnow()
    session.add(model)
    session.flush()


def model_columns(*, session: Session, principal: Principal, model_id: int | str) -> list[ModelColumn]:
    """A model's columns: its stored schema's, else its latest completed version's (name, type and, for
    a classifier's target, its labels); none for a model with neither."""
    model = service.get_model(session=session, principal=principal, model_id=model_id)
    if model.columns_schema is not None:
        return ColumnsSchema.model_validate(model.columns_schema).columns
    run = next((r for r in service.versions_of(session, model) if r.status == JobStatus.COMPLETED), None)
    if run is None:
        return []
    labels = (run.metrics or {}).get("labels")
    ids = column_ids([(c["name"], None) for c in run.columns])
    return [
        ModelColumn(
            id=column_id,
            name=c["name"],
            data_type=_data_type(c.get("data_type")),
            categories=labels if c.get("attribute") == ColumnAttribute.TARGET and labels else None,
            # inputs are filled where missing; training dropped the rows without a target
            nullable=c.get("attribute") != ColumnAttribute.TARGET,
        )
        for c, column_id in zip(run.columns, ids, strict=True)
    ]


def model_column(
    *, session: Session, principal: Principal, model_id: int | str, column_id: str
) -> ModelColumn:
    """One of a model's columns by its id (else by its name); NotFound naming it otherwise."""
    columns = model_columns(session=session, principal=principal, model_id=model_id)
    found = next((c for c in columns if c.id == column_id), None) or next(
        (c for c in columns if c.name == column_id), None
    )
    if found is None:
        raise NotFound(f"Column {column_id!r} not found in model {model_id}")
    return found


def _data_type(name: Any) -> DataType:
    try:
        return types.resolve(str(name))
    except ValueError:
        return DataType.STRING
