"""A few JSON rows to the model matrix without polars, for the real-time inference hot path.

``Preprocessor.transform`` works on whole polars columns: ideal for a million rows, but building and
transforming a one-row frame costs a millisecond or more, which dominates a request to a small model.
``RowEncoder`` reproduces the same matrix in plain Python from what the ``Preprocessor`` learnt (fills,
category codes, scaling), so one row of ten columns takes some 10 to 25 microseconds.

``tests/ml/test_rows.py`` proves the two identical, value form by value form. Common forms (numbers,
booleans, ISO dates and naive timestamps, ``date``/``datetime`` objects) are converted here; any other
form (``"inf"``, ``"05/03/2024"``, a timestamp with a zone, a float in a String column, ...) is handed to
the very polars expression ``transform`` uses, for that one value, so it is slower but never different.

Standardisation is rounded as polars rounds it (see ``RowEncoder._standardise``), so the match is bit
for bit, not merely close.

Each row's values are read on their own. ``transform`` reads them the same way in any batch whose
columns each keep one JSON type (and, for Date columns, one date format); a batch that mixes them makes
polars pick one reading for the whole column (it turns a column of numbers and strings into strings; it
infers a Date column's format from the first parseable string and nulls the rest), so a row would
depend on its neighbours. DateTime text is read value by value in both (``ml/times.py``: ISO 8601 in
any mix of forms, offsets to UTC), and text that is no timestamp is a ValueError naming it in both.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from raylake.core.types import FALSE_WORDS, TRUE_WORDS
from raylake.ml.columns import Column, coerced
from raylake.ml.preprocess import Preprocessor, timestamp_problem
from raylake.ml.times import examples

Base = float | int | str | None
"""A column's base value as ``transform`` computes it: the number, 0/1 flag, category, days since the
epoch (Date) or microseconds since the epoch (DateTime); None when missing."""


class _Ask(enum.Enum):
    ASK = "ask"


_ASK = _Ask.ASK  # a fast converter's answer for a form it does not handle: ask polars
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_US = 86_400_000_000
_INT64 = range(-(2**63), 2**63)  # larger Python ints become Int128 in polars; those take the slow path
# What polars' str.strip_chars() removes (Rust's char::is_whitespace): Python's str.isspace() set,
# less the separators U+001C..U+001F.
_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# The spellings polars parses exactly like float(); "nan", "inf", "1_000" etc. are left to polars.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Naive ISO timestamps, whose polars reading is verified: seconds and fraction optional, nanoseconds
# truncated. One with a zone (Z, +02:00) is left to polars (ml/times.py), which converts it to UTC.
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?)?"
)


class RowEncoder:
    """Encodes rows exactly like ``pre.transform`` would; built once per loaded model."""

    def __init__(self, pre: Preprocessor) -> None:
        self.feature_names = list(pre.feature_names)
        self._steps = [
            (column.name, _converter(column), *_emitter(column, pre.encoding)) for column in pre._columns
        ]
        self._kinds = [column.kind for column in pre._columns]
        names = [column.name for column in pre._columns]
        self._sources = np.array([names.index(source) for source in pre.feature_sources], dtype=np.intp)
        width = len(self.feature_names)
        shift, scale = np.zeros(width), np.ones(width)
        for i, (mean, std) in pre._scaling.items():
            shift[i], scale[i] = mean, std
        # x - 0.0, x / 1.0 and x * 1.0 are exact, so unscaled features can share the vectorised pass
        self._scaling = (shift, scale, 1.0 / scale) if pre._scaling else None

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The float64 matrix, one row per mapping; a missing key or None takes the column's fill."""
        out: list[list[float]] = []
        for row in rows:
            features: list[float] = []
            for name, convert, fill, emit in self._steps:
                value = row.get(name)
                base = None if value is None else convert(value)
                emit(features, fill if base is None else base)
            out.append(features)
        matrix = np.array(out, dtype=np.float64).reshape(len(out), len(self.feature_names))
        if self._scaling is not None and rows:
            self._standardise(matrix, rows)
        return matrix

    def _standardise(self, matrix: np.ndarray, rows: Sequence[Mapping[str, Any]]) -> None:
        """``(x - mean) / std`` in place, rounded as polars rounds it: polars multiplies a column by the
        reciprocal of ``std`` but divides a broadcast scalar by ``std`` itself, and the two can differ in
        the last bit."""
        assert self._scaling is not None
        shift, scale, reciprocal = self._scaling
        matrix -= shift
        if len(rows) == 1:  # every column of a one-row frame takes the scalar path
            matrix /= scale
            return
        divide = self._scalar_columns(rows, matrix)[self._sources]
        if divide.any():
            matrix[:, divide] /= scale[divide]
            matrix[:, ~divide] *= reciprocal[~divide]
        else:
            matrix *= reciprocal

    def _scalar_columns(self, rows: Sequence[Mapping[str, Any]], matrix: np.ndarray) -> np.ndarray:
        """Per input column, whether polars holds its base values for this batch as one broadcast scalar:
        when every row took the fill, or every row is a Boolean word of the same meaning (a literal).
        Only a column constant over the batch can be one, so only those are looked at again."""
        varies = np.zeros(len(self._steps), dtype=bool)
        np.logical_or.at(varies, self._sources, (matrix != matrix[0]).any(axis=0))
        flags = np.zeros(len(self._steps), dtype=bool)
        for c in np.flatnonzero(~varies):
            name, convert, _, _ = self._steps[c]
            origins = {_origin(self._kinds[c], convert, row.get(name)) for row in rows}
            flags[c] = len(origins) == 1 and _COLUMN not in origins
        return flags


_COLUMN = object()  # a base value polars computes from the column's own values


def _origin(kind: str, convert: Callable[[Any], Base], value: Any) -> object:
    """Where polars takes a row's base value from: the fill (None), a Boolean word's literal (its value)
    or the column (``_COLUMN``)."""
    base = None if value is None else convert(value)
    if base is None:
        return None
    return base if kind == "boolean" and type(value) is str else _COLUMN


# ---------------------------------------------------------------------- raw value -> base value


def _converter(column: Column) -> Callable[[Any], Base]:
    """The column's value converter: a fast path per Python type, polars for everything else."""
    fast = _FAST[column.kind]

    def convert(value: Any) -> Base:
        """A raw value as the column's base value; ValueError for text that is no timestamp."""
        handler = fast.get(type(value))
        if handler is not None:
            base = handler(value)
            if base is not _ASK:
                return base
        base = _by_polars(column.kind, value)
        if base is None and column.kind == "datetime" and type(value) is str and value.strip(_WHITESPACE):
            # as transform does: text that is no timestamp is named, not taken as missing
            raise ValueError(timestamp_problem(column.name, 1, examples(pl.Series([value]))))
        return base

    return convert


def _by_polars(kind: str, value: Any) -> Base:
    """``transform``'s own conversion applied to one value: slower (~0.5 ms) but identical by construction."""
    frame = pl.DataFrame({"value": [value]})
    return frame.select(coerced("value", kind, frame.schema["value"])).item()


def _number(value: str) -> Base | _Ask:
    text = value.strip(_WHITESPACE)
    if not text:
        return None
    if _NUMBER.fullmatch(text) is None:
        return _ASK
    number = float(text)
    return number if math.isfinite(number) else None


def _flag(value: str) -> float | None:
    word = value.strip(_WHITESPACE).lower()
    return 1.0 if word in TRUE_WORDS else 0.0 if word in FALSE_WORDS else None


def _days(value: str) -> Base | _Ask:
    text = value.strip(_WHITESPACE)
    if not text:
        return None
    found = _DATE.fullmatch(text)
    if found is None:
        timestamp = _DATETIME.fullmatch(text)
        # polars' date formats have no time part, so a timestamp is not a date
        return None if timestamp is not None and timestamp[4] is not None else _ASK
    try:
        return date(int(found[1]), int(found[2]), int(found[3])).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return _ASK


def _microseconds(value: str) -> Base | _Ask:
    text = value.strip(_WHITESPACE)
    if not text:
        return None
    found = _DATETIME.fullmatch(text)
    if found is None:
        return _ASK
    year, month, day, hour, minute, second, fraction = found.groups()
    hour, minute, second = int(hour or 0), int(minute or 0), int(second or 0)
    if hour > 23 or minute > 59 or second > 59:  # polars reads a leap second; leave such oddities to it
        return _ASK
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return _ASK
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second
    return seconds * 1_000_000 + (int(fraction[:6].ljust(6, "0")) if fraction else 0)


def _moment(value: datetime) -> int:
    """Microseconds since the epoch of the instant (UTC for an aware value), as polars stores it."""
    offset = value.utcoffset() or timedelta(0)
    days = value.toordinal() - _EPOCH_ORDINAL
    seconds = days * 86_400 + value.hour * 3600 + value.minute * 60 + value.second
    return seconds * 1_000_000 + value.microsecond - offset // timedelta(microseconds=1)


def _int64(convert: Callable[[int], Base]) -> Callable[[int], Base | _Ask]:
    return lambda value: convert(value) if value in _INT64 else _ASK


def _missing(value: Any) -> None:
    return None


# kind -> exact Python type -> converter; a type not listed (or a subclass) goes to polars
_FAST: dict[str, dict[type, Callable[[Any], Any]]] = {
    "numeric": {
        str: _number,
        int: _int64(float),
        float: lambda value: value if math.isfinite(value) else None,
        bool: float,
    },
    "boolean": {
        str: _flag,
        int: _int64(lambda value: 0.0 if value == 0 else 1.0),
        float: lambda value: 0.0 if value == 0 else 1.0,  # NaN counts as true in polars too
        bool: float,
    },
    "category": {
        str: lambda value: value,
        int: _int64(str),
        bool: lambda value: "true" if value else "false",
    },
    "date": {
        str: _days,
        date: lambda value: value.toordinal() - _EPOCH_ORDINAL,
        datetime: lambda value: _moment(value) // _DAY_US,
        int: _missing,
        float: _missing,
        bool: _missing,
    },
    "datetime": {
        str: _microseconds,
        datetime: _moment,
        date: lambda value: (value.toordinal() - _EPOCH_ORDINAL) * _DAY_US,
        int: _missing,
        float: _missing,
        bool: _missing,
    },
}


# ---------------------------------------------------------------------- base value -> features


Emit = Callable[[list[float], Any], None]


def _emitter(column: Column, encoding: str) -> tuple[Base, Emit]:
    """The column's fill (in the base representation) and the function appending its features."""
    if column.kind == "category":
        other = len(column.categories)
        codes = {category: code for code, category in enumerate(column.categories)}
        if encoding == "onehot":

            def onehot(features: list[float], value: Any) -> None:
                """Append the value's one-hot block (all zeros for a category not seen in training)."""
                block = [0.0] * other
                code = codes.get(value, other)
                if code < other:
                    block[code] = 1.0
                features.extend(block)

            return column.fill, onehot
        ordinal = {category: float(code) for category, code in codes.items()}
        unseen = float(other)
        return column.fill, lambda features, value: features.append(ordinal.get(value, unseen))
    if column.kind == "date":
        return int(column.fill), lambda features, days: features.extend(_date_parts(days))

    if column.kind == "datetime":

        def timestamp(features: list[float], microseconds: Any) -> None:
            """Append a timestamp's date parts, hour and minute."""
            days, rest = divmod(microseconds, _DAY_US)
            features.extend(_date_parts(days))
            features.append(float(rest // 3_600_000_000))
            features.append(float(rest // 60_000_000 % 60))

        return int(column.fill), timestamp
    return float(column.fill), lambda features, number: features.append(number)


def _date_parts(days: int) -> tuple[float, ...]:
    """Year, month, day, ISO weekday (Monday = 1) and day of year, as polars' ``dt`` gives them."""
    ordinal = days + _EPOCH_ORDINAL
    try:
        day = date.fromordinal(ordinal)
    except (ValueError, OverflowError):  # outside Python's years 1..9999, which polars still handles
        series = pl.Series([days]).cast(pl.Date).dt
        parts = (series.year(), series.month(), series.day(), series.weekday(), series.ordinal_day())
        return tuple(float(part[0]) for part in parts)
    first = date(day.year, 1, 1).toordinal()
    return (
        float(day.year),
        float(day.month),
        float(day.day),
        float(day.isoweekday()),
        float(ordinal - first + 1),
    )
