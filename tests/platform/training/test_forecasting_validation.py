"""A Forecasting request's columns, checked before any data is read."""

from __future__ import annotations

import pytest

from raylake.platform.errors import Invalid
from raylake.platform.training.forecasting import algorithm, column_names


def role(name: str, data_type: str, attribute: str) -> dict:
    return {"name": name, "data_type": data_type, "attribute": attribute, "default": None}


BASE = [role("Store", "String", "Id"), role("Day", "Date", "Time"), role("Sales", "Float", "Target")]


def test_roles_name_time_series_target_and_exogenous():
    names = column_names([*BASE, role("Promo", "Integer", "Feature")])
    assert names == {"time": "Day", "series": "Store", "target": "Sales", "exog": ["Promo"]}


@pytest.mark.parametrize(
    ("roles", "words"),
    [
        (BASE[::2], "attribute_name Time"),
        ([BASE[0], role("Day", "Integer", "Time"), BASE[2]], "not Date or DateTime"),
        ([*BASE, role("Shop", "String", "Id")], "at most one Id"),
        ([BASE[0], BASE[1], role("Sales", "String", "Target")], "numeric target"),
        ([*BASE, role("y", "Float", "Feature")], "reserved"),
        ([*BASE, role("Opened", "Date", "Feature")], "date columns cannot be exogenous"),
    ],
)
def test_bad_roles_are_named(roles, words):
    with pytest.raises(Invalid, match=words):
        column_names(roles)


def test_algorithms():
    assert algorithm(None) == "auto" and algorithm(" lightgbm ") == "LightGBM"
    with pytest.raises(Invalid, match="not valid for Forecasting"):
        algorithm("RandomForest")
