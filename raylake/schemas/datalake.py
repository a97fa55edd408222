from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_NAME = 160
# Schema, table and column names as query parameters: bounded, no control characters. They are only ever
# compared with registered names, never interpolated into a query.
LakeName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class ColumnInfo(BaseModel):
    column_name: str
    data_type: str


class TableMetadata(BaseModel):
    """The reference's payload; ``schema`` is spelled ``schema_`` in Python (BaseModel has a ``schema``)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="schema")
    table: str
    owner: str
    created_time: datetime
    last_access_time: datetime
    location: str
    format: str = "iceberg"
    row_count: int
    snapshot_id: int | None


class NumericStats(BaseModel):
    column: str
    count: int
    mean: float | None
    std_dev: float | None
    min: int | float | None
    max: int | float | None
    median: float | None


class DistinctCount(BaseModel):
    column: str
    distinct_count: int
