"""Text to timestamps, read one way everywhere: naive UTC datetimes (microseconds).

``iso_datetime`` reads ISO 8601 (``T`` or a space, optional seconds and fraction, ``Z`` or an offset,
converted to UTC, or a bare date): the template type DateTime, which the dataset validator accepts.
``any_datetime`` adds the day-first and slash layouts polars itself recognises. Both work value by value,
so a row reads the same whatever rows surround it (the model's real-time encoder relies on that).
``parse_times`` (forecasting's time column) also tries whole-column layouts, such as month-first dates,
that only a column of values can tell apart. A value none of them reads is named, never silently null.
"""

from __future__ import annotations

import polars as pl

EXAMPLES = 3
# After "T" -> " " and "Z" -> "+00:00"; "%.f" also matches no fraction at all.
_NAIVE_ISO = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_AWARE_ISO = ("%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M%#z")  # %#z: +02, +0530 or +05:30
# Layouts polars' own inference reads that are not ISO; month-first is left to whole columns.
_OTHER_LAYOUTS = ("%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y")
# Whole-column layouts for parse_times, tried after polars' inference: the one that parses the most values
# wins (inference looks at the first value only, and knows no month-only or month-first dates).
FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y-%m",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y%m%d",
)


def _first_of(attempts: list[pl.Expr]) -> pl.Expr:
    """The first non-null attempt, per value."""
    # A when/then chain, not pl.coalesce: polars 2.1's common-subexpression elimination merges coalesced
    # parses of one input and loses values.
    parsed = attempts[-1]
    for attempt in reversed(attempts[:-1]):
        parsed = pl.when(attempt.is_not_null()).then(attempt).otherwise(parsed)
    return parsed


def _iso_attempts(text: pl.Expr) -> list[pl.Expr]:
    iso = text.str.replace("T", " ", literal=True).str.replace(r"[Zz]$", "+00:00")
    aware = [
        iso.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC").dt.replace_time_zone(None)
        for fmt in _AWARE_ISO
    ]
    return [*aware, *(iso.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in _NAIVE_ISO)]


def iso_datetime(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text as a naive UTC datetime; null where a value is not one."""
    return _first_of(_iso_attempts(text))


def any_datetime(text: pl.Expr) -> pl.Expr:
    """ISO 8601 or a day-first or slashed date, as a naive UTC datetime; null where a value is none."""
    others = [text.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in _OTHER_LAYOUTS]
    return _first_of([*_iso_attempts(text), *others])


def unread(text: pl.Series, parsed: pl.Series) -> pl.Series:
    """The text values that did not parse (blank ones are missing, not bad)."""
    if text.dtype != pl.String:
        return text.clear()
    return text.filter(parsed.is_null() & text.is_not_null() & (text.str.strip_chars() != ""))


def examples(bad: pl.Series) -> str:
    """A few unread values for an error message, quoted."""
    return ", ".join(repr(str(v)[:60]) for v in bad.head(EXAMPLES).to_list())


def _parse_as(text: pl.Series, fmt: str | None) -> pl.Series:
    try:
        if fmt == "%Y-%m":  # a month: its first day
            return (text + "-01").str.to_datetime("%Y-%m-%d", strict=False, time_unit="us")
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
    except pl.exceptions.PolarsError:
        return pl.Series([None] * text.len(), dtype=pl.Datetime("us"))
    if parsed.dtype.time_zone is not None:  # type: ignore[attr-defined]
        parsed = parsed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return parsed


def parse_times(values: pl.Series) -> pl.Series:
    """Dates, timestamps or text as naive UTC datetimes; a value no reading parses is null (see ``unread``).

    Text is read value by value (mixed ISO forms and offsets) and also with polars' inference and each
    whole-column layout: the reading that leaves the fewest values unread wins, the earliest on a tie."""
    if values.dtype == pl.Date:
        return values.cast(pl.Datetime("us"))
    if isinstance(values.dtype, pl.Datetime):
        if values.dtype.time_zone is not None:
            values = values.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return values.cast(pl.Datetime("us"))
    text = values.cast(pl.String).str.strip_chars()
    per_value = pl.select(any_datetime(pl.lit(text))).to_series()
    candidates = (per_value, *(_parse_as(text, fmt) for fmt in (None, *FORMATS)))
    return min(candidates, key=lambda p: p.null_count()).alias(values.name)
