"""What was learnt about one input column, and the polars expressions that turn its values into features.

Shared by ``Preprocessor`` (whole frames at training and batch time) and ``RowEncoder`` (real-time rows),
so both read a value the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from raylake.core.types import FALSE_WORDS, TRUE_WORDS
from raylake.ml.times import any_datetime

DATE_PARTS = ("year", "month", "day", "weekday", "dayofyear")
TIME_PARTS = ("hour", "minute")


@dataclass
class Column:
    """What was learnt about one input column: its kind, the value that replaces a missing one, and
    (for strings) the retained categories. Dates keep their fill as an integer (days or microseconds
    since the epoch) so it survives JSON exactly."""

    name: str
    data_type: str
    attribute: str
    kind: Literal["numeric", "boolean", "category", "date", "datetime"]
    fill: float | int | str
    categories: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The column as JSON-ready data, kept with the preprocessing state."""
        data: dict[str, Any] = {
            "name": self.name,
            "data_type": self.data_type,
            "attribute": self.attribute,
            "kind": self.kind,
            "fill": self.fill,
        }
        if self.kind == "category":
            data["categories"] = list(self.categories)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Column:
        """The column back from ``to_json``'s data."""
        return cls(
            name=data["name"],
            data_type=data["data_type"],
            attribute=data["attribute"],
            kind=data["kind"],
            fill=data["fill"],
            categories=list(data.get("categories", [])),
        )


def coerced(name: str, kind: str, dtype: pl.DataType) -> pl.Expr:
    """The column in its base representation with every unusable value as null.

    Training frames already have the template's dtype; inference payloads may not (a JSON number for a
    Float column arrives as Int64, a date as text), so values are converted rather than rejected, and what
    cannot be converted counts as missing.
    """
    col = pl.col(name)
    if kind == "numeric":
        if dtype == pl.String:
            col = col.str.strip_chars()
        number = col.cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number).otherwise(None)
    if kind == "boolean":
        if dtype == pl.Boolean:
            return col.cast(pl.Float64)
        if dtype == pl.String:
            word = col.str.strip_chars().str.to_lowercase()
            return (
                pl.when(word.is_in(list(TRUE_WORDS)))
                .then(pl.lit(1.0))
                .when(word.is_in(list(FALSE_WORDS)))
                .then(pl.lit(0.0))
                .otherwise(None)
            )
        if dtype.is_numeric():
            return (col.cast(pl.Float64, strict=False) != 0).cast(pl.Float64)
        return pl.lit(None, dtype=pl.Float64)
    if kind == "category":
        return col.cast(pl.String, strict=False)
    if kind == "date":
        if dtype == pl.Date:
            day = col
        elif isinstance(dtype, pl.Datetime):
            day = _naive_utc(col, dtype).dt.date()
        elif dtype == pl.String:
            day = col.str.strip_chars().str.to_date(strict=False)
        else:
            day = pl.lit(None, dtype=pl.Date)
        return day.cast(pl.Int64)
    if isinstance(dtype, pl.Datetime):
        moment = col.dt.cast_time_unit("us")
    elif dtype == pl.Date:
        moment = col.cast(pl.Datetime("us"))
    elif dtype == pl.String:
        moment = any_datetime(col.str.strip_chars())  # per value, so a row never depends on its neighbours
    else:
        moment = pl.lit(None, dtype=pl.Datetime("us"))
    # the physical value of an aware timestamp is UTC already, which is what a naive column holds
    return moment.cast(pl.Int64)


def _naive_utc(col: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    if dtype.time_zone is None:
        return col
    return col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)


def base_exprs(columns: list[Column], schema: pl.Schema) -> list[pl.Expr]:
    """One clean value per input column, named after it: filled, and a category as its ordinal code."""
    exprs = []
    for column in columns:
        filled = coerced(column.name, column.kind, schema[column.name]).fill_null(column.fill)
        if column.kind == "category":
            other = len(column.categories)
            filled = filled.replace_strict(
                column.categories, list(range(other)), default=other, return_dtype=pl.Float64
            )
        elif column.kind == "date":
            filled = filled.cast(pl.Date)
        elif column.kind == "datetime":
            filled = filled.cast(pl.Datetime("us"))
        exprs.append(filled.alias(column.name))
    return exprs


def feature_plan(columns: list[Column], encoding: str) -> list[tuple[str, Column, pl.Expr]]:
    """(feature name, source column, expression over the base values) for every matrix column."""
    plan: list[tuple[str, Column, pl.Expr]] = []
    for column in columns:
        base = pl.col(column.name)
        if column.kind == "category" and encoding == "onehot":
            for code, category in enumerate(column.categories):
                plan.append((f"{column.name}={category}", column, (base == code).cast(pl.Float64)))
        elif column.kind in ("date", "datetime"):
            parts = DATE_PARTS + (TIME_PARTS if column.kind == "datetime" else ())
            for part in parts:
                plan.append((f"{column.name}.{part}", column, _date_part(base, part).cast(pl.Float64)))
        else:
            plan.append((column.name, column, base.cast(pl.Float64)))
    return plan


def _date_part(base: pl.Expr, part: str) -> pl.Expr:
    return {
        "year": base.dt.year,
        "month": base.dt.month,
        "day": base.dt.day,
        "weekday": base.dt.weekday,
        "dayofyear": base.dt.ordinal_day,
        "hour": base.dt.hour,
        "minute": base.dt.minute,
    }[part]()
