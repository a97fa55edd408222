"""Everything a training request must satisfy, checked before any compute is submitted.

Each failure is a 422 that names the problem (the column, the algorithm, the class count), so a
user fixes the request instead of waiting for a job to fail on the cluster. Only the target column
of the dataset's snapshot is read here (one Iceberg column), to check it fits the problem type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from raylake.core import types
from raylake.core.vocabulary import ColumnAttribute, ProblemType
from raylake.ml import algorithms
from raylake.platform import lake
from raylake.platform.datasets.models import Dataset
from raylake.platform.errors import Invalid
from raylake.schemas.training import ColumnRoleIn

MAX_CLASSES = 100
MIN_ROWS = 10
NUMERIC = {"Integer", "Float"}


@dataclass(frozen=True)
class Target:
    name: str
    data_type: str
    rows: int
    classes: int


def problem_type(text: str) -> ProblemType:
    """The problem type a request names (case-insensitive, any of the three)."""
    for name in ProblemType:
        if text.strip().lower() == name.lower():
            return name
    raise Invalid(f"problem_type must be one of {', '.join(ProblemType)}, not {text[:40]!r}")


def _attribute(text: str, column: str) -> ColumnAttribute:
    for name in ColumnAttribute:
        if text.strip().lower() == name.lower():
            return name
    raise Invalid(f"column {column!r}: attribute_name must be one of {', '.join(ColumnAttribute)}")


def roles(dataset: Dataset, columns: list[ColumnRoleIn]) -> list[dict[str, Any]]:
    """Every dataset column with its role: listed columns as given, the rest as Features."""
    specs = {spec["name"]: spec for spec in dataset.column_specs}
    given: dict[str, str] = {}
    for column in columns:
        name = column.column_name
        if name not in specs:
            raise Invalid(f"column {name!r} is not in dataset {dataset.dataset_name!r}")
        if name in given:
            raise Invalid(f"column {name!r} is listed twice")
        if column.data_type is not None:
            try:
                declared = types.resolve(column.data_type)
            except ValueError as exc:
                raise Invalid(f"column {name!r}: {exc}") from None
            if declared.value != specs[name]["data_type"]:
                raise Invalid(
                    f"column {name!r} is {specs[name]['data_type']} in the dataset, not {declared.value}"
                )
        given[name] = _attribute(column.attribute_name, name)
    result = [
        {
            "name": name,
            "data_type": spec["data_type"],
            "attribute": given.get(name, "Feature"),
            "default": spec.get("default"),
        }
        for name, spec in specs.items()
    ]
    targets = [r["name"] for r in result if r["attribute"] == "Target"]
    if not targets:
        raise Invalid("no column has attribute_name Target: name the column to predict")
    if len(targets) > 1:
        raise Invalid(f"only one Target column is allowed, got {', '.join(targets)}")
    times = [r["name"] for r in result if r["attribute"] == "Time"]
    if len(times) > 1:
        raise Invalid(f"at most one Time column is allowed, got {', '.join(times)}")
    if not any(r["attribute"] in ("Feature", "Time") for r in result):
        raise Invalid("no Feature columns are left: a model needs at least one input column")
    return result


def read_target(ctx: lake.Lake, dataset: Dataset, name: str, data_type: str) -> Target:
    """The target column's count of non-empty values and of distinct classes in the dataset."""
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    column = pl.scan_iceberg(table, snapshot_id=dataset.snapshot_id).select(pl.col(name))
    counts = column.select(
        pl.col(name).count().alias("rows"), pl.col(name).drop_nulls().n_unique().alias("classes")
    )
    rows, classes = counts.collect().row(0)
    return Target(name=name, data_type=data_type, rows=int(rows), classes=int(classes))


def check_target(target: Target, kind: str) -> None:
    """Refuse a target with too few values, or of a type or class count the problem cannot use."""
    if target.rows < MIN_ROWS:
        raise Invalid(
            f"target {target.name!r} has {target.rows} non-empty values; at least {MIN_ROWS} are needed"
        )
    if kind == "Regression" and target.data_type not in NUMERIC:
        raise Invalid(
            f"Regression needs a numeric target; {target.name!r} is {target.data_type} (use Classification)"
        )
    if kind == "Classification":
        if target.classes < 2:
            raise Invalid(
                f"target {target.name!r} has {target.classes} class; Classification needs 2 or more"
            )
        if target.classes > MAX_CLASSES:
            raise Invalid(
                f"target {target.name!r} has {target.classes} distinct values, more than the "
                f"{MAX_CLASSES} classes Classification allows (use Regression for a numeric target)"
            )


def algorithm(name: str | None, kind: str) -> str:
    """The algorithm's canonical name for the problem type; 422 when it cannot learn it."""
    try:
        return algorithms.resolve(name, kind)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def params(name: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """The algorithm's parameters, checked and cleaned; 422 for unknown or invalid ones."""
    if not given:
        return {}
    if name == algorithms.AUTO:
        raise Invalid("params cannot be set with algorithm auto: the search chooses them")
    try:
        return algorithms.check_params(name, given)
    except ValueError as exc:
        raise Invalid(f"params: {exc}") from None
