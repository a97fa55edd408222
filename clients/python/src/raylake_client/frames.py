"""Data frames in and out without depending on either library: polars and pandas frames are recognised by
their module, so the client imports neither unless the caller already uses it."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

Row = dict[str, Any]


def kind(frame: Any) -> str | None:
    """``"polars"``, ``"pandas"`` or None for anything that is no data frame."""
    module = type(frame).__module__
    if module.startswith("polars") and hasattr(frame, "to_dicts"):
        return "polars"
    if module.startswith("pandas") and hasattr(frame, "to_dict"):
        return "pandas"
    return None


def to_csv(frame: Any) -> bytes:
    """A polars or pandas frame as CSV bytes (header first, no index)."""
    which = kind(frame)
    if which == "polars":
        buffer = io.BytesIO()
        frame.write_csv(buffer)
        return buffer.getvalue()
    if which == "pandas":
        return str(frame.to_csv(index=False)).encode()
    raise TypeError(f"expected a polars or pandas DataFrame, not {type(frame).__name__}")


def _scalar(value: Any) -> Any:
    """A value the API takes as a feature: dates as ISO text, NaN and NaT as null, numpy scalars as Python."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    return value


def to_rows(data: Any) -> list[Row]:
    """Rows (dicts of column to value) from a polars or pandas frame, a list of dicts, or one dict."""
    which = kind(data)
    if which == "polars":
        rows: Iterable[Mapping[str, Any]] = data.to_dicts()
    elif which == "pandas":
        rows = data.to_dict(orient="records")
    elif isinstance(data, Mapping):
        rows = [data]
    elif isinstance(data, Sequence) and not isinstance(data, str | bytes):
        rows = data
    else:
        raise TypeError(f"expected a DataFrame, a list of row dicts or one dict, not {type(data).__name__}")
    return [{str(k): _scalar(v) for k, v in row.items()} for row in rows]


def like(template: Any, rows: list[Row]) -> Any:
    """``rows`` as a frame of the same library as ``template`` (a list of dicts when it is no frame)."""
    which = kind(template)
    if which == "polars":
        import polars as pl

        return pl.DataFrame(rows, infer_schema_length=None)
    if which == "pandas":
        import pandas as pd

        return pd.DataFrame.from_records(rows)
    return rows
