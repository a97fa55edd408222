"""API contracts of the model factory and a model's columns: a column schema (per column its type, range,
categories, quantile bins and null spellings), a spec (the columns' roles), and the factory's request.

A column's ``id`` is what ``GET /models/{id}/columns/{column_id}`` takes: its name where the name is
URL-safe, else a slug of it (unique in the schema); a schema sent without ids gets them so.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, model_validator

from raylake.core import types
from raylake.core.types import DataType
from raylake.core.vocabulary import MAX_ID
from raylake.schemas.common import Strict

MAX_COLUMNS = 2000
MAX_CARDINALITY = 100_000
MAX_SAMPLE = 100_000
URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f]+$")]
ColumnId = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._~-]+$")]
Names = Annotated[list[ColumnName], Field(max_length=MAX_COLUMNS)]
Value = str | int | float | bool
ModelUid = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ),
]


def _data_type(value: Any) -> Any:
    """A type name or alias (``int``, ``double``, ``timestamp``) as its canonical DataType."""
    return types.resolve(value) if isinstance(value, str) else value


ColumnType = Annotated[DataType, BeforeValidator(_data_type)]


class ColumnFields(BaseModel):
    name: ColumnName
    data_type: ColumnType
    min: int | float | str | None = Field(None, description="Numbers; ISO text for Date and DateTime")
    max: int | float | str | None = None
    categories: Annotated[list[Value], Field(max_length=MAX_CARDINALITY)] | None = Field(
        None, description="Distinct values, most frequent first; null when more than max_cardinality"
    )
    bins: Annotated[list[float], Field(max_length=1001)] | None = Field(
        None, description="Quantile bin edges of a numeric column, increasing"
    )
    nullable: bool = True
    replace_with_nulls: Annotated[list[str], Field(max_length=100)] = Field(
        default_factory=list, description="Values of the column that mean null (``NA``, ``-``, ...)"
    )
    n_dimensions: Annotated[int, Field(ge=1, le=1)] = 1


class ModelColumnIn(ColumnFields, Strict):
    """A column as a client sends it; ``id`` defaults to the name made URL-safe."""

    id: ColumnId | None = None


class ModelColumn(ColumnFields):
    """One column of a model's schema (``GET /models/{id}/columns``)."""

    id: str


class ColumnsSchemaIn(Strict):
    """A model's column schema: names and ids unique."""

    schema_version: Literal[1] = 1
    columns: Annotated[list[ModelColumnIn], Field(min_length=1, max_length=MAX_COLUMNS)]

    @model_validator(mode="after")
    def _unique(self) -> ColumnsSchemaIn:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"column names must be unique; repeated: {', '.join(_repeated(names))}")
        ids = column_ids([(c.name, c.id) for c in self.columns])
        if len(set(ids)) != len(ids):
            raise ValueError(f"column ids must be unique; repeated: {', '.join(_repeated(ids))}")
        for column, column_id in zip(self.columns, ids, strict=True):
            column.id = column_id
        return self


class ColumnsSchema(BaseModel):
    schema_version: Literal[1] = 1
    columns: list[ModelColumn]


class ModelSpec(Strict):
    """The roles of a model's columns: what it reads (``inputs``), predicts (``targets``), answers
    (``outputs``), and carries along unread (``metadata``: identifiers, dates)."""

    schema_version: Literal[1] = 1
    inputs: Names = []
    outputs: Names = []
    targets: Names = []
    decisions: Names = []
    metadata: Names = []
    custom_features: Annotated[list[dict[str, Any]], Field(max_length=100)] = []

    @model_validator(mode="after")
    def _one_role_each(self) -> ModelSpec:
        roles = [*self.inputs, *self.targets, *self.metadata]
        if len(set(roles)) != len(roles):
            raise ValueError(
                f"a column is in one of inputs, targets and metadata, once: {', '.join(_repeated(roles))}"
            )
        return self


def unknown_columns(spec: ModelSpec, columns: list[str]) -> list[str]:
    """The spec's inputs, targets and metadata that are not columns of the schema."""
    known = set(columns)
    return [name for name in (*spec.inputs, *spec.targets, *spec.metadata) if name not in known]


def column_ids(columns: list[tuple[str, str | None]]) -> list[str]:
    """Each column's id: the one given, else its name where URL-safe, else a slug of it not yet taken."""
    own = [given or (name if URL_SAFE.fullmatch(name) else None) for name, given in columns]
    taken = {i for i in own if i is not None}
    out = []
    for (name, _), chosen in zip(columns, own, strict=True):
        if chosen is None:
            base = re.sub(r"[^A-Za-z0-9._~-]+", "_", name).strip("_") or "column"
            chosen, n = base, 1
            while chosen in taken:
                n += 1
                chosen = f"{base}-{n}"
            taken.add(chosen)
        out.append(chosen)
    return out


def _repeated(values: list[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


class FactoryRequest(Strict):
    """Read a sample of a dataset (its validated rows) or of an uploaded file (as uploaded): exactly one."""

    dataset_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    file_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    model_id: Annotated[int, Field(ge=1, le=MAX_ID)] | ModelUid | None = Field(
        None, description="A model (id or uid) to store the schema and spec on"
    )
    max_cardinality: Annotated[int, Field(ge=1, le=MAX_CARDINALITY)] = Field(
        1000, description="Most categories a column lists; a column with more lists none"
    )
    sample_size: Annotated[int, Field(ge=1, le=MAX_SAMPLE)] = Field(
        10_000, description="Rows read: the first ones, never the whole table"
    )
    spec: ModelSpec | None = Field(
        None, description="A spec of your own, checked against the columns, instead of the suggested one"
    )

    @model_validator(mode="after")
    def _one_source(self) -> FactoryRequest:
        if (self.dataset_id is None) == (self.file_id is None):
            raise ValueError("give exactly one of dataset_id and file_id")
        return self


class FactoryResult(BaseModel):
    """The column schema and spec read from the sample; ``model_id`` when stored on a model."""

    model_config = {"serialize_by_alias": True, "validate_by_name": True, "validate_by_alias": True}

    columns_schema: ColumnsSchema = Field(alias="schema")
    spec: ModelSpec
    sample_rows: int
    dataset_id: int | None
    file_id: int | None
    model_id: int | None


class ColumnsPublic(BaseModel):
    items: list[ModelColumn]
    total: int
