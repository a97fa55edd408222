"""How a table of typed columns becomes the float matrix a model sees, identically at training and inference.

Everything learnt from the training split (fill values, category lists, scaling) is stored in the
``Preprocessor`` and serialised to plain JSON, so the inference service reproduces the training matrix
bit for bit without pickles. Work is expressed as polars expressions over whole columns: a million rows
take about a second, and no Python code runs per row.

The matrix is built in two passes: the first turns each input column into one clean base value (coerced,
non-finite numbers and nulls filled, a category replaced by its code), the second derives the features
(one-hot indicators, date parts, standardisation) from those base values, so no string comparison is
repeated per one-hot column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
import polars as pl

from raylake.core.types import DataType, parse_value
from raylake.core.types import resolve as resolve_type
from raylake.core.vocabulary import MODEL_INPUTS, REQUEST_INPUTS, TABULAR_PROBLEMS, ColumnAttribute
from raylake.ml.columns import Column, base_exprs, coerced, feature_plan
from raylake.ml.times import examples, unread

ENCODINGS = ("ordinal", "onehot")
MISSING = "__missing__"
VERSION = 1

_NUMERIC = (DataType.INTEGER.value, DataType.FLOAT.value)
_DATES = (DataType.DATE.value, DataType.DATETIME.value)
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class ColumnRole:
    name: str
    data_type: str
    attribute: str
    default: str | None = None


def drop_missing_target(frame: pl.DataFrame, target: str) -> pl.DataFrame:
    """Rows whose target is null (or a non-finite float) carry no label to learn from or score against."""
    column = pl.col(target)
    if frame.schema[target].is_float():
        return frame.filter(column.is_finite())
    return frame.filter(column.is_not_null())


def target_labels(series: pl.Series) -> pl.Series:
    """Class labels as the strings users see: ``"true"``/``"false"`` for Boolean, ``"1"`` for Integer 1."""
    return series.cast(pl.String)


def sorted_classes(series: pl.Series) -> list[str]:
    """Distinct non-null labels ordered by their native value (numbers numerically), then rendered."""
    distinct = series.drop_nulls()
    if distinct.dtype.is_float():
        distinct = distinct.filter(distinct.is_finite())
    return target_labels(distinct.unique().sort()).to_list()


class Preprocessor:
    encoding: str
    problem_type: str
    target: str
    target_type: str
    feature_names: list[str]
    feature_sources: list[str]
    categorical_indices: list[int]
    classes: list[str] | None
    input_schema: list[dict[str, str]]

    def __init__(
        self,
        *,
        encoding: str,
        problem_type: str,
        target: str,
        target_type: str,
        columns: list[Column],
        classes: list[str] | None,
        input_schema: list[dict[str, str]],
        scaling: dict[int, tuple[float, float]] | None = None,
    ) -> None:
        self.encoding = encoding
        self.problem_type = problem_type
        self.target = target
        self.target_type = target_type
        self.classes = classes
        self.input_schema = input_schema
        self._columns = columns
        self._scaling = scaling or {}  # feature index -> (mean, std)
        self._features = feature_plan(columns, encoding)
        self.feature_names = [name for name, _, _ in self._features]
        self.feature_sources = [column.name for _, column, _ in self._features]
        self.categorical_indices = (
            [i for i, (_, column, _) in enumerate(self._features) if column.kind == "category"]
            if encoding == "ordinal"
            else []
        )

    # ------------------------------------------------------------------ fitting

    @classmethod
    def fit(
        cls,
        frame: pl.DataFrame,
        roles: Sequence[ColumnRole],
        *,
        problem_type: str,
        encoding: Literal["ordinal", "onehot"],
        max_categories: int = 100,
        classes: Sequence[str] | None = None,
    ) -> Preprocessor:
        """Learn fill values, categories and scaling from ``frame`` (the training split only).

        ``classes`` lets the caller fix the label set from all rows, so a label that only occurs in the
        validation or test split still has an index instead of failing ``encode_target``.
        """
        if problem_type not in TABULAR_PROBLEMS:
            raise ValueError(
                f"problem_type must be one of {', '.join(TABULAR_PROBLEMS)}, not {problem_type!r}"
            )
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
        if max_categories < 1:
            raise ValueError("max_categories must be at least 1")
        roles = _canonical_roles(roles)
        target_role = _the_target(roles)
        inputs = [role for role in roles if role.attribute in MODEL_INPUTS]
        if not inputs:
            raise ValueError("no Feature or Time column: a model needs at least one input")
        _require(frame, [target_role.name, *(role.name for role in inputs)])

        columns = _fit_columns(frame, inputs, max_categories)
        if problem_type == "Classification":
            fitted_classes = list(classes) if classes is not None else sorted_classes(frame[target_role.name])
            if len(set(fitted_classes)) != len(fitted_classes):
                raise ValueError("classes must be distinct")
        else:
            if target_role.data_type not in _NUMERIC:
                raise ValueError(
                    f"a Regression target must be Integer or Float; {target_role.name!r} is "
                    f"{target_role.data_type}"
                )
            fitted_classes = None
        schema = [
            {"column_name": role.name, "data_type": role.data_type, "attribute_name": role.attribute}
            for role in roles
            if role.attribute in REQUEST_INPUTS
        ]
        pre = cls(
            encoding=encoding,
            problem_type=problem_type,
            target=target_role.name,
            target_type=target_role.data_type,
            columns=columns,
            classes=fitted_classes,
            input_schema=schema,
        )
        if encoding == "onehot":
            pre._fit_scaling(frame)
        return pre

    def _fit_scaling(self, frame: pl.DataFrame) -> None:
        """Linear models and the MLP need features on one scale; one-hot indicators already are."""
        scaled = [i for i, (_, column, _) in enumerate(self._features) if column.kind != "category"]
        if not scaled or frame.height == 0:
            return
        base = frame.select(base_exprs(self._columns, frame.schema))
        stats = base.select(
            *(self._features[i][2].mean().alias(f"m{i}") for i in scaled),
            *(self._features[i][2].std(ddof=0).alias(f"s{i}") for i in scaled),
        ).row(0, named=True)
        for i in scaled:
            mean, std = stats[f"m{i}"], stats[f"s{i}"]
            mean = float(mean) if mean is not None and math.isfinite(mean) else 0.0
            std = float(std) if std is not None and math.isfinite(std) and std > 0 else 1.0
            self._scaling[i] = (mean, std)

    # ------------------------------------------------------------------ applying

    def transform(self, frame: pl.DataFrame) -> np.ndarray:
        """The float64 model matrix, one row per input row; extra columns are ignored, missing ones named."""
        _require(frame, [column.name for column in self._columns])
        _require_timestamps(frame, [column.name for column in self._columns if column.kind == "datetime"])
        base = frame.select(base_exprs(self._columns, frame.schema))
        exprs = []
        for i, (_, _, expr) in enumerate(self._features):
            if i in self._scaling:
                mean, std = self._scaling[i]
                expr = (expr - mean) / std
            exprs.append(expr.alias(_alias(i)))
        if not exprs:
            return np.zeros((frame.height, 0), dtype=np.float64)
        # Column-major: each feature is one contiguous copy (a million-row, 300-column one-hot matrix
        # builds in about a second, three times faster than row-major); every model accepts either order.
        matrix = np.empty((frame.height, len(exprs)), dtype=np.float64, order="F")
        for j, series in enumerate(base.select(exprs).iter_columns()):
            matrix[:, j] = series.to_numpy()
        return matrix

    def encode_target(self, frame: pl.DataFrame) -> np.ndarray:
        """Class indices (int64) or regression floats; ValueError for a label outside ``classes``."""
        _require(frame, [self.target])
        series = frame[self.target]
        if self.problem_type == "Regression":
            values = series.cast(pl.Float64, strict=False)
            if values.null_count() or not values.is_finite().all():
                raise ValueError(f"target {self.target!r} has missing or non-finite values; drop them first")
            return values.to_numpy().astype(np.float64, copy=False)
        assert self.classes is not None
        labels = target_labels(series)
        if labels.null_count():
            raise ValueError(f"target {self.target!r} has missing values; drop them first")
        unknown = labels.filter(~labels.is_in(self.classes)).unique().sort().head(5).to_list()
        if unknown:
            shown = ", ".join(map(repr, unknown))
            raise ValueError(f"target {self.target!r} has labels outside the known classes: {shown}")
        codes = labels.replace_strict(self.classes, list(range(len(self.classes))), return_dtype=pl.Int64)
        return codes.to_numpy().astype(np.int64, copy=False)

    def decode_target(self, values: np.ndarray) -> list:
        """Predictions back in the user's terms: labels for classification, floats for regression."""
        array = np.asarray(values)
        if self.problem_type == "Regression":
            return [float(v) for v in array.astype(np.float64).ravel()]
        assert self.classes is not None
        return [self.classes[int(i)] for i in array.ravel()]

    # ------------------------------------------------------------------ persistence

    def to_json(self) -> dict[str, Any]:
        """The fitted state as versioned JSON-ready data, stored beside the model."""
        return {
            "version": VERSION,
            "encoding": self.encoding,
            "problem_type": self.problem_type,
            "target": self.target,
            "target_type": self.target_type,
            "classes": list(self.classes) if self.classes is not None else None,
            "columns": [column.to_json() for column in self._columns],
            "input_schema": [dict(entry) for entry in self.input_schema],
            "feature_names": list(self.feature_names),
            "feature_sources": list(self.feature_sources),
            "categorical_indices": list(self.categorical_indices),
            "scaling": [[i, mean, std] for i, (mean, std) in sorted(self._scaling.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preprocessor:
        """The preprocessor back from ``to_json``'s data; ValueError for another state version."""
        if data.get("version") != VERSION:
            raise ValueError(f"unsupported preprocessor version {data.get('version')!r}; expected {VERSION}")
        pre = cls(
            encoding=data["encoding"],
            problem_type=data["problem_type"],
            target=data["target"],
            target_type=data["target_type"],
            columns=[Column.from_json(column) for column in data["columns"]],
            classes=list(data["classes"]) if data.get("classes") is not None else None,
            input_schema=[dict(entry) for entry in data["input_schema"]],
            scaling={int(i): (float(mean), float(std)) for i, mean, std in data.get("scaling", [])},
        )
        if pre.feature_names != data.get("feature_names", pre.feature_names):
            raise ValueError("preprocessor JSON is inconsistent: its feature names do not match its columns")
        return pre


def _alias(i: int) -> str:
    """Internal name of feature ``i``: user column names may collide with derived names like ``a.year``."""
    return f"__{i}"


# ---------------------------------------------------------------------- roles


def _canonical_roles(roles: Sequence[ColumnRole]) -> list[ColumnRole]:
    seen: set[str] = set()
    out = []
    for role in roles:
        if role.attribute not in list(ColumnAttribute):
            expected = ", ".join(ColumnAttribute)
            raise ValueError(f"column {role.name!r}: attribute {role.attribute!r} is not one of {expected}")
        if role.name in seen:
            raise ValueError(f"column {role.name!r} appears twice in the roles")
        seen.add(role.name)
        out.append(ColumnRole(role.name, resolve_type(role.data_type).value, role.attribute, role.default))
    return out


def _the_target(roles: list[ColumnRole]) -> ColumnRole:
    targets = [role for role in roles if role.attribute == "Target"]
    if len(targets) != 1:
        raise ValueError(f"exactly one Target column is needed; found {len(targets)}")
    return targets[0]


def _require(frame: pl.DataFrame, names: Sequence[str]) -> None:
    missing = [name for name in names if name not in frame.schema]
    if missing:
        raise ValueError(f"missing input columns: {', '.join(missing)}")


def _require_timestamps(frame: pl.DataFrame, names: Sequence[str]) -> None:
    """DateTime columns arriving as text must read as timestamps: a ValueError names the values that do
    not, rather than their rows silently taking the fill."""
    for name in names:
        if frame.schema[name] != pl.String:
            continue
        text = frame[name]
        bad = unread(text, frame.select(coerced(name, "datetime", pl.String())).to_series())
        if bad.len():
            raise ValueError(timestamp_problem(name, bad.len(), examples(bad)))


def timestamp_problem(name: str, count: int, shown: str) -> str:
    """The message for DateTime text that does not read as a timestamp (shared with ``RowEncoder``)."""
    values = "value" if count == 1 else "values"
    return f"column {name!r}: {count} {values} cannot be read as a DateTime (ISO 8601 expected): {shown}"


# ---------------------------------------------------------------------- fitting columns


def _kind(data_type: str) -> Literal["numeric", "boolean", "category", "date", "datetime"]:
    if data_type in _NUMERIC:
        return "numeric"
    if data_type == DataType.BOOLEAN.value:
        return "boolean"
    if data_type == DataType.DATE.value:
        return "date"
    if data_type == DataType.DATETIME.value:
        return "datetime"
    return "category"


def _fit_columns(frame: pl.DataFrame, inputs: list[ColumnRole], max_categories: int) -> list[Column]:
    """One pass over the frame computes every statistic-based fill; categories need one count each."""
    kinds = {role.name: _kind(role.data_type) for role in inputs}
    _require_timestamps(frame, [name for name, kind in kinds.items() if kind == "datetime"])
    defaults = {role.name: _default(role, kinds[role.name]) for role in inputs}
    base = {role.name: coerced(role.name, kinds[role.name], frame.schema[role.name]) for role in inputs}
    stats_exprs = []
    for role in inputs:
        kind = kinds[role.name]
        if defaults[role.name] is not None or kind == "category":
            continue
        expr = base[role.name]
        stats_exprs.append((expr.mean() if kind == "boolean" else expr.median()).alias(role.name))
    stats = frame.select(stats_exprs).row(0, named=True) if stats_exprs and frame.height else {}

    columns = []
    for role in inputs:
        kind = kinds[role.name]
        fill = defaults[role.name]
        categories: list[str] = []
        if kind == "category":
            fill = MISSING if fill is None else fill
            categories = _top_categories(frame, base[role.name].fill_null(fill), max_categories)
        elif fill is None:
            fill = _statistic_fill(kind, stats.get(role.name))
        columns.append(Column(role.name, role.data_type, role.attribute, kind, fill, categories))
    return columns


def _statistic_fill(kind: str, value: Any) -> float | int:
    if kind == "boolean":
        return 1.0 if value is not None and value > 0.5 else 0.0
    if kind == "numeric":
        return float(value) if value is not None and math.isfinite(value) else 0.0
    # dates: the median of the integer representation (days or microseconds), 0 = the epoch if all null
    return round(value) if value is not None and math.isfinite(value) else 0


def _top_categories(frame: pl.DataFrame, filled: pl.Expr, max_categories: int) -> list[str]:
    """Most frequent first, ties by value, so the same data always yields the same codes."""
    counts = frame.select(filled.alias("value")).group_by("value").len(name="n")
    top = counts.sort(["n", "value"], descending=[True, False]).head(max_categories)
    return top["value"].to_list()


def _default(role: ColumnRole, kind: str) -> float | int | str | None:
    """The template default in the column's base representation, or None to learn one from the data."""
    if role.default is None:
        return None
    try:
        value = parse_value(role.data_type, role.default)
    except ValueError as exc:
        raise ValueError(f"default of column {role.name!r}: {exc}") from None
    if kind == "category":
        return str(value)
    if kind == "boolean":
        return 1.0 if value else 0.0
    if kind == "numeric":
        number = float(value)  # type: ignore[arg-type]
        return number if math.isfinite(number) else None
    if kind == "date":
        day = value.date() if isinstance(value, datetime) else value
        assert isinstance(day, date)
        return (day - _EPOCH.date()).days
    moment = value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())  # type: ignore[arg-type]
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
