"""Forecasting over HTTP through Serve: training on Ray (backtest, intervals), forecasts through the model
replicas with exogenous values inline or from a dataset, the prediction log and gold table, bad input."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import pytest

from raylake.platform import lake
from tests.api.conftest import once_per_session
from tests.api.test_training_api import upload, wait_for
from tests.factories import unique

START = date(2024, 1, 1)
DAYS = 70
STORES = ("S1", "S2", "S3")
COLUMNS = [
    {"column_name": "Store", "attribute_name": "Id"},
    {"column_name": "Day", "attribute_name": "Time"},
    {"column_name": "Sales", "attribute_name": "Target"},
    {"column_name": "Promo", "attribute_name": "Feature"},
]


def sales_csv(days: int = DAYS, stores=STORES, *, future: bool = False, seed: int = 0) -> bytes:
    """Daily sales per store: a weekly pattern, a level per store, and a promotion lift."""
    rng = random.Random(seed)
    lines = ["Store,Day,Sales,Promo"]
    first = START + timedelta(days=DAYS) if future else START
    for s, store in enumerate(stores):
        level = 100 * (s + 1)
        for d in range(days):
            day = first + timedelta(days=d)
            promo = 1 if (d * 7 + s) % 5 == 0 else 0
            weekly = 1 + 0.3 * math.sin(2 * math.pi * day.weekday() / 7)
            sales = "" if future else f"{level * weekly * (1.4 if promo else 1) + rng.gauss(0, 3):.2f}"
            lines.append(f"{store},{day.isoformat()},{sales},{promo}")
    return ("\n".join(lines) + "\n").encode()


def training_body(dataset_id: int, name_prefix: str) -> dict:
    """A week-ahead forecaster of the daily sales, every candidate backtested."""
    return {
        "dataset_id": dataset_id,
        "predictor_name": unique(name_prefix),
        "domain": "Retail",
        "problem_type": "Forecasting",
        "columns": COLUMNS,
        "forecast_horizon": 7,
    }


def forecast_body(run: dict, **overrides) -> dict:
    return {
        "train_id": run["id"],
        "preprocess_id": run["preprocess_id"],
        "steps": 5,
        "unique_id": "S2",
        **overrides,
    }


def promos(steps: int, store: str = "S2") -> list[dict]:
    s = STORES.index(store)
    return [
        {"Day": (START + timedelta(days=DAYS + d)).isoformat(), "Promo": 1 if (d * 7 + s) % 5 == 0 else 0}
        for d in range(steps)
    ]


@dataclass
class Forecasting:
    api: object
    headers: dict[str, str]
    outsider: dict[str, str]
    dataset_id: int
    run: dict


@pytest.fixture(scope="module")
def model(api) -> Forecasting:
    once_per_session(api)  # Ray-bound; the PostgreSQL pass writes the same tables in the training tests
    tenant = api.new_tenant()
    _, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    dataset_id = upload(api, headers, sales_csv())
    resp = api.client.post("/api/v1/train/", json=training_body(dataset_id, "sales-"), headers=headers)
    assert resp.status_code == 201, resp.text
    run = wait_for(api, headers, resp.json()["id"])
    assert run["train_status"] == "completed", run["error"]
    return Forecasting(api, headers, outsider, dataset_id, run)


def test_forecasting_run_records_its_backtest(model: Forecasting):
    run = model.run
    assert run["model_algorithm"] in ("LightGBM", "SeasonalDrift", "SeasonalNaive")
    summary = model.api.client.get(
        "/api/v1/train/model-summary", params={"train_id": run["id"]}, headers=model.headers
    )
    assert summary.status_code == 200, summary.text
    metrics = run["metrics"]
    assert metrics["frequency"] == "Day" and metrics["horizon"] == 7 and metrics["level"] == 0.9
    for name in ("mase", "smape", "rmse"):
        assert len(metrics["per_step"][name]) == 7 and metrics[name] >= 0
    candidates = metrics["backtest"]["candidates"]
    assert (
        set(candidates) == {"LightGBM", "SeasonalDrift", "SeasonalNaive"}
        and metrics["backtest"]["folds"] >= 1
    )
    assert metrics["mase"] == min(c["mase"] for c in candidates.values())
    assert 0 <= metrics["interval_coverage"] <= 1
    assert {t["algorithm"] for t in run["trials"]} == set(candidates)
    assert metrics["data"]["series"] == 3 and metrics["data"]["gaps_filled"] == 0


def test_forecast_with_inline_and_dataset_exogenous(model: Forecasting):
    api, headers, run = model.api, model.headers, model.run
    resp = api.client.post(
        "/api/v1/inference/forecast", json=forecast_body(run, exogenous=promos(5)), headers=headers
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    points = body["forecast"]
    assert body["unique_id"] == "S2" and body["frequency"] == "Day" and len(points) == 5
    expected = [(START + timedelta(days=DAYS + d)).isoformat() for d in range(5)]
    assert [p["date"] for p in points] == expected
    for p in points:
        assert p["lower"] <= p["value"] <= p["upper"] and p["confidence"] == 0.9
        assert 100 < p["value"] < 400  # store S2's level is 200

    future = upload(api, headers, sales_csv(10, future=True), usage="p")
    from_dataset = api.client.post(
        "/api/v1/inference/forecast", json=forecast_body(run, dataset_id=future), headers=headers
    )
    assert from_dataset.status_code == 200, from_dataset.text
    assert from_dataset.json()["forecast"] == points

    log = api.client.get("/api/v1/inference/predictions", params={"train_id": run["id"]}, headers=headers)
    entries = [e for e in log.json()["data"] if e["prediction_type"] == "forecast"]
    assert len(entries) == 2 and all(e["no_of_records"] == 5 for e in entries)
    table = lake.load(lake.open_catalog(api.settings), "gold", f"forecast_{run['id']}")
    rows = table.scan().to_arrow()
    assert rows.num_rows == 10 and set(rows.column("unique_id").to_pylist()) == {"S2"}


def test_forecast_bad_input(model: Forecasting):
    api, headers, run = model.api, model.headers, model.run

    def post(body: dict, who: dict | None = None):
        return api.client.post("/api/v1/inference/forecast", json=body, headers=who or headers)

    cases = [
        (forecast_body(run, unique_id="S9", exogenous=promos(5)), 404, "S9"),
        (forecast_body(run, frequency="Week", exogenous=promos(5)), 422, "Day steps, not Week"),
        (forecast_body(run, frequency="fortnightly", exogenous=promos(5)), 422, "unknown frequency"),
        (forecast_body(run, steps=-1, exogenous=promos(5)), 422, "between 1 and"),
        (forecast_body(run, steps=10**6, exogenous=promos(5)), 422, "between 1 and"),
        (forecast_body(run), 422, "needs future values of Promo"),
        (forecast_body(run, exogenous=promos(3)), 422, "missing future values of 'Promo'"),
        (forecast_body(run, exogenous=[{"Promo": 1}]), 422, "no 'Day' value"),
        (forecast_body(run, exogenous=[{"Day": "2024-03-11", "Promo": "many"}]), 422, "must be Integer"),
        (
            forecast_body(run, preprocess_id=run["preprocess_id"] + 1000, exogenous=promos(5)),
            422,
            "preprocess_id",
        ),
        (forecast_body(run, unique_id=None, exogenous=promos(5)), 422, "unique_id is required"),
    ]
    for body, status, words in cases:
        resp = post(body)
        assert resp.status_code == status, (body, resp.text)
        assert words in resp.json()["detail"], (body, resp.json())
    assert post(forecast_body(run, exogenous=promos(5)), model.outsider).status_code == 404
    # a forecasting model does not answer real-time predictions, and vice versa
    wrong = api.client.post(
        "/api/v1/inference/", json={"train_id": run["id"], "features": {}}, headers=headers
    )
    assert wrong.status_code == 422 and "forecast" in wrong.json()["detail"]
    shap = api.client.get(
        "/api/v1/train/generate-feature-importance", params={"train_id": run["id"]}, headers=headers
    )
    assert shap.status_code == 422 and "forecasts" in shap.json()["detail"], shap.text
    switched = api.client.post(
        "/api/v1/train/update/",
        json={"train_id": run["id"], "preprocess_id": run["preprocess_id"]},
        headers=headers,
    )
    assert switched.status_code == 422 and "forecasts" in switched.json()["detail"]
    batch = api.client.post(
        "/api/v1/inference/batchPrediction",
        json={"train_id": run["id"], "dataset_id": model.dataset_id},
        headers=headers,
    )
    assert batch.status_code == 422 and "forecast" in batch.json()["detail"]


def test_forecasting_training_refuses_bad_series(api):
    _, headers = api.new_user(api.new_tenant(), ["data_scientist"])

    def train_on(content: bytes, **overrides):
        dataset_id = upload(api, headers, content)
        body = {
            "dataset_id": dataset_id,
            "predictor_name": unique("bad-"),
            "domain": "Retail",
            "problem_type": "Forecasting",
            "columns": COLUMNS,
            **overrides,
        }
        return api.client.post("/api/v1/train/", json=body, headers=headers)

    good = sales_csv(30).decode().splitlines()
    one_point = "\n".join([*good, "S4,2024-01-01,10.0,0"]) + "\n"
    duplicate = "\n".join([*good, good[5]]) + "\n"
    unparseable = "\n".join([good[0], *(line.replace("2024-01-0", "2024-13-0") for line in good[1:])]) + "\n"
    cases = [
        (one_point.encode(), {}, "fewer than 2 observations"),
        (duplicate.encode(), {}, "duplicate timestamps"),
        (unparseable.encode(), {}, "cannot be parsed as dates"),
        (sales_csv(30), {"frequency": "Week"}, "not Week as given"),
        (sales_csv(30), {"forecast_horizon": 20}, "needs at least 41"),
        (sales_csv(30), {"forecast_horizon": 10**6}, "above the maximum"),
        (sales_csv(30), {"algorithm": "RandomForest"}, "not valid for Forecasting"),
        (sales_csv(30), {"shap_enabled": True}, "shap_enabled is not available"),
        (
            sales_csv(30),
            {"columns": [c for c in COLUMNS if c["attribute_name"] != "Time"]},
            "attribute_name Time",
        ),
    ]
    details = api.client.post(
        "/api/v1/train/get_details",
        json={"dataset_id": upload(api, headers, sales_csv(30)), "problem_type": "Forecasting"},
        headers=headers,
    )
    assert details.json()["algorithms"] == ["auto", "LightGBM", "SeasonalDrift", "SeasonalNaive"]
    for content, overrides, words in cases:
        resp = train_on(content, **overrides)
        assert resp.status_code == 422, (overrides, resp.text)
        assert words in resp.json()["detail"], (overrides, resp.json())


def test_fits_as_ray_tasks(ray_cluster):
    """``RAYLAKE_FORECAST_FITS=tasks``: each call a one-CPU Ray task, a frame argument stored once."""
    from raylake.ml.forecast import backtest
    from raylake.train_jobs.train_forecast import ray_runner

    frame = pl.DataFrame({"series": ["a"] * 30 + ["b"] * 40, "y": [1.0] * 70})
    calls = [
        (backtest.origins, {"frame": frame, "horizon": 5}),
        (backtest.origins, {"frame": frame, "horizon": 9}),
        (backtest.min_history, {"horizon": 4}),
    ]
    assert ray_runner(calls) == backtest.in_process(calls) == [4, 2, 9]
