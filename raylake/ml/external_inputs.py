"""An external model's inputs as typed columns, and as the numeric matrix surrogates and KernelSHAP use.

Rows (JSON values already parsed to their DataType) and polars frames become the same ``Columns``: one
numpy array per signature input, in signature order. Integer and Float columns are float64 (NaN when
missing), Boolean columns bool, and String, Date and DateTime columns text (object arrays of ``str``,
``""`` when missing): a model trained elsewhere sees dates as ISO 8601 text, the one spelling every
toolkit reads.

``encode`` turns columns into a float64 matrix: numbers as they are, booleans 0/1, text as its code in a
per-column category list (unseen text: NaN). ``decode`` reverses it for KernelSHAP, which perturbs the
matrix and needs typed rows back to call the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from raylake.core.types import FALSE_WORDS, TRUE_WORDS

Columns = list[np.ndarray]
Inputs = list[tuple[str, str]]
Categories = dict[str, list[str]]

NUMERIC_TYPES = frozenset({"Integer", "Float"})
TEXT_TYPES = frozenset({"String", "Date", "DateTime"})
INPUT_TYPES = NUMERIC_TYPES | TEXT_TYPES | {"Boolean"}
# A probe row's value per type: what a model must accept for its signature to be believed.
DEFAULTS: dict[str, Any] = {
    "String": "",
    "Integer": 0,
    "Float": 0.0,
    "Boolean": False,
    "Date": "1970-01-01",
    "DateTime": "1970-01-01T00:00:00",
}
# A surrogate learns at most this many categories per text column (the most frequent); the rest read as
# unseen, so an identifier-like column cannot blow up the surrogate or its metadata.
MAX_CATEGORIES = 1000


def is_text(kind: str) -> bool:
    """Whether the model receives the column as text."""
    return kind in TEXT_TYPES


def from_rows(inputs: Inputs, rows: Sequence[Mapping[str, Any]]) -> Columns:
    """Rows of Python values to typed columns; ValueError naming a value its column cannot hold."""
    columns: Columns = []
    for name, kind in inputs:
        values = [row.get(name) for row in rows]
        try:
            if kind in TEXT_TYPES:
                columns.append(np.array([_text(v) for v in values], dtype=object))
            elif kind == "Boolean":
                columns.append(np.array([_flag(v) for v in values], dtype=bool))
            else:
                columns.append(np.array([_number(v) for v in values], dtype=np.float64))
        except (TypeError, ValueError) as error:
            raise ValueError(f"input {name!r} ({kind}): {error}") from None
    return columns


def from_frame(inputs: Inputs, frame: pl.DataFrame) -> Columns:
    """A frame's signature columns (extra columns ignored) to typed columns; ValueError naming missing
    inputs."""
    missing = [name for name, _ in inputs if name not in frame.columns]
    if missing:
        raise ValueError(f"the data lacks the model's inputs: {', '.join(missing)}")
    columns: Columns = []
    for name, kind in inputs:
        series = frame.get_column(name)
        if kind in TEXT_TYPES:
            if series.dtype.is_temporal():
                # polars renders dates with a space and fixed fractions; the rows path writes isoformat
                texts = [_text(v) for v in series.to_list()]
            else:
                texts = series.cast(pl.String).fill_null("").to_list()
            columns.append(np.array(texts, dtype=object))
        elif kind == "Boolean":
            columns.append(series.cast(pl.Boolean).fill_null(False).to_numpy().astype(bool))
        else:
            columns.append(series.cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64))
    return columns


def defaults(inputs: Inputs, n: int = 1) -> list[dict[str, Any]]:
    """``n`` rows of every input at its type's default (zero, empty text, false, the epoch)."""
    row = {name: DEFAULTS[kind] for name, kind in inputs}
    return [dict(row) for _ in range(n)]


def learn_categories(inputs: Inputs, columns: Columns) -> Categories:
    """Each text column's most frequent values (at most ``MAX_CATEGORIES``; ties by value)."""
    learnt: Categories = {}
    for (name, kind), column in zip(inputs, columns, strict=True):
        if kind in TEXT_TYPES:
            counts = Counter(column.tolist())
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            learnt[name] = [value for value, _ in ranked[:MAX_CATEGORIES]]
    return learnt


def extended(inputs: Inputs, categories: Categories, *column_sets: Columns) -> Categories:
    """``categories`` plus the text in ``column_sets`` it lacks, appended so known codes keep their
    meaning: what decoding rows that hold unseen text needs."""
    grown: Categories = {}
    for j, (name, kind) in enumerate(inputs):
        if kind in TEXT_TYPES:
            known = list(categories.get(name, []))
            seen = set(known)
            for columns in column_sets:
                for value in columns[j].tolist():
                    if value not in seen:
                        seen.add(value)
                        known.append(value)
            grown[name] = known
    return grown


def encode(inputs: Inputs, columns: Columns, categories: Categories) -> np.ndarray:
    """Typed columns to a float64 matrix: numbers, 0/1, category codes (unseen text: NaN)."""
    n = len(columns[0]) if columns else 0
    X = np.empty((n, len(inputs)), dtype=np.float64)
    for j, ((name, kind), column) in enumerate(zip(inputs, columns, strict=True)):
        if kind in TEXT_TYPES:
            index = {value: code for code, value in enumerate(categories.get(name, []))}
            X[:, j] = [index.get(value, np.nan) for value in column.tolist()]
        else:
            X[:, j] = column
    return X


def decode(inputs: Inputs, X: np.ndarray, categories: Categories) -> Columns:
    """A float64 matrix back to typed columns (a NaN or unknown code reads as ``""``)."""
    columns: Columns = []
    for j, (name, kind) in enumerate(inputs):
        values = X[:, j]
        if kind in TEXT_TYPES:
            known = categories.get(name, [])
            texts = [
                known[int(code)] if code == code and 0 <= code < len(known) else ""
                for code in values.tolist()
            ]
            columns.append(np.array(texts, dtype=object))
        elif kind == "Boolean":
            columns.append(values >= 0.5)
        else:
            columns.append(values.astype(np.float64))
    return columns


def summary_row(inputs: Inputs, columns: Columns) -> dict[str, Any]:
    """One typical row: each numeric column's median, each boolean's and text column's commonest value."""
    row: dict[str, Any] = {}
    for (name, kind), column in zip(inputs, columns, strict=True):
        if kind in NUMERIC_TYPES:
            finite = column[~np.isnan(column)]
            row[name] = float(np.median(finite)) if len(finite) else 0.0
        else:
            counts = Counter(column.tolist())
            row[name] = min(counts.items(), key=lambda item: (-item[1], str(item[0])))[0] if counts else None
    return row


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _flag(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
    raise ValueError(f"{value!r} is not a boolean")


def _number(value: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, str):
        return float(value.strip())
    return float(value)
