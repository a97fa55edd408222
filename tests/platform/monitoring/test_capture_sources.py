"""Captured rows of batches and forecasts on both backends: a batch's blocks become one append with its
inputs and Id columns (naive lake timestamps as UTC); a forecast's points carry their step and series."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from raylake.platform.db import session_scope
from raylake.platform.monitoring import capture, sources
from raylake.platform.monitoring.capture import CaptureSource
from tests.factories import add_version, draft_model
from tests.platform.monitoring.test_capture import COLUMNS


def test_a_batch_block_is_captured_with_its_inputs(engine, ctx, member, tmp_path):
    with session_scope(engine) as session:
        model = draft_model(session, member)
        run = add_version(session, model, columns=COLUMNS)
        session.expunge_all()
    version = capture.model_version(run)
    block = pl.DataFrame(
        {
            "CustomerID": ["C1", "C2"],
            "prediction": [True, False],
            "probability": [0.75, 0.6],
            sources.carried("CustomerID"): ["C1", "C2"],
            sources.carried("Tenure"): [3, 4],
            sources.carried("Seen"): [datetime(2026, 1, 1, 12), None],  # silver's naive timestamps
            sources.carried("Joined"): [date(2020, 1, 1), None],
        }
    )
    stamp = datetime(2026, 2, 3, 4, 5, tzinfo=UTC)
    rows = sources.batch_block(
        version,
        block,
        request_id="batch-9",
        ts=stamp,
        caller="ann",
        prediction="prediction",
        probability="probability",
        first_row=0,
    )
    after = sources.batch_block(
        version,
        block,
        request_id="batch-9",
        ts=stamp,
        caller="ann",
        prediction="prediction",
        probability="probability",
        first_row=2,
    )
    path = tmp_path / "captured.parquet"
    pl.concat([rows, after]).write_parquet(path)
    assert sources.append_file(ctx, engine, version, path) == 4
    frame = capture.read_captured(ctx, model.id).sort("Tenure")
    assert frame["_source"].unique().to_list() == [CaptureSource.BATCH.value]
    assert frame["_prediction"].to_list() == ["true", "true", "false", "false"]
    assert frame["_probability"].to_list() == [0.75, 0.75, 0.6, 0.6]
    assert frame["_prediction_value"].null_count() == 4 and frame["_latency_ms"].null_count() == 4
    assert frame["CustomerID"].to_list() == ["C1", "C1", "C2", "C2"] and frame["Plan"].null_count() == 4
    assert frame["Seen"][0] == datetime(2026, 1, 1, 12, tzinfo=UTC) and frame["_ts"][0] == stamp
    assert (frame["_request_id"][0], frame["_caller"][0], frame["_version"][0]) == ("batch-9", "ann", 1)
    assert sorted(frame["_row"].to_list()) == [0, 1, 2, 3]  # the rows' places in the batch's result


def test_forecast_points_are_rows_with_their_step_and_series(engine, member):
    with session_scope(engine) as session:
        model = draft_model(session, member, task="forecasting", model_type="forecaster")
        run = add_version(
            session,
            model,
            problem_type="Forecasting",
            columns=[
                {"name": "Store", "data_type": "String", "attribute": "Id"},
                {"name": "Day", "data_type": "Date", "attribute": "Time"},
                {"name": "Promo", "data_type": "Boolean", "attribute": "Feature"},
                {"name": "Sales", "data_type": "Float", "attribute": "Target"},
            ],
        )
    points = [{"date": "2026-01-01", "value": 10.5}, {"date": "2026-01-02", "value": 11.0}]
    exogenous = [{"time": "2026-01-02", "Promo": True}, {"time": "2026-01-01", "Promo": False}]
    rows, sent, results = sources.forecast_rows(run, "S1", exogenous, points)
    assert rows == [{"Promo": False, "Day": date(2026, 1, 1)}, {"Promo": True, "Day": date(2026, 1, 2)}]
    assert sent == [{"Store": "S1"}] * 2 and results == [{"prediction": 10.5}, {"prediction": 11.0}]
    assert capture.model_version(run).regression  # a forecast's value is its prediction_value
