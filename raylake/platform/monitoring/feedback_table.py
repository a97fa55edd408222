"""The true labels sent for a model's captured predictions, kept in its tenant's lake beside them.

One Iceberg table per model, ``gold.feedback_<model id>``, partitioned by the day the label came: a row
per label with the captured prediction's id (its request id and row), the label as text (and as a
number, for regressions), when it came and from whom. A prediction labelled again keeps its newest
label. Owned like the capture table (``capture.open_owned``) and dropped with it when the model is.
"""

from __future__ import annotations

import polars as pl
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform
from pyiceberg.types import DoubleType, IntegerType, NestedField, StringType, TimestamptzType
from sqlalchemy import Engine

from raylake.core.layout import feedback_table
from raylake.platform import lake
from raylake.platform.monitoring import capture

COLUMNS = {
    "_request_id": pl.String(),
    "_row": pl.Int32(),
    "_label": pl.String(),
    "_label_value": pl.Float64(),
    "_received_at": pl.Datetime("us", "UTC"),
    "_caller": pl.String(),
}
SCHEMA = Schema(
    NestedField(1, "_request_id", StringType(), required=False),
    NestedField(2, "_row", IntegerType(), required=False),
    NestedField(3, "_label", StringType(), required=False),
    NestedField(4, "_label_value", DoubleType(), required=False),
    NestedField(5, "_received_at", TimestamptzType(), required=False),
    NestedField(6, "_caller", StringType(), required=False),
)
PARTITION = PartitionSpec(
    PartitionField(source_id=5, field_id=1000, transform=DayTransform(), name="_received_day")
)


def append(ctx: lake.Lake, engine: Engine, tenant_id: str, model_id: int, labels: pl.DataFrame) -> int:
    """Keep the labels (``COLUMNS``) as one commit; how many were kept."""
    table = capture.open_owned(ctx, engine, tenant_id, model_id, feedback_table(model_id), SCHEMA, PARTITION)
    return capture.append(table, [labels.select(list(COLUMNS))])


def latest(ctx: lake.Lake, model_id: int) -> pl.DataFrame:
    """Every labelled prediction once, with its newest label (no rows before any feedback)."""
    try:
        table = lake.load(ctx.catalog, capture.NAMESPACE, feedback_table(model_id))
    except NoSuchTableError:
        return pl.DataFrame(schema=COLUMNS)
    return (
        pl.scan_iceberg(table)
        .sort("_received_at")
        .unique(subset=["_request_id", "_row"], keep="last", maintain_order=False)
        .collect()
    )
