"""The column data types of a template, their aliases, and how a text value parses as each.

Shared by templates (a column's ``default_value`` must parse as its type) and the dataset validator
(every cell must), so both agree on one definition of "valid".

Canonical types and the names accepted for them (case-insensitive, surrounding whitespace ignored);
a type is always stored and returned in its canonical spelling:

=========  ==========================================================
canonical  also accepted
=========  ==========================================================
String     ``str``, ``string``, ``text``, ``varchar``
Integer    ``int``, ``integer``, ``bigint``, ``long``
Float      ``float``, ``double``, ``decimal``, ``number``, ``real``
Boolean    ``bool``, ``boolean``
Date       ``date``
DateTime   ``datetime``, ``timestamp``
=========  ==========================================================

What parses (``parse_value``); every type but String ignores surrounding whitespace:

- String: any text, kept as is.
- Integer: optional sign and ASCII digits, within a signed 64-bit integer (``1.0`` is not an Integer).
- Float: decimal or scientific notation (``1``, ``-0.5``, ``.5``, ``1e-3``), ``nan``, ``inf``.
- Boolean: ``true``/``false``, ``1``/``0``, ``yes``/``no`` (case-insensitive).
- Date: ISO ``yyyy-mm-dd``.
- DateTime: ISO 8601 (``2025-09-18T10:00:00Z``, ``2025-09-18 10:00:00+02:00``, ``2025-09-18``).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from enum import StrEnum


class DataType(StrEnum):
    STRING = "String"
    INTEGER = "Integer"
    FLOAT = "Float"
    BOOLEAN = "Boolean"
    DATE = "Date"
    DATETIME = "DateTime"


ALIASES: dict[str, DataType] = {
    **{t.value.lower(): t for t in DataType},
    "str": DataType.STRING,
    "text": DataType.STRING,
    "varchar": DataType.STRING,
    "int": DataType.INTEGER,
    "bigint": DataType.INTEGER,
    "long": DataType.INTEGER,
    "double": DataType.FLOAT,
    "decimal": DataType.FLOAT,
    "number": DataType.FLOAT,
    "real": DataType.FLOAT,
    "bool": DataType.BOOLEAN,
    "timestamp": DataType.DATETIME,
}

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})

_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(nan|inf|infinity)", re.I)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def resolve(name: str | DataType) -> DataType:
    """The canonical type for a type name or alias (case-insensitive); ValueError when unknown."""
    if isinstance(name, DataType):
        return name
    found = ALIASES.get(str(name).strip().lower())
    if found is None:
        raise ValueError(f"unknown data_type {_show(str(name))}; expected one of {', '.join(DataType)}")
    return found


def parse_value(data_type: DataType | str, text: str) -> str | int | float | bool | date | datetime:
    """``text`` as a Python value of ``data_type`` (a type name or alias); ValueError when it is not one."""
    kind = resolve(data_type)
    if kind is DataType.STRING:
        return text
    value = text.strip()
    if kind is DataType.INTEGER:
        if _INTEGER.fullmatch(value):
            number = int(value)
            if INT64_MIN <= number <= INT64_MAX:
                return number
            raise ValueError(f"{_show(text)} is outside the 64-bit Integer range")
    elif kind is DataType.FLOAT:
        if _FLOAT.fullmatch(value):
            real = float(value)
            # "inf"/"nan" spelled out are values; a literal too large for a double is not
            if math.isfinite(real) or value.lstrip("+-")[:1].isalpha():
                return real
    elif kind is DataType.BOOLEAN:
        word = value.lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
    elif kind is DataType.DATE:
        if _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
    elif kind is DataType.DATETIME:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{_show(text)} is not a valid {kind.value}")


def _show(text: str, limit: int = 40) -> str:
    """The value for an error message: quoted and escaped, and cut short when long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
