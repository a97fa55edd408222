"""Forecasting internals without Ray: frequencies, regular panels, features, backtest, intervals, state."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from raylake.ml.forecast import backtest
from raylake.ml.forecast.features import FeatureSpec, step_features, training_matrix
from raylake.ml.forecast.forecaster import Forecaster, History, _codes, series_scales
from raylake.ml.forecast.frequency import NAMED, ForecastDataError, infer, parse
from raylake.ml.forecast.panel import SINGLE_SERIES, regularise
from raylake.ml.forecast.pipeline import fit


def airline_like(n: int = 144, seed: int = 0) -> pl.DataFrame:
    """Monthly, trending, multiplicative yearly season: the shape of the airline passengers series."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = (100 + 2 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 4, n)
    months = pl.datetime_range(datetime(1949, 1, 1), datetime(1949, 1, 1), "1mo", eager=True)
    months = pl.Series([datetime(1949 + i // 12, i % 12 + 1, 1) for i in range(n)])
    return pl.DataFrame({"Month": months.dt.strftime("%Y-%m"), "Passengers": y})


def stores(n_series: int = 6, days: int = 120, seed: int = 1, drop: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        level = rng.uniform(10, 1000)
        for d in range(days):
            if rng.random() < drop:
                continue
            day = datetime(2024, 1, 1) + timedelta(days=d)
            promo = int(rng.random() < 0.2)
            weekly = 1 + 0.3 * np.sin(2 * np.pi * day.weekday() / 7)
            sales = level * weekly * (1.5 if promo else 1) + rng.normal(0, level * 0.03)
            rows.append({"store": f"S{s}", "day": day, "sales": sales, "promo": promo})
    return pl.DataFrame(rows)


def airline_panel():
    return regularise(
        airline_like(),
        time="Month",
        target="Passengers",
        series=None,
        exog=[],
        frequency=None,
        min_history=25,
    )


def panel_of(frame: pl.DataFrame, **kwargs):
    args = {"time": "day", "target": "sales", "series": "store", "exog": ["promo"], "frequency": None}
    return regularise(frame, **{**args, "min_history": 2, **kwargs})


def test_frequencies_parse_and_infer():
    assert (
        parse("week") is NAMED["Week"] and parse("W") is NAMED["Week"] and parse("monthly") is NAMED["Month"]
    )
    half_hour = parse("30min")
    assert (half_hour.every, half_hour.season, half_hour.horizon) == ("30m", 48, 48)
    assert parse("60min") is NAMED["Hour"]
    with pytest.raises(ForecastDataError, match="unknown frequency"):
        parse("fortnightly")
    with pytest.raises(ForecastDataError, match="divide a day"):
        parse("7min")
    month_ends = pl.DataFrame(
        {
            "series": ["a"] * 4,
            "time": [
                datetime(2020, 1, 31),
                datetime(2020, 2, 29),
                datetime(2020, 3, 31),
                datetime(2020, 4, 30),
            ],
        }
    )
    assert infer(month_ends) is NAMED["Month"]
    assert NAMED["Month"].steps_from(datetime(2020, 1, 31), 3) == [
        datetime(2020, 2, 29),
        datetime(2020, 3, 31),
        datetime(2020, 4, 30),
    ]


def test_panel_fills_gaps_and_names_bad_rows():
    panel = panel_of(stores(drop=0.05))
    frame = panel.frame
    assert panel.frequency is NAMED["Day"] and panel.report["gaps_filled"] > 0
    assert (
        frame.group_by("series").agg(pl.col("time").diff().drop_nulls().n_unique())["time"].to_list()
        == [1] * 6
    )
    assert frame["y"].null_count() == 0 and frame["promo"].null_count() == 0
    single = airline_panel()
    assert single.series == [SINGLE_SERIES] and single.frequency is NAMED["Month"]

    base = stores(2, 40)
    with pytest.raises(ForecastDataError, match="duplicate timestamps"):
        panel_of(pl.concat([base, base.head(1)]))
    with pytest.raises(ForecastDataError, match="fewer than 2 observations"):
        panel_of(pl.concat([base, base.head(1).with_columns(store=pl.lit("lonely"))]))
    text = base.with_columns(pl.col("day").dt.strftime("%Y-%m-%d"))
    with pytest.raises(ForecastDataError, match=r"cannot be parsed as dates, e.g. 'soon'"):
        panel_of(
            text.with_columns(
                pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("soon")).otherwise("day").alias("day")
            )
        )
    with pytest.raises(ForecastDataError, match="not Week as given"):
        panel_of(base, frequency=NAMED["Week"])
    shifted = base.with_columns(
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.col("day") + timedelta(hours=5))
        .otherwise("day")
        .alias("day")
    )
    with pytest.raises(ForecastDataError, match="off the Day grid"):
        panel_of(shifted)


@pytest.mark.parametrize("offset", [0.0, -500.0], ids=["log", "scaled"])
def test_step_features_match_training_features(offset: float):
    """What the model sees at forecast time (recursive, numpy) equals what it was trained on (polars)."""
    panel = panel_of(stores(3, 80).with_columns(pl.col("sales") + offset))
    frame, spec = panel.frame, FeatureSpec.build(panel.frequency, panel.frame, ["promo"], 3)
    assert spec.log == (offset == 0)
    scales = frame.join(series_scales(frame), on="series")["scale"].to_numpy()
    codes = _codes(frame["series"], panel.series)
    X, _ = training_matrix(frame, spec, scales, codes)
    per_series = frame.group_by("series", maintain_order=True).len()["len"].to_numpy()
    last_rows = np.cumsum(per_series - 1) - 1  # each series' last training row (first rows are dropped)
    history = History.of(
        frame.filter(pl.int_range(pl.len()).over("series") < pl.len().over("series") - 1), spec.history
    )
    buffer = spec.to_z(history.values, series_scales(frame)["scale"].to_numpy()[:, None])
    last = frame.group_by("series", maintain_order=True).tail(1)
    step = step_features(buffer, buffer.shape[1], spec, last["time"], spec.exog_matrix(last), np.arange(3))
    np.testing.assert_allclose(step, X[last_rows], rtol=1e-9)


def test_backtest_picks_the_better_model_and_calibrates_intervals():
    panel = panel_of(stores(8, 150))
    result = fit(panel, horizon=7)
    metrics = result.metrics
    candidates = metrics["backtest"]["candidates"]
    assert (
        metrics["model"] == "LightGBM"
        and candidates["LightGBM"]["mase"] < candidates["SeasonalNaive"]["mase"]
    )
    assert metrics["backtest"]["folds"] == 8 and metrics["coverage_out_of_fold"]
    assert 0.75 <= metrics["interval_coverage"] <= 1.0
    assert len(metrics["per_step"]["mase"]) == 7
    forecaster = result.forecaster
    future = np.array([[1.0], [0.0], [0.0]])
    points = forecaster.forecast("S2", 3, future)
    assert [p["date"] for p in points] == ["2024-05-30", "2024-05-31", "2024-06-01"]
    widths = [p["upper"] - p["lower"] for p in points]
    assert widths == sorted(widths) and all(p["confidence"] == 0.9 for p in points)

    again = Forecaster.from_json(json.loads(json.dumps(forecaster.to_json())), forecaster.booster)
    assert again.forecast("S2", 3, future) == points


def test_fits_side_by_side_match_fits_one_after_another():
    """The job's thread runner (fits on threads of one process) changes where fits run, not results."""
    from raylake.train_jobs.train_forecast import thread_runner

    panel = panel_of(stores(4, 90))
    one, two = fit(panel, horizon=7), fit(panel, horizon=7, runner=thread_runner(2))
    assert one.metrics == two.metrics
    assert one.forecaster.forecast("S1", 3, np.zeros((3, 1))) == two.forecaster.forecast(
        "S1", 3, np.zeros((3, 1))
    )


def test_seasonal_naive_on_a_trending_series_and_min_history():
    panel = airline_panel()
    result = fit(panel, horizon=12, candidates=["SeasonalNaive"])
    assert result.metrics["model"] == "SeasonalNaive" and result.forecaster.booster is None
    points = result.forecaster.forecast(SINGLE_SERIES, 13)
    last_year = panel.frame["y"].tail(12).to_list()
    assert [p["value"] for p in points[:12]] == pytest.approx(last_year) and points[12][
        "value"
    ] == pytest.approx(last_year[0])
    assert points[0]["date"] == "1961-01-01"
    assert backtest.min_history(12) == 25
    assert backtest.origins(panel.frame, 12) == 8 and backtest.origins(panel.frame.head(40), 12) == 2


def test_conformal_width_is_the_finite_sample_quantile():
    errors = np.arange(1, 10, dtype=float).reshape(1, 1, 9)  # 9 unit errors
    assert backtest.conformal_width(errors, 0.9) == 9.0  # ceil(10 * 0.9) = 9th smallest
    assert backtest.conformal_width(errors, 0.5) == 5.0
