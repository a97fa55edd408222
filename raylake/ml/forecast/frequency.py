"""A series' time step: named as users name it (``Day``, ``Week``, ``30min``), stepped as polars steps.

Calendar steps (month, quarter, year) are not fixed durations, so a frequency carries polars' interval
string (``1mo``) and every grid is built with polars' calendar arithmetic, never with seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl


class ForecastDataError(ValueError):
    """The rows cannot be forecast as given (unparseable or duplicate times, irregular spacing, too short)."""


@dataclass(frozen=True)
class Frequency:
    name: str  # how users and the API spell it
    every: str  # polars interval
    season: int  # default seasonal period, in steps
    horizon: int  # default forecast horizon, in steps

    def steps_from(self, start: datetime, steps: int) -> list[datetime]:
        """The ``steps`` timestamps after ``start`` (calendar arithmetic: Jan 31 + 1 month is Feb 28)."""
        n, unit = _split(self.every)
        offsets = pl.lit(pl.Series([f"{k * n}{unit}" for k in range(1, steps + 1)], dtype=pl.String))
        return pl.select(pl.lit(start, dtype=pl.Datetime("us")).dt.offset_by(offsets)).to_series().to_list()


def _split(every: str) -> tuple[int, str]:
    match = re.match(r"(\d+)(.+)", every)
    assert match, every
    return int(match.group(1)), match.group(2)


NAMED: dict[str, Frequency] = {
    f.name: f
    for f in (
        Frequency("Hour", "1h", 24, 24),
        Frequency("Day", "1d", 7, 14),
        Frequency("Week", "1w", 52, 8),
        Frequency("Month", "1mo", 12, 12),
        Frequency("Quarter", "3mo", 4, 4),
        Frequency("Year", "1y", 1, 3),
    )
}
ALIASES = {
    "h": "Hour",
    "hourly": "Hour",
    "1h": "Hour",
    "d": "Day",
    "daily": "Day",
    "1d": "Day",
    "w": "Week",
    "weekly": "Week",
    "1w": "Week",
    "m": "Month",
    "monthly": "Month",
    "ms": "Month",
    "1mo": "Month",
    "q": "Quarter",
    "quarterly": "Quarter",
    "3mo": "Quarter",
    "y": "Year",
    "a": "Year",
    "yearly": "Year",
    "annual": "Year",
    "1y": "Year",
}
_MINUTES = re.compile(r"^(\d+)\s*(?:min|minute|minutes|m|t)$", re.IGNORECASE)


def minutes(n: int) -> Frequency:
    """A sub-daily step of ``n`` minutes: its season is a day, its default horizon one day ahead."""
    if n <= 0 or (24 * 60) % n:
        raise ForecastDataError(f"a {n}-minute step does not divide a day")
    if n == 60:
        return NAMED["Hour"]
    per_day = 24 * 60 // n
    return Frequency(f"{n}min", f"{n}m", per_day, per_day)


def parse(text: str) -> Frequency:
    """A frequency from its name (``Week``), an alias (``W``, ``weekly``) or a minute step (``30min``)."""
    key = text.strip()
    for name, freq in NAMED.items():
        if key.lower() == name.lower():
            return freq
    if key.lower() in ALIASES:
        return NAMED[ALIASES[key.lower()]]
    match = _MINUTES.match(key)
    if match:
        return minutes(int(match.group(1)))
    raise ForecastDataError(
        f"unknown frequency {text!r}: use one of {', '.join(NAMED)} or a minute step such as '30min'"
    )


def infer(frame: pl.DataFrame) -> Frequency:
    """The step most pairs of consecutive timestamps share, across all series (``series``, ``time``).

    The most common step, not the smallest: a series with gaps still has mostly regular steps, and a
    stray duplicate-free but off-grid point must not shrink the frequency.
    """
    steps = (
        frame.sort("series", "time")
        .select((pl.col("time").diff().over("series")).dt.total_seconds().alias("step"))
        .drop_nulls()
        .filter(pl.col("step") > 0)["step"]
        .to_numpy()
    )
    if steps.size == 0:
        raise ForecastDataError("cannot infer a frequency: every series has a single timestamp")
    values, counts = np.unique(steps, return_counts=True)
    seconds = float(values[np.argmax(counts)])
    days = seconds / 86400
    if seconds < 86400:
        if seconds % 60 or (86400 % seconds):
            raise ForecastDataError(f"time steps of {seconds:g} s do not divide a day: irregular timestamps")
        return minutes(int(seconds // 60))
    if days == 1:
        return NAMED["Day"]
    if days == 7:
        return NAMED["Week"]
    if 28 <= days <= 31:
        return NAMED["Month"]
    if 89 <= days <= 92:
        return NAMED["Quarter"]
    if 365 <= days <= 366:
        return NAMED["Year"]
    raise ForecastDataError(
        f"cannot infer a frequency from steps of {days:g} days: give one of {', '.join(NAMED)}"
    )
