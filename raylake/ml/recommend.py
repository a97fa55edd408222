"""Which model family suits a table: its task, what its columns look like, and the pick from quick fits.

Pure functions over a polars frame (no Ray, no database): the platform's service reads the rows, runs
``quick_fit.score_family`` once per family (on Ray), and hands the scores to ``choose``. The pick is the
best mean cross-validated score; the confidence says how surely it beats the runner-up on the same folds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from raylake.core.types import DataType
from raylake.core.vocabulary import ModelType, ProblemType, Task
from raylake.ml.algorithms.registry import TABULAR_MODEL_TYPES
from raylake.ml.preprocess import ColumnRole, drop_missing_target, target_labels
from raylake.ml.quick_fit import FamilyScore

MAX_CLASSES = 100
# Three folds, each with an inner early-stopping share, need this many labelled rows.
MIN_ROWS = 30
# An Integer target with at most this many distinct values (and few per row) is read as classes.
MAX_INFERRED_CLASSES = 20
# A column whose values are all distinct over at least this many rows looks like an identifier.
ID_MIN_ROWS = 20
# A numeric feature whose rank correlation with a numeric target is at least this is a function of it.
LEAK_CORRELATION = 0.999
METRIC_NAMES = {
    Task.BINARY_CLASSIFICATION: "ROC AUC",
    Task.MULTICLASS_CLASSIFICATION: "negative log loss",
    Task.REGRESSION: "R²",
}


def data_type_of(dtype: pl.DataType) -> DataType:
    """The template data type a polars column holds."""
    if dtype == pl.Boolean:
        return DataType.BOOLEAN
    if dtype.is_integer():
        return DataType.INTEGER
    if dtype.is_float() or dtype.is_decimal():
        return DataType.FLOAT
    if dtype == pl.Date:
        return DataType.DATE
    if isinstance(dtype, pl.Datetime):
        return DataType.DATETIME
    return DataType.STRING


def data_types(frame: pl.DataFrame, declared: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every column's data type: the declared one (a dataset's column specs) where given, else its own."""
    declared = declared or {}
    return {name: declared.get(name) or data_type_of(dtype).value for name, dtype in frame.schema.items()}


def infer_task(series: pl.Series, data_type: str) -> Task:
    """The task a target suggests: two values are binary, a few labels multiclass, numbers regression."""
    values = series.drop_nulls()
    if values.dtype.is_float():
        values = values.filter(values.is_finite())
    distinct = values.n_unique()
    if data_type in (DataType.DATE, DataType.DATETIME):
        raise ValueError(f"target {series.name!r} is a {data_type}: a date cannot be predicted as a label")
    if distinct == 2:
        return Task.BINARY_CLASSIFICATION
    if data_type in (DataType.STRING, DataType.BOOLEAN):
        return Task.MULTICLASS_CLASSIFICATION
    if (
        data_type == DataType.INTEGER
        and 2 < distinct <= MAX_INFERRED_CLASSES
        and distinct * 20 <= len(values)
    ):
        return Task.MULTICLASS_CLASSIFICATION
    return Task.REGRESSION


def check_task(task: Task, series: pl.Series, data_type: str) -> None:
    """ValueError naming the problem when ``task`` cannot be learnt from this target."""
    if task is Task.FORECASTING:
        raise ValueError(
            "forecasting has one model type (forecaster); a recommendation compares the tabular families "
            "(binary_classification, multiclass_classification or regression)"
        )
    values = series.drop_nulls()
    if values.dtype.is_float():
        values = values.filter(values.is_finite())
    distinct = values.n_unique()
    name = series.name
    if task is Task.REGRESSION:
        if data_type not in (DataType.INTEGER, DataType.FLOAT):
            raise ValueError(f"regression needs a numeric target; {name!r} is {data_type}")
        if distinct < 2:
            raise ValueError(f"target {name!r} has {distinct} distinct value; nothing to regress")
        return
    if distinct < 2:
        raise ValueError(f"target {name!r} has {distinct} class; classification needs 2 or more")
    if task is Task.BINARY_CLASSIFICATION and distinct != 2:
        raise ValueError(f"target {name!r} has {distinct} classes; binary_classification needs exactly 2")
    if task is Task.MULTICLASS_CLASSIFICATION and distinct == 2:
        raise ValueError(f"target {name!r} has 2 classes: that is binary_classification")
    if distinct > MAX_CLASSES:
        raise ValueError(
            f"target {name!r} has {distinct} distinct values, more than the {MAX_CLASSES} classes "
            "classification allows (use regression for a numeric target)"
        )


def schema_analysis(frame: pl.DataFrame, target: str, task: Task, types: Mapping[str, str]) -> dict[str, Any]:
    """Each column's type, distinct values and missing rate, and the target's class balance (or spread)."""
    rows = max(frame.height, 1)
    counts = frame.select(
        *(pl.col(name).n_unique().alias(f"u:{name}") for name in frame.columns),
        *(pl.col(name).null_count().alias(f"n:{name}") for name in frame.columns),
    ).row(0, named=True)
    columns = [
        {
            "name": name,
            "data_type": types[name],
            "role": "target" if name == target else "feature",
            "cardinality": int(counts[f"u:{name}"]) - (1 if counts[f"n:{name}"] else 0),
            "missing_rate": round(counts[f"n:{name}"] / rows, 4),
        }
        for name in frame.columns
    ]
    usable = drop_missing_target(frame, target)[target]
    result: dict[str, Any] = {"task": task.value, "target": target, "columns": columns}
    if task.problem_type == ProblemType.CLASSIFICATION:
        shares = (
            target_labels(usable).value_counts(normalize=True, name="share").sort("share", descending=True)
        )
        balance = {str(label): round(float(share), 4) for label, share in shares.iter_rows()}
        result["class_balance"] = balance
        result["minority_share"] = min(balance.values()) if balance else None
    else:
        numbers = usable.cast(pl.Float64)
        result["target_summary"] = {
            key: _plain(value)
            for key, value in {
                "mean": numbers.mean(),
                "std": numbers.std(),
                "min": numbers.min(),
                "max": numbers.max(),
            }.items()
        }
    return result


def leakage_suspects(frame: pl.DataFrame, target: str, types: Mapping[str, str]) -> list[dict[str, str]]:
    """Features that give the answer away (identical to the target, a one-to-one recoding or an exact
    monotone function of it) and identifiers (every value distinct), on the rows with a target."""
    usable = drop_missing_target(frame, target)
    suspects: list[dict[str, str]] = []
    if usable.height == 0:
        return suspects
    label = target_labels(usable[target])
    target_distinct = usable[target].n_unique()
    numeric = (DataType.INTEGER, DataType.FLOAT)
    for name in usable.columns:
        if name == target:
            continue
        column = usable[name]
        reason = None
        if column.null_count() == 0 and column.cast(pl.String).equals(label):
            reason = "identical to the target"
        elif target_distinct * 2 <= usable.height and _one_to_one(usable, name, target):
            reason = "a one-to-one recoding of the target"
        elif types[name] in numeric and types[target] in numeric and _monotone(usable, name, target):
            reason = "an exact monotone function of the target"
        elif _identifier(column, types[name]):
            reason = "every value distinct (an identifier): nothing to generalise from"
        if reason is not None:
            suspects.append({"column": name, "reason": reason})
    return suspects


def data_analysis(frame: pl.DataFrame, target: str, types: Mapping[str, str]) -> dict[str, Any]:
    """Rows, usable rows (a target value), and leakage suspects."""
    usable = drop_missing_target(frame, target).height
    return {
        "rows": frame.height,
        "usable_rows": usable,
        "leakage_suspects": leakage_suspects(frame, target, types),
    }


def roles_for(types: Mapping[str, str], target: str, excluded: Sequence[str] = ()) -> list[ColumnRole]:
    """Column roles for the quick fits: the target, every other column a Feature except ``excluded``."""
    return [
        ColumnRole(
            name,
            data_type,
            "Target" if name == target else ("Ignore" if name in excluded else "Feature"),
        )
        for name, data_type in types.items()
    ]


@dataclass(frozen=True)
class Analysis:
    """What is known about a table before any fit: its task, column types and roles, and what to report."""

    task: Task
    types: dict[str, str]
    schema: dict[str, Any]
    data: dict[str, Any]
    excluded: list[str]
    roles: list[ColumnRole]


def analyse(
    frame: pl.DataFrame, target: str, *, task: Task | None = None, declared: Mapping[str, str] | None = None
) -> Analysis:
    """The task (inferred when not given, else checked), schema and data analysis, and the fits' roles
    (leakage suspects left out). ValueError naming the problem when the table cannot be recommended on."""
    if target not in frame.columns:
        raise ValueError(f"target {target!r} is not a column; the columns are {', '.join(frame.columns)}")
    if frame.width < 2:
        raise ValueError("the table has no column besides the target to learn from")
    types = data_types(frame, declared)
    task = task if task is not None else infer_task(frame[target], types[target])
    check_task(task, frame[target], types[target])
    data = data_analysis(frame, target, types)
    if data["usable_rows"] < MIN_ROWS:
        raise ValueError(
            f"{data['usable_rows']} rows have a value of {target!r}; a recommendation needs {MIN_ROWS}"
        )
    excluded = [suspect["column"] for suspect in data["leakage_suspects"]]
    if len(excluded) == frame.width - 1:
        raise ValueError("every feature is a leakage suspect or an identifier: nothing left to learn from")
    return Analysis(
        task=task,
        types=types,
        schema=schema_analysis(frame, target, task, types),
        data=data,
        excluded=excluded,
        roles=roles_for(types, target, excluded),
    )


@dataclass(frozen=True)
class Choice:
    model_type: ModelType
    confidence: int
    explanation: str


def choose(scores: Sequence[FamilyScore], task: Task, *, sample_rows: int, excluded: Sequence[str]) -> Choice:
    """The family with the best mean score; confidence 0-100 from its paired margin over the runner-up."""
    metric = METRIC_NAMES[task]
    ranked = sorted((s for s in scores if s.score is not None), key=lambda s: s.score or 0.0, reverse=True)
    missing = [s.model_type.value for s in scores if s.score is None and s.status != "not_applicable"]
    notes = []
    if excluded:
        notes.append(f"Left out of the fits as leakage suspects: {', '.join(excluded)}.")
    if missing:
        notes.append(f"No score for {', '.join(missing)} (see their reasons).")
    if not ranked:
        text = f"No family finished a fold within the time budget; lightgbm is the default. {' '.join(notes)}"
        return Choice(ModelType.LIGHTGBM, 0, text.strip())
    best = ranked[0]
    lead = (
        f"{best.model_type.value} scored the best {metric}, {_num(best.score)}"
        f"{_spread(best)} over {len(best.folds)} folds of {sample_rows:,} sampled rows"
    )
    if len(ranked) == 1:
        text = f"{lead}; no other family finished to compare with, so confidence is 50. {' '.join(notes)}"
        return Choice(best.model_type, 50, text.strip())
    runner = ranked[1]
    confidence, wins, paired = _confidence(best, runner)
    text = (
        f"{lead}, ahead of {runner.model_type.value} ({_num(runner.score)}{_spread(runner)}) by "
        f"{_margin((best.score or 0.0) - (runner.score or 0.0))}; it won {wins} of {paired} paired folds. "
        f"Confidence {confidence}/100 weighs that margin against the folds' spread. {' '.join(notes)}"
    )
    return Choice(best.model_type, confidence, text.strip())


def _confidence(best: FamilyScore, runner: FamilyScore) -> tuple[int, int, int]:
    """0 for a tie, 100 for a margin far beyond the paired folds' spread (a one-sided t test, rescaled);
    with the folds won and compared."""
    from scipy import stats

    paired = min(len(best.folds), len(runner.folds))
    diff = np.asarray(best.folds[:paired]) - np.asarray(runner.folds[:paired])
    wins = int((diff > 0).sum())
    mean = float(np.mean(best.folds)) - float(np.mean(runner.folds))
    if paired < 2:
        return (50 if mean > 0 else 0), wins, paired
    sd = float(np.std(diff, ddof=1))
    if sd <= 1e-12:
        return (100 if mean > 1e-12 else 0), wins, paired
    t = float(np.mean(diff)) / (sd / math.sqrt(paired))
    probability = float(stats.t.cdf(t, df=paired - 1))
    return max(0, min(100, round(200 * (probability - 0.5)))), wins, paired


def model_types() -> tuple[ModelType, ...]:
    """The families a recommendation scores (every tabular model type)."""
    return TABULAR_MODEL_TYPES


def _identifier(column: pl.Series, data_type: str) -> bool:
    """All values distinct: any text, or whole numbers packed in a range (a counter, not a measurement)."""
    rows = column.len()
    if rows < ID_MIN_ROWS or column.null_count() or column.n_unique() != rows:
        return False
    if data_type == DataType.STRING:
        return True
    if data_type == DataType.INTEGER:
        return int(column.max()) - int(column.min()) < 2 * rows  # type: ignore[arg-type]
    return False


def _one_to_one(frame: pl.DataFrame, feature: str, target: str) -> bool:
    pairs = frame.select(
        pl.struct(feature, target).n_unique().alias("pairs"),
        pl.col(feature).n_unique().alias("feature"),
        pl.col(target).n_unique().alias("target"),
    ).row(0)
    return pairs[0] == pairs[1] == pairs[2] and frame[feature].null_count() == 0


def _monotone(frame: pl.DataFrame, feature: str, target: str) -> bool:
    both = frame.select(pl.col(feature).cast(pl.Float64), pl.col(target).cast(pl.Float64)).drop_nulls()
    if both.height < 3 or both[feature].n_unique() < 3:
        return False
    value = both.select(pl.corr(feature, target, method="spearman")).item()
    return value is not None and math.isfinite(value) and abs(value) >= LEAK_CORRELATION


def _plain(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, 6) if math.isfinite(number) else None


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _margin(value: float) -> str:
    return f"{value:.4f}" if value >= 1e-4 or value == 0 else f"{value:.1e}"


def _spread(score: FamilyScore) -> str:
    return f" ± {score.spread:.4f}" if score.spread is not None else ""
