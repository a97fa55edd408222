"""``RowEncoder`` gives exactly ``Preprocessor.transform``'s matrix, whatever form a request's values take."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from raylake.ml.preprocess import ColumnRole, Preprocessor
from raylake.ml.rows import RowEncoder
from tests.ml.frames import mixed_frame, mixed_roles

TYPES = {"n": "Float", "i": "Integer", "b": "Boolean", "s": "String", "d": "Date", "t": "DateTime"}
DEFAULTS = {"n": "-1.5", "i": "7", "b": "false", "s": "zzz", "d": "2000-02-29", "t": "2010-05-06T07:08:00Z"}

TRAIN = pl.DataFrame(
    {
        "n": [1.0, None, 3.0, float("inf"), 5.0, float("nan"), 2.5],
        "i": [10, None, 30, 40, 50, 60, -3],
        "b": [True, None, True, False, True, None, False],
        "s": ["a", "b", None, "a", "c", "b", "a"],
        "d": [date(2024, 1, 1), None, date(2024, 1, 3), date(1969, 7, 20), date(2024, 1, 7), None, None],
        "t": [
            datetime(2024, 1, 1, 6, 30),
            None,
            None,
            datetime(2024, 1, 2),
            datetime(1950, 1, 3, 1),
            None,
            None,
        ],
        "y": ["no", "yes", "no", "yes", "no", "yes", "no"],
    },
    schema_overrides={"t": pl.Datetime("us")},
)

# One valid value per column, so a row can vary one column at a time.
BASE_ROW = {"n": 2.0, "i": 20, "b": True, "s": "a", "d": "2024-03-05", "t": "2024-03-05T10:00:00"}

BERLIN = ZoneInfo("Europe/Berlin")
PLUS_TWO = timezone(timedelta(hours=2))
YEAR_10000 = datetime(
    9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))
)  # in UTC: past Python's dates
# Per column: typed JSON values, text forms (padded, non-finite, other spellings, garbage) and objects.
VALUES: dict[str, list[Any]] = {
    "n": [
        *(1.5, -0.0, 7, True, False, 2**70, 1e308 * 10),
        *("1.5", " 2 ", "\t-3e2\n", "+.5", "7.", "1E+05", "00012", "1e400", "\x1c1"),
        *("nan", "inf", "-Infinity", "1_000", "0x10", "1,5", "", "  ", "oops"),
    ],
    "i": [3, -(2**63), 2**63 - 1, 2**63, 4.75, " 42 ", "-7", "9" * 30, "oops", ""],
    "b": [
        *(True, False, 0, 1, 2, -1.5, 0.0, float("nan")),
        *("yes", "No", " TRUE ", "0", "1", "2", "y", "oops", ""),
        date(2024, 1, 1),
    ],
    "s": [
        *("a", "b", "c", "never seen", "", " a", "A", "zzz", "__missing__"),
        *(1, 0, True, False, 1.5, 1e20, 1e-7, date(2024, 1, 1), datetime(2024, 1, 1, 5)),
    ],
    "d": [
        *(
            "2024-03-05",
            " 2024-03-06\n",
            "1969-12-31",
            "0001-01-01",
            "9999-12-31",
            "2024-02-29",
            "2023-02-29",
        ),
        *("2024-03-05T10:00:00", "2024-03-05 10:00", "2024-03-05T10:00:00Z", "2024/03/05", "05/03/2024"),
        *("2024-3-5", "20240305", "oops", "", 7, 1.5, True),
        *(date(2024, 3, 5), datetime(2024, 3, 5, 23, 30), datetime(2024, 3, 5, 1, 30, tzinfo=PLUS_TWO)),
        *(datetime(2024, 3, 5, 0, 30, tzinfo=BERLIN), datetime(2024, 7, 5, 23, 30, tzinfo=UTC), YEAR_10000),
    ],
    "t": [
        # naive ISO forms
        *("2024-03-05T10:00:00", "2024-03-05 10:00:00", "2024-03-05T10:00", "2024-03-05 10:00", "2024-03-05"),
        *("2024-03-05T10:00:00.5", "2024-03-05T10:00:00.123456", "2024-03-05T10:00:00.123456789"),
        *(
            " 2024-03-05T10:00 ",
            "1969-12-31T23:59:59.999999",
            "1900-03-05T10:00:00",
            "9999-12-31T23:59:59.999999",
        ),
        # zoned ISO forms, which transform reads as missing (polars infers a naive type inside a select)
        *("2024-03-05T10:00:00Z", "2024-03-05T10:00Z", "2024-03-05 10:00:00Z", "2024-03-05T10:00:00.123Z"),
        *("2024-03-05T10:00:00+02:00", "2024-03-05T10:00:00-05:30", "2024-03-05T01:00:00+0530"),
        *("2024-03-05T10:00+02:00", "2024-03-05T10:00:00.123456789+02:00", "2024-03-05T10:00:00+23:59"),
        *("2024-03-05T10:00:00-00:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999-01:00"),
        # forms left to polars, and garbage
        *(
            "2024-03-05T10:00:00+02",
            "2024-03-05T10:00:00+24:00",
            "2024-03-05T23:59:60",
            "2024-03-05T10:00:00z",
        ),
        *("2024-03-05T10:00:00 Z", "2024-03-05T1:00:00", "2024/03/05", "05/03/2024", "2024-03-05T24:00:00"),
        *("2023-02-29T10:00:00", "2024-03-05T10", "oops", "", 7, 1.5, True, date(2024, 3, 5)),
        *(datetime(2024, 3, 5, 10, 0, 0, 7), datetime(1950, 3, 5, 1, tzinfo=PLUS_TWO)),
        *(datetime(2024, 3, 31, 3, tzinfo=BERLIN), YEAR_10000),
    ],
}


def fit(encoding: str, defaults: bool) -> Preprocessor:
    roles = [
        ColumnRole(name, kind, "Feature", DEFAULTS[name] if defaults else None)
        for name, kind in TYPES.items()
    ]
    roles.append(ColumnRole("y", "String", "Target"))
    pre = Preprocessor.fit(TRAIN, roles, problem_type="Classification", encoding=encoding)
    # the inference service loads the preprocessor from its JSON
    return Preprocessor.from_json(json.loads(json.dumps(pre.to_json())))


PREPROCESSORS = [
    pytest.param((encoding, defaults), id=f"{encoding}-{'defaults' if defaults else 'learnt'}")
    for encoding in ("ordinal", "onehot")
    for defaults in (False, True)
]


@pytest.fixture(params=PREPROCESSORS)
def pre(request: pytest.FixtureRequest) -> Preprocessor:
    return fit(*request.param)


def transform(pre: Preprocessor, frame: pl.DataFrame) -> np.ndarray:
    return pre.transform(frame).astype(np.float64)


def assert_same(pre: Preprocessor, rows: list[dict[str, Any]], frame: pl.DataFrame) -> None:
    got = RowEncoder(pre).encode(rows)
    assert got.dtype == np.float64
    assert got.shape == (len(rows), len(pre.feature_names))
    np.testing.assert_array_equal(got, transform(pre, frame), strict=True)


def as_text(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The frame a service that keeps every JSON value as text would build."""
    return pl.DataFrame(
        {name: [None if row.get(name) is None else str(row[name]) for row in rows] for name in TYPES},
        schema=dict.fromkeys(TYPES, pl.String),
    )


def outcome(encode: Callable[[], np.ndarray]) -> np.ndarray | str:
    """The matrix, or the message of the ValueError that refused the rows."""
    try:
        return encode()
    except ValueError as exc:
        return str(exc)


@pytest.mark.parametrize("name", list(TYPES))
def test_every_value_form_alone_matches_transform(pre, name):
    """Each form in a one-row request, typed as polars infers it from the JSON value: the same matrix, or
    the same error (DateTime text that is no timestamp)."""
    for value in VALUES[name]:
        row = {**BASE_ROW, name: value}
        expected = outcome(lambda row=row: transform(pre, pl.DataFrame([row], infer_schema_length=None)))
        got = outcome(lambda row=row: RowEncoder(pre).encode([row]))
        if isinstance(expected, str) or isinstance(got, str):
            assert got == expected, f"{name}={value!r}"
        else:
            np.testing.assert_array_equal(got, expected, err_msg=f"{name}={value!r}")


UNREADABLE_TIMESTAMPS = ["oops", "2024-03-05T24:00:00", "2023-02-29T10:00:00", "2024-03-05T10:00:00+24:00"]


def test_unparseable_timestamps_are_named_not_filled(pre):
    """Text in a DateTime column that is no timestamp is a ValueError naming it, in both encoders; a blank
    or missing value still takes the fill."""
    for value in UNREADABLE_TIMESTAMPS:
        rows = [{**BASE_ROW}, {**BASE_ROW, "t": value}]
        with pytest.raises(ValueError, match=rf"column 't': 1 value .*{re.escape(repr(value))}"):
            RowEncoder(pre).encode(rows)
        with pytest.raises(ValueError, match=rf"column 't': 1 value .*{re.escape(repr(value))}"):
            transform(pre, pl.DataFrame(rows))
    frame = pl.DataFrame({**BASE_ROW, "t": [*UNREADABLE_TIMESTAMPS, "2024-03-05"]})
    with pytest.raises(ValueError, match=r"column 't': 4 values .*'oops', '2024-03-05T24:00:00', '2023-"):
        transform(pre, frame)
    missing = RowEncoder(pre).encode([{**BASE_ROW, "t": None}])
    np.testing.assert_array_equal(RowEncoder(pre).encode([{**BASE_ROW, "t": " "}]), missing)
    assert_same(pre, [{**BASE_ROW, "t": ""}, BASE_ROW], pl.DataFrame([{**BASE_ROW, "t": ""}, BASE_ROW]))


MIXED_TIMESTAMPS = {  # one instant, 2024-03-05 08:00 UTC, in the forms a text column mixes
    "2024-03-05T08:00:00": datetime(2024, 3, 5, 8),
    "2024-03-05 08:00": datetime(2024, 3, 5, 8),
    "2024-03-05T08:00:00Z": datetime(2024, 3, 5, 8),
    "2024-03-05T10:00:00+02:00": datetime(2024, 3, 5, 8),
    "2024-03-05T03:00:00.000-05:00": datetime(2024, 3, 5, 8),
    "2024-03-05": datetime(2024, 3, 5),
}


def test_mixed_timestamp_forms_read_as_utc_in_both_encoders(pre):
    """A text column mixing ISO dates, 'T' or space, 'Z' and offsets reads every value (in UTC), and a
    row reads the same alone, in the mixed batch, and as the typed timestamp it stands for."""
    text_row = {name: str(value) for name, value in BASE_ROW.items()}
    rows = [{**text_row, "t": text} for text in MIXED_TIMESTAMPS]

    def typed(texts: list[str]) -> pl.DataFrame:  # the same frame, with the timestamps already typed
        moments = pl.Series("t", [MIXED_TIMESTAMPS[text] for text in texts], dtype=pl.Datetime("us"))
        return as_text([{**BASE_ROW, "t": None}] * len(texts)).with_columns(moments)

    everything = transform(pre, typed(list(MIXED_TIMESTAMPS)))
    np.testing.assert_array_equal(transform(pre, as_text(rows)), everything)
    assert_same(pre, rows, as_text(rows))
    for row in rows:
        np.testing.assert_array_equal(RowEncoder(pre).encode([row]), transform(pre, typed([row["t"]])))


def test_missing_keys_and_none_take_the_fill(pre):
    rows = [
        {},
        dict.fromkeys(TYPES),
        {"n": 1.0},
        {"s": None, "d": None},
        BASE_ROW,
        {**BASE_ROW, "extra": [1]},
    ]
    assert_same(pre, rows, pl.DataFrame(rows, infer_schema_length=None))
    assert_same(pre, rows, as_text(rows))
    empty = [{}, dict.fromkeys(TYPES)]
    assert_same(pre, empty, pl.DataFrame(empty, schema=dict.fromkeys(TYPES, pl.Null)))


# A request whose columns each keep one JSON type and one date format, so transform on the whole batch
# reads every value as it reads it alone.
JSON_BATCH = """[
  {"n": 1.5, "i": 3, "b": true, "s": "a", "d": "2024-03-05", "t": "2024-03-05T10:00:00"},
  {"n": -2, "i": null, "b": false, "s": "never seen", "d": " 2024-02-30 ", "t": "2024-03-05 10:00"},
  {"i": 9007199254740993, "b": null, "s": "", "d": "oops", "t": ""},
  {"n": null, "i": -7, "s": null, "d": "2024-03-05T10:00:00", "t": "2024-03-05"},
  {"n": 1e300, "i": 0, "b": true, "s": "c", "d": null, "t": "1969-12-31T23:59:59.999999"}
]"""

TEXT_BATCH = [
    {"n": " 1.5 ", "i": "3", "b": "yes", "s": "a", "d": "2024-03-05", "t": "2024-03-05T10:00:00"},
    {"n": "nan", "i": " -7\t", "b": "0", "s": "b", "d": "1999-12-31", "t": "2024-03-05 10:00:00.25"},
    {
        "n": "inf",
        "i": "oops",
        "b": "TRUE",
        "s": "never seen",
        "d": "oops",
        "t": "2024-03-05T10:00:00+02:00",
    },
    {"n": "oops", "i": "", "b": "oops", "s": "", "d": "", "t": "2024-03-05T10:00:00Z"},
    {"n": "1e-3", "b": "No", "s": "zzz", "d": "2024-02-30", "t": None},
    {"n": None, "i": "12345678901234567890", "b": "1", "t": "0001-01-01T00:00:00"},
]


def test_json_request_matches_transform_of_the_inferred_and_the_text_frame(pre):
    rows = json.loads(JSON_BATCH)
    assert_same(pre, rows, pl.DataFrame(rows, infer_schema_length=None))
    text = [{name: None if value is None else str(value) for name, value in row.items()} for row in rows]
    assert_same(pre, text, as_text(rows))


def test_text_request_matches_transform_of_the_text_frame(pre):
    assert_same(pre, TEXT_BATCH, as_text(TEXT_BATCH))
    for row in TEXT_BATCH:
        assert_same(pre, [row], as_text([row]))


def test_typed_objects_match_transform_of_the_typed_frame(pre):
    rows = TRAIN.drop("y").rows(named=True)
    assert_same(pre, rows, TRAIN)
    aware = [{**row, "t": row["t"] and row["t"].replace(tzinfo=BERLIN)} for row in rows]
    assert_same(pre, aware, pl.DataFrame(aware, infer_schema_length=None))


@pytest.mark.parametrize("encoding", ["ordinal", "onehot"])
@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_realistic_table_matches_transform(encoding, target):
    problem = "Regression" if target == "regression" else "Classification"
    train = mixed_frame(300, target=target)
    pre = Preprocessor.fit(train, mixed_roles(target), problem_type=problem, encoding=encoding)
    other = mixed_frame(100, seed=3, target=target).with_columns(
        contract=pl.when(pl.int_range(pl.len()) % 7 == 0).then(pl.lit("Lifetime")).otherwise("contract")
    )
    rows = other.rows(named=True)
    assert_same(pre, rows, other)
    as_json = json.loads(other.write_json())
    assert_same(pre, as_json, pl.DataFrame(as_json, infer_schema_length=None))


def test_decimal_strings_round_like_polars():
    """Long and odd decimal spellings parse to the same double as polars' own cast."""
    rng = random.Random(0)
    spellings = []
    for _ in range(300):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        point = rng.randint(0, len(digits))
        number = f"{rng.choice(['', '-', '+'])}{digits[:point]}.{digits[point:]}"
        spellings.append(number + (f"e{rng.randint(-330, 310)}" if rng.random() < 0.5 else ""))
    rows = [{"n": text} for text in spellings]
    roles = [ColumnRole("n", "Float", "Feature"), ColumnRole("y", "String", "Target")]
    pre = Preprocessor.fit(TRAIN.select("n", "y"), roles, problem_type="Classification", encoding="ordinal")
    assert_same(pre, rows, pl.DataFrame(rows))


def test_empty_request_gives_an_empty_matrix(pre):
    encoded = RowEncoder(pre).encode([])
    assert encoded.shape == (0, len(pre.feature_names)) and encoded.dtype == np.float64


def rescaled(pre: Preprocessor, mean: float = 0.633, std: float = 3.957) -> Preprocessor:
    """``pre`` with every scaled feature at (mean, std): dividing by this std and multiplying by its
    reciprocal round differently for 0, 1, 2, 3, 5, 10, 20 and 2024, so any slip shows."""
    data = pre.to_json()
    data["scaling"] = [[i, mean, std] for i, _, _ in data["scaling"]]
    return Preprocessor.from_json(data)


# polars divides a broadcast scalar by the std and multiplies a column by its reciprocal
BATCHES = {
    "one row": [BASE_ROW],
    "every row missing": [dict.fromkeys(TYPES)] * 3,
    "every row the same": [BASE_ROW] * 3,
    "the same and missing": [BASE_ROW, dict.fromkeys(TYPES), BASE_ROW],
    "boolean words of one meaning": [{**BASE_ROW, "b": "yes"}, {**BASE_ROW, "b": " 1"}],
    "boolean words of both meanings": [{**BASE_ROW, "b": "no"}, {**BASE_ROW, "b": "yes"}],
    "boolean word and garbage": [{**BASE_ROW, "b": "no"}, {**BASE_ROW, "b": "oops"}],
    "unusable everywhere": [{**BASE_ROW, "n": "nan", "b": "oops", "d": 5, "t": 7}] * 2,
    "varied": [{**BASE_ROW, "n": 3, "i": 5}, {**BASE_ROW, "n": 10, "i": 2024}],
}


@pytest.mark.parametrize("rows", BATCHES.values(), ids=list(BATCHES))
def test_standardisation_rounds_like_polars(rows):
    pre = rescaled(fit("onehot", defaults=False))
    assert (1.0 - 0.633) / 3.957 != (1.0 - 0.633) * (1 / 3.957)
    assert_same(pre, rows, pl.DataFrame(rows, infer_schema_length=None))
