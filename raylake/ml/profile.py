"""A table's columns read from a sample: each column's type, range, categories, quantile bins and the
spellings of null it holds, and a suggestion of the columns' roles (what a model reads, predicts, keeps).

Text columns (a CSV as uploaded, or a Parquet file's strings) get the narrowest type every value parses
as, the way a dataset without a template does: Integer, Float, Boolean, Date, DateTime, else String.
Columns whose type is declared (a dataset's validated rows) keep it. Values such as ``NA`` or ``-`` in
text count as null; the column lists them in ``replace_with_nulls``.

Only a sample is read (``sample``: the first rows of a lazy scan), so every figure is of the sample.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from raylake.core.types import FALSE_WORDS, TRUE_WORDS, DataType
from raylake.ml.times import iso_datetime

# Text that means "no value", compared without case or surrounding spaces.
NULL_SPELLINGS = ("", "NA", "N/A", "null", "None", "-", "?", "nan")
_NULL_KEYS = [s.lower() for s in NULL_SPELLINGS]
# An Integer column with at most this many distinct values lists them as categories (codes, ratings).
LOW_CARDINALITY = 20
# Quantile bins: deciles, so 11 edges (fewer where edges coincide).
BINS = 10
# A column whose values are all distinct over at least this many rows looks like an identifier.
ID_MIN_ROWS = 20
# Names that say "this is what to predict", matched as whole words of a column name.
TARGET_WORDS = ("target", "label", "class", "y", "outcome", "churn")
ID_WORDS = ("id", "uuid", "guid")
PREDICTION = "prediction"
_INFERRED = (DataType.INTEGER, DataType.FLOAT, DataType.BOOLEAN, DataType.DATE, DataType.DATETIME)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@dataclass
class ColumnProfile:
    """What the sample shows of one column (``as_dict``: the fields a column schema has)."""

    name: str
    data_type: DataType
    rows: int
    distinct: int
    nullable: bool
    min: int | float | str | None = None
    max: int | float | str | None = None
    categories: list[Any] | None = None
    bins: list[float] | None = None
    replace_with_nulls: list[str] = field(default_factory=list)
    n_dimensions: int = 1

    @property
    def is_identifier(self) -> bool:
        """Named like one (``id``, ``customer_id``, ``CustomerID``), or every value distinct: any text, or
        whole numbers packed in a range (a counter, not a measurement)."""
        named = words(self.name)
        if named and named[-1] in ID_WORDS:
            return True
        if self.rows < ID_MIN_ROWS or self.nullable or self.distinct != self.rows:
            return False
        if self.data_type is DataType.STRING:
            return True
        if self.data_type is DataType.INTEGER:
            return int(self.max) - int(self.min) < 2 * self.rows  # type: ignore[arg-type]
        return False

    def as_dict(self) -> dict[str, Any]:
        """The column as a schema lists it."""
        return {
            "name": self.name,
            "data_type": self.data_type.value,
            "min": self.min,
            "max": self.max,
            "categories": self.categories,
            "bins": self.bins,
            "nullable": self.nullable,
            "replace_with_nulls": self.replace_with_nulls,
            "n_dimensions": self.n_dimensions,
        }


def sample(frame: pl.LazyFrame, size: int) -> pl.DataFrame:
    """The first ``size`` rows of a lazy scan: the limit reaches the reader, which reads no further."""
    if size < 1:
        raise ValueError("the sample needs at least one row")
    return frame.head(size).collect()


def profile(
    frame: pl.DataFrame, *, max_cardinality: int, declared: Mapping[str, str] | None = None
) -> list[ColumnProfile]:
    """Every column of the frame, in order; ``declared`` types are kept, other text columns inferred."""
    if max_cardinality < 1:
        raise ValueError("max_cardinality must be at least 1")
    declared = declared or {}
    return [_column(frame[name], max_cardinality, name in declared) for name in frame.columns]


def suggest_spec(columns: Sequence[ColumnProfile], *, target: str | None = None) -> dict[str, Any]:
    """The columns' roles: ``target`` when it is a column, else one named like a target (``churn``,
    ``label``, ...), else none; identifiers and dates as metadata; the rest as inputs. The outputs are
    ``prediction`` and, for a categorical target, ``probability_<label>`` per label, in label order."""
    by_name = {c.name: c for c in columns}
    chosen = by_name.get(target) if target is not None else None
    if chosen is None:
        chosen = guess_target(columns)
    metadata = [
        c.name
        for c in columns
        if c is not chosen and (c.is_identifier or c.data_type in (DataType.DATE, DataType.DATETIME))
    ]
    skipped = {*metadata, chosen.name if chosen else None}
    outputs = [PREDICTION]
    if chosen is not None:
        outputs += [f"probability_{label}" for label in class_labels(chosen)]
    return {
        "schema_version": 1,
        "inputs": [c.name for c in columns if c.name not in skipped],
        "outputs": outputs,
        "targets": [chosen.name] if chosen else [],
        "decisions": [],
        "metadata": metadata,
        "custom_features": [],
    }


def guess_target(columns: Sequence[ColumnProfile]) -> ColumnProfile | None:
    """The first column named exactly as a target word, else the first with one among its words;
    identifiers and dates never."""
    candidates = [
        c for c in columns if not c.is_identifier and c.data_type not in (DataType.DATE, DataType.DATETIME)
    ]
    exact = [c for c in candidates if c.name.strip().lower() in TARGET_WORDS]
    if exact:
        return exact[0]
    return next((c for c in candidates if any(w in TARGET_WORDS for w in words(c.name))), None)


def class_labels(column: ColumnProfile) -> list[str]:
    """A categorical column's labels, sorted by value and rendered as text (booleans lower-case);
    none for a numeric one or one with more values than its categories list."""
    if column.categories is None or column.data_type in (DataType.FLOAT, DataType.DATE, DataType.DATETIME):
        return []
    return [_label(v) for v in sorted(column.categories)]


def words(name: str) -> list[str]:
    """A column name's words, lower-case: ``CustomerID`` -> customer, id; ``is_churn`` -> is, churn."""
    return [w.lower() for w in _WORD.findall(name)]


def _label(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _column(series: pl.Series, max_cardinality: int, declared: bool) -> ColumnProfile:
    spellings: list[str] = []
    if series.dtype == pl.String:
        series, spellings = _without_null_words(series)
        data_type, series = (DataType.STRING, series) if declared else _infer(series)
    else:
        data_type, series = _typed(series)
    values = series.drop_nulls()
    if data_type is DataType.FLOAT:
        values = values.filter(values.is_finite())  # NaN is missing; an infinity has no place in a range
    out = ColumnProfile(
        name=series.name,
        data_type=data_type,
        rows=series.len(),
        distinct=values.n_unique(),
        nullable=series.null_count() > 0 or (data_type is DataType.FLOAT and bool(series.is_nan().any())),
        replace_with_nulls=spellings,
    )
    if not values.is_empty() and data_type in (DataType.INTEGER, DataType.FLOAT):
        out.min, out.max = values.min(), values.max()  # type: ignore[assignment]
        out.bins = _bins(values)
    elif not values.is_empty() and data_type in (DataType.DATE, DataType.DATETIME):
        out.min, out.max = _iso(values.min()), _iso(values.max())
    listed = data_type in (DataType.STRING, DataType.BOOLEAN) or (
        data_type is DataType.INTEGER and out.distinct <= LOW_CARDINALITY
    )
    if listed and out.distinct <= max_cardinality:
        out.categories = _by_frequency(values)
    return out


def _without_null_words(text: pl.Series) -> tuple[pl.Series, list[str]]:
    """The text with null spellings made null, and the spellings it held (most frequent first)."""
    is_null_word = text.str.strip_chars().str.to_lowercase().is_in(_NULL_KEYS).fill_null(False)
    if not is_null_word.any():
        return text, []
    found = _by_frequency(text.filter(is_null_word))
    return pl.select(pl.when(~is_null_word).then(text)).to_series().alias(text.name), found


def _infer(text: pl.Series) -> tuple[DataType, pl.Series]:
    """The narrowest type every present value parses as, and the values as that type."""
    stripped = text.str.strip_chars()
    present = stripped.len() - stripped.null_count()
    if present == 0:
        return DataType.STRING, text
    for data_type in _INFERRED:
        parsed = pl.select(_parse(data_type, pl.lit(stripped))).to_series().alias(text.name)
        if parsed.len() - parsed.null_count() == present:
            return data_type, parsed
    return DataType.STRING, text


def _parse(data_type: DataType, text: pl.Expr) -> pl.Expr:
    """Text as ``data_type`` the way core's ``parse_value`` reads it; null where a value is not one."""
    if data_type is DataType.INTEGER:
        return pl.when(text.str.contains(r"^[+-]?[0-9]+$")).then(text.cast(pl.Int64, strict=False))
    if data_type is DataType.FLOAT:
        return text.cast(pl.Float64, strict=False)
    if data_type is DataType.BOOLEAN:
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(list(TRUE_WORDS)))
            .then(pl.lit(True))
            .when(lowered.is_in(list(FALSE_WORDS)))
            .then(pl.lit(False))
            .otherwise(pl.lit(None, dtype=pl.Boolean))
        )
    if data_type is DataType.DATE:
        return text.str.to_date("%Y-%m-%d", strict=False)
    return iso_datetime(text)


def _typed(series: pl.Series) -> tuple[DataType, pl.Series]:
    """A typed column's data type, its values in the type's one polars form (Int64, Float64, naive UTC)."""
    dtype = series.dtype
    if dtype == pl.Boolean:
        return DataType.BOOLEAN, series
    if dtype.is_integer():
        return DataType.INTEGER, series.cast(pl.Int64, strict=False)
    if dtype.is_float() or dtype.is_decimal():
        return DataType.FLOAT, series.cast(pl.Float64)
    if dtype == pl.Date:
        return DataType.DATE, series
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return DataType.DATETIME, series
    if isinstance(dtype, pl.Categorical | pl.Enum) or dtype == pl.Null:
        return DataType.STRING, series.cast(pl.String)
    raise ValueError(f"column {series.name!r} holds {dtype}, which no column type holds")


def _bins(values: pl.Series) -> list[float]:
    """Quantile edges at every tenth of the values, increasing, each once."""
    edges: list[float] = []
    for i in range(BINS + 1):
        # 12 significant digits: an interpolated 0.9000000000000004 is shown as the 0.9 it means
        edge = float(f"{values.quantile(i / BINS, interpolation='linear'):.12g}")
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


def _by_frequency(values: pl.Series) -> list[Any]:
    """Distinct values, most frequent first (ties by value, so the order is the same every time)."""
    counts = values.value_counts(name="__n").sort(["__n", values.name], descending=[True, False])
    return counts[values.name].to_list()


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date | datetime) else None
