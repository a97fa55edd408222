"""Preprocessing rules: imputation, categories, dates, scaling, targets, and the JSON round trip."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from raylake.ml.preprocess import MISSING, ColumnRole, Preprocessor, drop_missing_target
from tests.ml.frames import INPUT_COLUMNS, mixed_frame, mixed_roles


def column(pre: Preprocessor, X: np.ndarray, name: str) -> np.ndarray:
    return X[:, pre.feature_names.index(name)]


def fit(frame: pl.DataFrame, roles: list[ColumnRole], **kwargs) -> Preprocessor:
    kwargs.setdefault("problem_type", "Classification")
    kwargs.setdefault("encoding", "ordinal")
    return Preprocessor.fit(frame, roles, **kwargs)


TRAIN = pl.DataFrame(
    {
        "n": [1.0, None, 3.0, float("inf"), 5.0, float("nan")],
        "i": [10, None, 30, 40, 50, 60],
        "b": [True, None, True, False, True, None],
        "s": ["a", "b", None, "a", "c", "b"],
        "d": [date(2024, 1, 1), None, date(2024, 1, 3), date(2024, 1, 5), date(2024, 1, 7), None],
        "t": [datetime(2024, 1, 1, 6, 30), None, None, datetime(2024, 1, 2), datetime(2024, 1, 3, 1), None],
        "y": ["no", "yes", "no", "yes", "no", "yes"],
    },
    schema_overrides={"t": pl.Datetime("us")},
)


def roles(**defaults: str) -> list[ColumnRole]:
    types = {"n": "Float", "i": "Integer", "b": "Boolean", "s": "String", "d": "Date", "t": "DateTime"}
    return [ColumnRole(name, kind, "Feature", defaults.get(name)) for name, kind in types.items()] + [
        ColumnRole("y", "String", "Target")
    ]


def test_missing_values_take_training_statistics():
    pre = fit(TRAIN, roles())
    X = pre.transform(TRAIN)
    # inf and NaN count as missing; the median of 1, 3, 5 is 3
    assert column(pre, X, "n").tolist() == [1.0, 3.0, 3.0, 3.0, 5.0, 3.0]
    assert column(pre, X, "i")[1] == 40.0  # median of 10, 30, 40, 50, 60
    assert column(pre, X, "b").tolist() == [1.0, 1.0, 1.0, 0.0, 1.0, 1.0]  # the mode, True
    assert pre._columns[3].categories.count(MISSING) == 1  # a null string is its own category
    assert column(pre, X, "d.day")[1] == 4.0  # the median of Jan 1, 3, 5 and 7
    # the median of Jan 1 06:30, Jan 2 00:00 and Jan 3 01:00
    assert [column(pre, X, f"t.{part}")[1] for part in ("day", "hour", "minute")] == [2.0, 0.0, 0.0]


def test_missing_values_take_template_defaults():
    pre = fit(TRAIN, roles(n="-1.5", i="7", b="false", s="zzz", d="2000-02-29", t="2010-05-06T07:08:00Z"))
    X = pre.transform(TRAIN)
    assert column(pre, X, "n").tolist() == [1.0, -1.5, 3.0, -1.5, 5.0, -1.5]
    assert column(pre, X, "i")[1] == 7.0
    assert column(pre, X, "b")[1] == 0.0
    assert column(pre, X, "s")[2] == pre._columns[3].categories.index("zzz")
    assert [column(pre, X, f"d.{p}")[1] for p in ("year", "month", "day", "weekday", "dayofyear")] == [
        2000.0,
        2.0,
        29.0,
        2.0,  # a Tuesday
        60.0,
    ]
    assert [column(pre, X, f"t.{p}")[1] for p in ("year", "month", "day", "hour", "minute")] == [
        2010.0,
        5.0,
        6.0,
        7.0,
        8.0,
    ]
    assert MISSING not in pre._columns[3].categories


def test_ordinal_codes_unseen_and_rare_categories_share_the_other_code():
    frame = pl.DataFrame({"s": ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"], "y": ["x", "z"] * 6})
    rs = [ColumnRole("s", "String", "Feature"), ColumnRole("y", "String", "Target")]
    pre = fit(frame, rs, max_categories=2)
    # most frequent first, ties broken by value: b and c both occur 3 times, b wins
    assert pre._columns[0].categories == ["a", "b"]
    assert pre.categorical_indices == [0]
    X = pre.transform(pl.DataFrame({"s": ["a", "b", "c", "d", "never seen", None]}))
    assert X[:, 0].tolist() == [0.0, 1.0, 2.0, 2.0, 2.0, 2.0]


def test_onehot_unseen_category_is_all_zeros_and_other_features_are_standardised():
    pre = fit(TRAIN, roles(), encoding="onehot")
    assert pre.categorical_indices == []
    onehot = [name for name in pre.feature_names if name.startswith("s=")]
    assert onehot == ["s=a", "s=b", f"s={MISSING}", "s=c"]
    X = pre.transform(TRAIN)
    for name in pre.feature_names:
        values = column(pre, X, name)
        if name in onehot:
            assert set(values.tolist()) <= {0.0, 1.0}
        else:
            assert abs(values.mean()) < 1e-9
            assert values.std() == pytest.approx(1.0) or values.std() == 0.0  # constant: std 0 -> 1
    new = TRAIN.with_columns(s=pl.lit("never seen"))
    assert column(pre, pre.transform(new), "s=a").sum() == 0
    assert pre.transform(new)[:, [pre.feature_names.index(n) for n in onehot]].sum() == 0


def test_date_features_and_sources():
    pre = fit(TRAIN, roles())
    assert pre.feature_names == [
        "n",
        "i",
        "b",
        "s",
        "d.year",
        "d.month",
        "d.day",
        "d.weekday",
        "d.dayofyear",
        "t.year",
        "t.month",
        "t.day",
        "t.weekday",
        "t.dayofyear",
        "t.hour",
        "t.minute",
    ]
    assert pre.feature_sources == ["n", "i", "b", "s"] + ["d"] * 5 + ["t"] * 7
    X = pre.transform(TRAIN)
    assert X[0, pre.feature_names.index("t.hour")] == 6.0
    assert X[0, pre.feature_names.index("t.minute")] == 30.0
    assert X[0, pre.feature_names.index("d.weekday")] == 1.0  # 2024-01-01 is a Monday


@pytest.mark.parametrize("encoding", ["ordinal", "onehot"])
def test_json_round_trip_gives_identical_output(encoding):
    frame = mixed_frame(300, target="multiclass")
    pre = fit(frame, mixed_roles("multiclass"), encoding=encoding)
    again = Preprocessor.from_json(json.loads(json.dumps(pre.to_json())))
    other = mixed_frame(200, seed=7, target="multiclass").with_columns(contract=pl.lit("Lifetime"))
    for rows in (frame, other):
        assert np.array_equal(pre.transform(rows), again.transform(rows))
        assert np.array_equal(pre.encode_target(rows), again.encode_target(rows))
    assert again.to_json() == pre.to_json()
    assert pre.to_json()["version"] == 1
    for attr in ("feature_names", "feature_sources", "categorical_indices", "classes", "input_schema"):
        assert getattr(again, attr) == getattr(pre, attr)


def test_transform_names_missing_columns_and_ignores_others():
    frame = mixed_frame(50)
    pre = fit(frame, mixed_roles())
    with pytest.raises(ValueError, match="charges, signup"):
        pre.transform(frame.drop("charges", "signup"))
    # the Id, the ignored column and the target are not needed; extra columns are ignored
    slim = frame.select(INPUT_COLUMNS).with_columns(extra=pl.lit(1))
    assert np.array_equal(pre.transform(slim), pre.transform(frame))
    assert pre.transform(frame).shape == (50, len(pre.feature_names))
    assert pre.transform(frame).dtype == np.float64


def test_input_schema_lists_id_and_inputs_only():
    pre = fit(mixed_frame(50), mixed_roles())
    assert [(e["column_name"], e["attribute_name"]) for e in pre.input_schema] == [
        ("customer_id", "Id"),
        ("tenure", "Feature"),
        ("charges", "Feature"),
        ("contract", "Feature"),
        ("paperless", "Feature"),
        ("signup", "Time"),
        ("last_seen", "Feature"),
    ]
    assert pre.input_schema[1]["data_type"] == "Integer"
    assert "customer_id" not in pre.feature_sources and "note" not in pre.feature_sources


def test_inference_payload_types_are_coerced():
    """Values arriving as JSON (ints for floats, text for dates) give the same matrix as typed ones."""
    frame = mixed_frame(30)
    pre = fit(frame, mixed_roles())
    loose = frame.with_columns(
        pl.col("charges").round(0).cast(pl.Int64),
        pl.col("signup").cast(pl.String),
        pl.col("last_seen").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin"),
        pl.col("paperless").cast(pl.String),
    )
    expected = pre.transform(frame.with_columns(pl.col("charges").round(0)))
    assert np.array_equal(pre.transform(loose), expected)


def test_targets_encode_decode_and_refuse_unknown_labels():
    frame = pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [10, 2, 10, 2]})
    rs = [ColumnRole("x", "Float", "Feature"), ColumnRole("y", "Integer", "Target")]
    pre = fit(frame, rs)
    assert pre.classes == ["2", "10"]  # ordered by value, rendered as text
    assert pre.target_type == "Integer"
    codes = pre.encode_target(frame)
    assert codes.dtype == np.int64 and codes.tolist() == [1, 0, 1, 0]
    assert pre.decode_target(np.array([0, 1])) == ["2", "10"]
    with pytest.raises(ValueError, match="'7'"):
        pre.encode_target(pl.DataFrame({"y": [7]}))

    booleans = pl.DataFrame({"x": [1.0, 2.0], "y": [True, False]})
    pre = fit(booleans, [rs[0], ColumnRole("y", "Boolean", "Target")])
    assert pre.classes == ["false", "true"]
    assert pre.encode_target(booleans).tolist() == [1, 0]

    pre = fit(frame, rs, problem_type="Regression")
    assert pre.classes is None
    assert pre.encode_target(frame).dtype == np.float64
    assert pre.decode_target(np.array([1.5])) == [1.5]


def test_given_classes_cover_labels_missing_from_the_training_rows():
    frame = pl.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    rs = [ColumnRole("x", "Float", "Feature"), ColumnRole("y", "String", "Target")]
    pre = fit(frame, rs, classes=["a", "b", "c"])
    assert pre.encode_target(pl.DataFrame({"y": ["c"]})).tolist() == [2]


def test_drop_missing_target():
    frame = pl.DataFrame(
        {"y": [1.0, None, float("nan"), float("inf"), 2.0], "s": ["a", None, "b", "c", None]}
    )
    assert drop_missing_target(frame, "y")["y"].to_list() == [1.0, 2.0]
    assert drop_missing_target(frame, "s")["s"].to_list() == ["a", "b", "c"]


def test_bad_roles_are_refused():
    with pytest.raises(ValueError, match="Target"):
        fit(TRAIN, [ColumnRole("n", "Float", "Feature")])
    with pytest.raises(ValueError, match="attribute"):
        fit(TRAIN, [ColumnRole("n", "Float", "Label"), ColumnRole("y", "String", "Target")])
    with pytest.raises(ValueError, match="default of column 'n'"):
        fit(TRAIN, [ColumnRole("n", "Float", "Feature", "abc"), ColumnRole("y", "String", "Target")])
    with pytest.raises(ValueError, match="Regression"):
        fit(TRAIN, roles(), problem_type="Regression")


def test_a_large_mixed_frame_transforms():
    """200,000 rows of every column type at once (its speed is measured in bench/, not asserted here)."""
    n = 200_000
    rng = np.random.default_rng(0)
    data: dict[str, object] = {f"f{i}": rng.normal(size=n) for i in range(12)}
    data |= {f"s{i}": rng.choice([f"v{k}" for k in range(40)], n) for i in range(4)}
    data |= {"b": rng.random(n) < 0.5, "d": np.datetime64("2020-01-01") + rng.integers(0, 900, n)}
    data |= {
        "t": np.datetime64("2020-01-01T00:00", "us") + rng.integers(0, 10**12, n),
        "y": rng.normal(size=n),
    }
    frame = pl.DataFrame(data)
    kinds = {pl.Float64: "Float", pl.String: "String", pl.Boolean: "Boolean", pl.Date: "Date"}
    rs = [
        ColumnRole(name, kinds.get(dtype, "DateTime"), "Target" if name == "y" else "Feature")
        for name, dtype in frame.schema.items()
    ]
    pre = Preprocessor.fit(frame, rs, problem_type="Regression", encoding="ordinal")
    X = pre.transform(frame)
    assert X.shape == (n, 12 + 4 + 1 + 5 + 7)
    assert np.isfinite(X[:, :12]).all()


MIXED = {  # DateTime text as files and requests mix it -> the instant it names, in UTC
    "2024-03-05": datetime(2024, 3, 5),
    "2024-03-05T08:00:00": datetime(2024, 3, 5, 8),
    "2024-03-05 08:30": datetime(2024, 3, 5, 8, 30),
    "2024-03-05T08:00:00Z": datetime(2024, 3, 5, 8),
    "2024-03-05T10:00:00+02:00": datetime(2024, 3, 5, 8),
    "2024-03-06T01:15:00.5+05:30": datetime(2024, 3, 5, 19, 45, 0, 500000),
}


def test_datetime_text_of_mixed_forms_and_offsets_reads_as_utc():
    """Text timestamps train and transform exactly as the typed instants they name (none becomes null)."""
    typed = pl.DataFrame(
        {"t": list(MIXED.values()), "y": ["a", "b"] * 3}, schema_overrides={"t": pl.Datetime("us")}
    )
    text = pl.DataFrame({"t": list(MIXED), "y": ["a", "b"] * 3})
    rs = [ColumnRole("t", "DateTime", "Feature"), ColumnRole("y", "String", "Target")]
    pre = fit(typed, rs)
    assert np.array_equal(pre.transform(text), pre.transform(typed))
    assert fit(text, rs).to_json() == pre.to_json()  # the same fill learnt from text
    assert column(pre, pre.transform(text), "t.hour").tolist() == [0.0, 8.0, 8.0, 8.0, 8.0, 19.0]


def test_datetime_text_that_is_no_timestamp_is_named():
    rs = [ColumnRole("t", "DateTime", "Feature"), ColumnRole("y", "String", "Target")]
    bad = pl.DataFrame(
        {"t": ["2024-03-05", "soon", " ", None, "2024-13-01T00:00:00"], "y": ["a", "b"] * 2 + ["a"]}
    )
    with pytest.raises(
        ValueError, match=r"column 't': 2 values cannot be read .*'soon', '2024-13-01T00:00:00'"
    ):
        fit(bad, rs)
    pre = fit(bad.filter(pl.col("t") == "2024-03-05"), rs)
    with pytest.raises(ValueError, match=r"column 't': 2 values"):
        pre.transform(bad)
    assert pre.transform(bad.slice(2, 2)).shape == (2, len(pre.feature_names))  # blank and null: the fill
