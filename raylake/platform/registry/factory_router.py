"""The model factory (a dataset's or file's column schema and spec suggestion) and a model's columns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from raylake.platform.deps import LakeDep, SessionDep, TrainRead, TrainRun
from raylake.platform.registry import factory
from raylake.platform.registry.paths import ModelRef
from raylake.schemas.factory import ColumnsPublic, FactoryRequest, FactoryResult, ModelColumn

router = APIRouter(tags=["registry"])
ColumnRef = Annotated[str, Path(min_length=1, max_length=256)]


@router.post("/models/factory", response_model=FactoryResult)
def model_factory(
    session: SessionDep, ctx: LakeDep, principal: TrainRun, body: FactoryRequest
) -> FactoryResult:
    """Read the first ``sample_size`` rows of a dataset or an uploaded file and answer its column schema
    (types, ranges, categories, quantile bins, null spellings) and a spec suggestion; with ``model_id``,
    store both on that model."""
    return factory.generate(session=session, ctx=ctx, principal=principal, request=body)


@router.get("/models/{model_id}/columns", response_model=ColumnsPublic)
def list_columns(session: SessionDep, principal: TrainRead, model_id: ModelRef) -> ColumnsPublic:
    """A model's columns: its stored schema's, else its latest completed version's."""
    items = factory.model_columns(session=session, principal=principal, model_id=model_id)
    return ColumnsPublic(items=items, total=len(items))


@router.get("/models/{model_id}/columns/{column_id}", response_model=ModelColumn)
def read_column(
    session: SessionDep, principal: TrainRead, model_id: ModelRef, column_id: ColumnRef
) -> ModelColumn:
    """One of a model's columns, by its id (or its name)."""
    return factory.model_column(session=session, principal=principal, model_id=model_id, column_id=column_id)
