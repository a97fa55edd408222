"""Raw rows to a regular panel: one row per series and time step, no duplicates, gaps filled.

Gap rule (docs/training.md, Forecasting): a missing step (or a null target) gets the target linearly
interpolated between its neighbours in the same series; exogenous values are carried forward (then
backward, for leading gaps). Duplicate timestamps within a series are an error, not averaged: which of
two readings is right is the data owner's call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from raylake.ml import times
from raylake.ml.forecast.frequency import ForecastDataError, Frequency, infer

SINGLE_SERIES = "all"  # the series id when the rows have no Id column
EXAMPLES = 3


@dataclass
class Panel:
    """Rows ``series, time, y, *exog`` on a regular grid per series, sorted by series then time."""

    frame: pl.DataFrame
    frequency: Frequency
    exog: list[str]
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def series(self) -> list[str]:
        """The panel's series ids in the order they first appear."""
        return self.frame["series"].unique(maintain_order=True).to_list()


def parse_times(values: pl.Series) -> pl.Series:
    """Timestamps as naive UTC datetimes; unparseable strings are an error naming a few of them."""
    if values.dtype not in (pl.Date, pl.String) and not isinstance(values.dtype, pl.Datetime):
        raise ForecastDataError(f"the Time column holds {values.dtype}, not dates or timestamps")
    parsed = times.parse_times(values)
    bad = times.unread(values, parsed)
    if bad.len():
        examples = times.examples(bad)
        raise ForecastDataError(f"{bad.len()} timestamps cannot be parsed as dates, e.g. {examples}")
    return parsed


def regularise(
    rows: pl.DataFrame,
    *,
    time: str,
    target: str,
    series: str | None,
    exog: list[str],
    frequency: Frequency | None,
    min_history: int,
) -> Panel:
    """Validate and regularise raw rows; raises ForecastDataError naming what is wrong."""
    frame = pl.DataFrame(
        {
            "series": rows[series].cast(pl.String).fill_null("") if series else [SINGLE_SERIES] * rows.height,
            "time": parse_times(rows[time]),
        }
    )
    try:
        y = rows[target].cast(pl.Float64).alias("y")
    except pl.exceptions.InvalidOperationError as exc:
        raise ForecastDataError(f"the target {target!r} is not numeric") from exc
    frame = frame.with_columns(y, *[rows[c].alias(c) for c in exog])
    missing_time = frame["time"].null_count()
    frame = frame.filter(pl.col("time").is_not_null())
    if frame.height == 0:
        raise ForecastDataError("no rows with a timestamp")

    dupes = frame.group_by("series", "time").len().filter(pl.col("len") > 1).sort("series", "time")
    if dupes.height:
        examples = ", ".join(f"{s!r} at {t}" for s, t, _ in dupes.head(EXAMPLES).iter_rows())
        raise ForecastDataError(f"{dupes.height} duplicate timestamps within a series, e.g. {examples}")

    lengths = frame.group_by("series").agg(pl.col("y").is_not_null().sum().alias("n")).sort("n")
    short = lengths.filter(pl.col("n") < min_history)
    if short.height:
        examples = ", ".join(f"{s!r} ({n})" for s, n in short.head(EXAMPLES).iter_rows())
        raise ForecastDataError(
            f"{short.height} series have fewer than {min_history} observations, e.g. {examples}"
        )

    inferred = infer(frame)
    if frequency is not None and frequency.every != inferred.every:
        raise ForecastDataError(f"the timestamps are {inferred.name} apart, not {frequency.name} as given")
    freq = frequency or inferred

    bounds = frame.group_by("series", maintain_order=True).agg(
        pl.col("time").min().alias("lo"), pl.col("time").max().alias("hi")
    )
    grid = bounds.select(
        "series", pl.datetime_ranges("lo", "hi", interval=freq.every, time_unit="us").alias("time")
    ).explode("time")
    off_grid = frame.join(grid, on=["series", "time"], how="anti")
    if off_grid.height:
        examples = ", ".join(
            f"{s!r} at {t}" for s, t in off_grid.select("series", "time").head(EXAMPLES).iter_rows()
        )
        raise ForecastDataError(
            f"{off_grid.height} timestamps are off the {freq.name} grid of their series, e.g. {examples}"
        )
    regular = grid.join(frame, on=["series", "time"], how="left").sort("series", "time")
    gaps = regular.height - frame.height
    null_targets = int(regular["y"].null_count()) - gaps
    regular = regular.with_columns(
        pl.col("y").interpolate().forward_fill().backward_fill().over("series"),
        *[pl.col(c).forward_fill().backward_fill().over("series") for c in exog],
    )
    return Panel(
        frame=regular,
        frequency=freq,
        exog=list(exog),
        report={
            "series": bounds.height,
            "rows": frame.height,
            "rows_without_time": missing_time,
            "gaps_filled": gaps,
            "null_targets_filled": null_targets,
            "frequency": freq.name,
            "shortest_series": lengths["series"][0],
            "shortest_length": int(lengths["n"][0]),
        },
    )
