"""A table's columns read from a sample: types, ranges, categories, bins, null spellings and roles."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from raylake.core.types import DataType
from raylake.ml import profile


def by_name(frame: pl.DataFrame, **options) -> dict[str, profile.ColumnProfile]:
    return {c.name: c for c in profile.profile(frame, max_cardinality=1000, **options)}


def test_text_columns_get_the_narrowest_type_and_their_null_spellings():
    n = 30
    text = pl.DataFrame(
        {
            "CustomerID": [f"C{i}" for i in range(n)],
            "tenure": [str(i % 12) for i in range(n)],
            "spend": [f" {i * 1.5} " if i % 7 else "NA" for i in range(n)],
            "plan": ["Basic"] * 5 + ["Premium"] * 20 + ["-", "n/a", " ", "?", "Premium"],
            "paid": ["yes", "No"] * 15,
            "joined": [f"2024-01-{i + 1:02d}" for i in range(n)],
            "seen": ["2024-01-01T10:00:00Z", "2024-01-02 12:30:00+02:00"] * 15,
            "note": [None] * n,
        },
    ).with_columns(pl.col("note").cast(pl.String))
    c = by_name(text)
    assert {name: col.data_type for name, col in c.items()} == {
        "CustomerID": DataType.STRING,
        "tenure": DataType.INTEGER,
        "spend": DataType.FLOAT,
        "plan": DataType.STRING,
        "paid": DataType.BOOLEAN,
        "joined": DataType.DATE,
        "seen": DataType.DATETIME,
        "note": DataType.STRING,
    }
    spend, plan = c["spend"], c["plan"]
    assert (spend.min, spend.max, spend.nullable, spend.replace_with_nulls) == (1.5, 43.5, True, ["NA"])
    assert spend.categories is None and spend.bins is not None and len(spend.bins) == 11
    assert spend.bins == sorted(spend.bins) and (spend.bins[0], spend.bins[-1]) == (1.5, 43.5)
    # only the spellings present, most frequent first (ties by value); they are not categories
    assert plan.replace_with_nulls == [" ", "-", "?", "n/a"] and plan.categories == ["Premium", "Basic"]
    assert c["tenure"].categories == list(range(12)) and (c["tenure"].min, c["tenure"].max) == (0, 11)
    assert c["paid"].categories == [False, True] and c["paid"].min is None
    assert (c["joined"].min, c["joined"].max) == ("2024-01-01", "2024-01-30") and c["joined"].bins is None
    assert c["seen"].max == "2024-01-02T10:30:00"  # to UTC
    assert c["note"].nullable and c["note"].categories == [] and c["CustomerID"].replace_with_nulls == []
    assert c["tenure"].as_dict()["data_type"] == "Integer" and c["tenure"].as_dict()["n_dimensions"] == 1


def test_typed_columns_keep_their_type_and_declared_text_stays_text():
    frame = pl.DataFrame(
        {
            "code": ["1", "2", "NA"],
            "x": [1.0, float("nan"), 3.0],
            "when": [datetime(2024, 5, 1, 8), datetime(2024, 5, 2, 9), None],
            "day": [date(2024, 5, 1)] * 3,
            "n": pl.Series([3, 1, 2], dtype=pl.UInt8),
        }
    )
    c = by_name(frame, declared={"code": "String"})
    assert c["code"].data_type is DataType.STRING and c["code"].categories == ["1", "2"]
    assert c["code"].replace_with_nulls == ["NA"]
    x = c["x"]
    assert x.data_type is DataType.FLOAT and (x.min, x.max, x.nullable) == (1.0, 3.0, True)
    assert c["when"].data_type is DataType.DATETIME and c["when"].min == "2024-05-01T08:00:00"
    assert c["day"].data_type is DataType.DATE and not c["day"].nullable
    assert c["n"].data_type is DataType.INTEGER
    assert c["n"].bins == [1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0]  # deciles: 11 edges
    with pytest.raises(ValueError, match="no column type holds"):
        profile.profile(pl.DataFrame({"v": [[1, 2]]}), max_cardinality=10)


def test_categories_are_capped_at_max_cardinality():
    frame = pl.DataFrame(
        {
            "city": ["a"] * 5 + ["b"] * 3 + ["c"],
            "flag": [True] * 9,
            "code": [*range(8), 7],
            "many": list(range(100, 109)),
        }
    )
    c = {x.name: x for x in profile.profile(frame, max_cardinality=3)}
    assert c["city"].categories == ["a", "b", "c"] and c["flag"].categories == [True]
    c = {x.name: x for x in profile.profile(frame, max_cardinality=2)}
    assert c["city"].categories is None and c["city"].distinct == 3
    assert c["code"].categories is None  # 8 distinct: over the cap
    c = {x.name: x for x in profile.profile(frame, max_cardinality=1000)}
    assert c["code"].categories == [7, 0, 1, 2, 3, 4, 5, 6]
    assert c["many"].categories == list(range(100, 109))  # low cardinality: at most LOW_CARDINALITY
    wide = {x.name: x for x in profile.profile(pl.DataFrame({"v": list(range(50))}), max_cardinality=1000)}
    assert wide["v"].categories is None  # an Integer with many values is a measurement


def test_the_spec_suggests_a_target_identifiers_and_dates_as_metadata():
    n = 40
    frame = pl.DataFrame(
        {
            "customerId": [f"C{i}" for i in range(n)],
            "row": list(range(n)),
            "Joined": [date(2024, 1, 1)] * n,
            "tenure": [i % 5 for i in range(n)],
            "plan": ["a", "b"] * (n // 2),
            "is_churn": [True, False] * (n // 2),
        }
    )
    columns = profile.profile(frame, max_cardinality=1000)
    spec = profile.suggest_spec(columns)
    assert spec == {
        "schema_version": 1,
        "inputs": ["tenure", "plan"],
        "outputs": ["prediction", "probability_false", "probability_true"],
        "targets": ["is_churn"],
        "decisions": [],
        "metadata": ["customerId", "row", "Joined"],
        "custom_features": [],
    }
    chosen = profile.suggest_spec(columns, target="plan")
    assert chosen["targets"] == ["plan"]
    assert chosen["outputs"] == ["prediction", "probability_a", "probability_b"]
    assert "is_churn" in chosen["inputs"]
    numeric = profile.profile(pl.DataFrame({"x": [1.0, 2.0], "y": [0.5, 1.5]}), max_cardinality=10)
    assert profile.suggest_spec(numeric)["outputs"] == ["prediction"]  # a regression target
    assert profile.suggest_spec(numeric)["targets"] == ["y"]
    plain = profile.profile(pl.DataFrame({"a": [1], "playful": ["x"]}), max_cardinality=10)
    assert profile.suggest_spec(plain)["targets"] == [] and profile.words("CustomerID") == ["customer", "id"]


def test_a_sample_never_reads_past_sample_size(tmp_path):
    path = tmp_path / "big.csv"
    good = "".join(f"{i},{i % 3}\n" for i in range(200_000))
    # a line no reader takes after the sample's rows: reading it fails the scan
    path.write_text("n,k\n" + good + '1,2,3,4,"unclosed\n')
    scan = pl.scan_csv(path, infer_schema=False)
    with pytest.raises(pl.exceptions.ComputeError):
        scan.collect()
    frame = profile.sample(scan, 100)
    assert frame.height == 100
    n = by_name(frame)["n"]
    assert (n.min, n.max, n.rows) == (0, 99, 100)
