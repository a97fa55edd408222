"""A LightGBM surrogate of an external model: fitted to the model's own answers on the user's data, it
explains the model by exact tree SHAP, and says how far to trust that by its fidelity on held-out rows
(agreement of classes for classifiers, R² for regressors).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from raylake.core.vocabulary import Task
from raylake.ml import external_inputs as inputs_
from raylake.ml.external import ExternalModel
from raylake.ml.external_inputs import Categories

# Rows the surrogate is fitted on at most (a seeded sample beyond), so a job's cost is bounded.
SURROGATE_ROWS = 50_000
MIN_ROWS = 10
ROUNDS = 200
SURROGATE_FORMAT = "lightgbm-text"
ROWS_PER_THREAD = 10_000


@dataclass
class Surrogate:
    booster: lgb.Booster
    task: Task
    class_order: list[str] | None
    fidelity: float
    metric: str
    rows: int
    inputs: list[str] = field(default_factory=list)
    categories: Categories = field(default_factory=dict)

    def to_text(self) -> str:
        """The booster in LightGBM's text format (``meta`` holds the rest)."""
        return str(self.booster.model_to_string())

    def meta(self) -> dict[str, Any]:
        """What ``load`` needs beside the booster text, as plain JSON values."""
        return {
            "format": SURROGATE_FORMAT,
            "task": self.task.value,
            "class_order": self.class_order,
            "fidelity": self.fidelity,
            "metric": self.metric,
            "rows": self.rows,
            "inputs": self.inputs,
            "categories": self.categories,
        }

    @classmethod
    def load(cls, text: str, meta: dict[str, Any]) -> Surrogate:
        """The surrogate ``to_text`` and ``meta`` wrote."""
        if meta.get("format", SURROGATE_FORMAT) != SURROGATE_FORMAT:
            raise ValueError(f"unknown surrogate format {meta.get('format')!r}")
        order = meta.get("class_order")
        return cls(
            booster=lgb.Booster(model_str=text),
            task=Task(meta["task"]),
            class_order=list(order) if order is not None else None,
            fidelity=float(meta["fidelity"]),
            metric=str(meta["metric"]),
            rows=int(meta["rows"]),
            inputs=list(meta.get("inputs") or []),
            categories={str(k): list(v) for k, v in (meta.get("categories") or {}).items()},
        )


def fit_surrogate(
    model: ExternalModel, frame: pl.DataFrame, *, seed: int = 0, holdout: float = 0.2, threads: int = 0
) -> Surrogate:
    """A booster fitted to ``model``'s predictions on ``frame`` (its input columns; others ignored),
    deterministic for a seed; its fidelity measured on the held-out share. Learns ``model.categories``.
    ``threads`` 0: one per 10,000 rows, up to every core."""
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout is a share between 0 and 1, not {holdout}")
    signature = model.signature
    columns = inputs_.from_frame(signature.inputs, frame)  # ValueError naming missing inputs
    if frame.height < MIN_ROWS:
        raise ValueError(f"a surrogate needs at least {MIN_ROWS} rows; the data has {frame.height}")
    rng = np.random.default_rng(seed)
    if frame.height > SURROGATE_ROWS:
        picked = np.sort(rng.choice(frame.height, size=SURROGATE_ROWS, replace=False))
        columns = [column[picked] for column in columns]
    threads = threads if threads > 0 else _threads_for(len(columns[0]))
    output = model.runner.run(columns, threads)
    categories = inputs_.learn_categories(signature.inputs, columns)
    X = inputs_.encode(signature.inputs, columns, categories)
    y = np.argmax(output, axis=1) if model.classification else output
    n = len(X)
    order = rng.permutation(n)
    held = min(max(1, round(n * holdout)), n - MIN_ROWS // 2)
    test, train = order[:held], np.sort(order[held:])
    booster = lgb.train(
        _params(model, len(train), seed, threads),
        lgb.Dataset(
            X[train],
            y[train],
            categorical_feature=[j for j, (_, kind) in enumerate(signature.inputs) if inputs_.is_text(kind)],
            free_raw_data=True,
        ),
        num_boost_round=ROUNDS,
    )
    fidelity, metric = _fidelity(model, booster, X[test], y[test])
    model.categories = categories
    return Surrogate(
        booster=booster,
        task=signature.task,
        class_order=list(signature.class_order) if signature.class_order else None,
        fidelity=fidelity,
        metric=metric,
        rows=len(train),
        inputs=signature.names,
        categories=categories,
    )


def _params(model: ExternalModel, rows: int, seed: int, threads: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        "learning_rate": 0.1,
        "num_leaves": 31,
        "min_data_in_leaf": max(1, min(20, rows // 50)),
        "min_data_per_group": 1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
        "num_threads": threads,
    }
    classes = len(model.signature.class_order or [])
    if model.signature.task is Task.REGRESSION:
        params["objective"] = "regression"
    elif classes == 2:
        params["objective"] = "binary"
    else:
        params.update(objective="multiclass", num_class=classes)
    return params


def _threads_for(rows: int) -> int:
    """Every core pays only on many rows: on a few thousand, OpenMP's start and spin cost more than the
    fit (and on a busy machine, seconds instead of milliseconds)."""
    return max(1, min(os.cpu_count() or 1, rows // ROWS_PER_THREAD))


def _fidelity(model: ExternalModel, booster: lgb.Booster, X: np.ndarray, y: np.ndarray) -> tuple[float, str]:
    """Held-out agreement of the surrogate's class with the model's, or R² of its values against them."""
    raw = np.asarray(booster.predict(X), dtype=np.float64)
    if model.classification:
        guessed = (raw > 0.5).astype(np.int64) if raw.ndim == 1 else np.argmax(raw, axis=1)
        return float(np.mean(guessed == y)), "agreement"
    total = float(np.sum((y - y.mean()) ** 2))
    residual = float(np.sum((y - raw) ** 2))
    if total == 0.0:
        return (1.0 if residual == 0.0 else 0.0), "r2"
    return 1.0 - residual / total, "r2"
