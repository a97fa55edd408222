"""Rows in a prediction or forecast request, parsed as the template's types before any replica is asked:
every problem is named in one 422."""

from __future__ import annotations

import pytest

from raylake.platform import models as _all_tables  # noqa: F401  (mappers resolve across features)
from raylake.platform.errors import Invalid
from raylake.platform.inference.forecasts import _inline_rows
from raylake.platform.inference.service import MAX_PROBLEMS, prepare_rows
from raylake.platform.training.models import TrainingRun


def column(name: str, data_type: str, attribute: str, default: str | None = None) -> dict:
    return {"name": name, "data_type": data_type, "attribute": attribute, "default": default}


CHURN = TrainingRun(
    columns=[
        column("CustomerID", "String", "Id"),
        column("Tenure", "Integer", "Feature"),
        column("Monthly", "Float", "Feature", "50.0"),
        column("Joined", "Date", "Feature"),
        column("Churn", "Boolean", "Target"),
    ]
)
SALES = TrainingRun(
    columns=[
        column("Day", "Date", "Time"),
        column("Sales", "Float", "Target"),
        column("Promo", "Integer", "Feature"),
    ]
)


def test_prediction_rows_are_typed_and_defaults_left_to_the_model():
    rows = prepare_rows(CHURN, [{"Tenure": "5", "Joined": "2020-01-15", "CustomerID": "C1"}])
    assert rows[0]["Tenure"] == 5 and str(rows[0]["Joined"]) == "2020-01-15" and "Monthly" not in rows[0]


def test_every_problem_of_every_instance_is_named_once():
    with pytest.raises(Invalid) as caught:
        prepare_rows(CHURN, [{"Tenure": "x", "Joined": "2020-01-15"}, {"Tenure": 2.5, "Plan": "Gold"}])
    message = str(caught.value)
    assert "instance 0: feature 'Tenure' must be Integer" in message
    assert "instance 1: unknown features: Plan" in message
    assert "instance 1: feature 'Tenure' must be Integer" in message
    assert "instance 1: missing required features: Joined" in message


def test_problems_stop_at_the_cap():
    with pytest.raises(Invalid) as caught:
        prepare_rows(CHURN, [{"Tenure": "x", "Joined": "y"}] * 100)
    assert str(caught.value).count("must be") == MAX_PROBLEMS


def test_inline_exogenous_rows():
    rows = _inline_rows(SALES, [{"Day": "2024-05-01", "Promo": "1"}])
    assert rows == [{"time": "2024-05-01", "Promo": 1}]
    with pytest.raises(Invalid) as caught:
        _inline_rows(SALES, [{"Promo": 1}, {"Day": "2024-05-02", "Promo": "no", "Price": 3}])
    message = str(caught.value)
    assert "exogenous row 0: no 'Day' value" in message
    assert "exogenous row 1: 'Promo' must be Integer" in message
    assert "exogenous row 1: unknown column 'Price'" in message
