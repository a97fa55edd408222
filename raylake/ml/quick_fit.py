"""Quick cross-validated fits of one model family on a sample: the evidence a recommendation rests on.

Each fold goes through the same code a training run does (``Preprocessor.fit`` on the fold's training rows,
``algorithms.fit`` with early stopping on an inner validation share, ``metrics.search_score``), with
parameters trimmed so a family fits a few thousand rows in seconds. Every family is scored on the same
folds of the same sample, so fold scores are paired across families.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from raylake.core.vocabulary import ModelType, ProblemType
from raylake.ml import metrics
from raylake.ml.algorithms import ALGORITHMS, TrainData, default_params, fit
from raylake.ml.algorithms.registry import algorithm_for
from raylake.ml.preprocess import ColumnRole, Preprocessor, sorted_classes, target_labels

FOLDS = 3
SAMPLE_ROWS = 5_000
# The share of a fold's training rows that boosting and the MLP stop early on (as training's 15%).
EARLY_STOPPING_SHARE = 0.15
# Fewer rounds and epochs than training's defaults, a larger learning rate to match: a family's quick
# score ranks it among the others, it is not the model training will build.
QUICK_PARAMS: dict[str, dict[str, Any]] = {
    "LightGBM": {"n_estimators": 200, "learning_rate": 0.1},
    "HistGradientBoosting": {"max_iter": 200, "learning_rate": 0.1},
    "RandomForest": {"n_estimators": 100},
    "ExtraTrees": {"n_estimators": 100},
    "NeuralNetwork": {"max_iter": 100},
}


@dataclass
class FamilyScore:
    """One family's quick cross-validation: its fold scores (higher is better) and how it went."""

    model_type: ModelType
    algorithm: str
    folds: list[float] = field(default_factory=list)
    seconds: float = 0.0
    status: str = "ok"  # ok | partial | timed_out | failed | not_applicable
    reason: str | None = None

    @property
    def score(self) -> float | None:
        """The mean fold score; None when no fold finished."""
        return float(np.mean(self.folds)) if self.folds else None

    @property
    def spread(self) -> float | None:
        """The fold scores' standard deviation; None with fewer than two folds."""
        return float(np.std(self.folds, ddof=1)) if len(self.folds) > 1 else None


def sample(frame: pl.DataFrame, target: str, problem_type: str, rows: int, seed: int) -> pl.DataFrame:
    """At most ``rows`` rows, stratified by class for classification (every class keeps its share)."""
    if frame.height <= rows:
        return frame
    positions = np.arange(frame.height)
    labels = target_labels(frame[target]).to_numpy() if problem_type == ProblemType.CLASSIFICATION else None
    kept = _split(positions, labels, seed=seed, train_size=rows)[0]
    return frame[np.sort(kept)]


def fold_indices(labels: np.ndarray | None, n_rows: int, folds: int, seed: int) -> list[np.ndarray]:
    """The held-out rows of each fold: stratified where every class has a row per fold, else plain."""
    positions = np.zeros(n_rows)
    if labels is not None and np.unique(labels, return_counts=True)[1].min() >= folds:
        splitter: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return [held for _, held in splitter.split(positions, labels)]
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return [held for _, held in splitter.split(positions)]


def score_family(
    frame: pl.DataFrame,
    roles: Sequence[ColumnRole],
    *,
    model_type: ModelType | str,
    problem_type: str,
    folds: int = FOLDS,
    seed: int = 0,
    deadline: float | None = None,
) -> FamilyScore:
    """Cross-validate one family on ``frame`` (already sampled), stopping between folds at ``deadline``
    (``time.time()`` seconds): the folds that finished are the score."""
    model_type = ModelType(model_type)
    algorithm = algorithm_for(model_type, problem_type)
    result = FamilyScore(model_type=model_type, algorithm=algorithm)
    started = time.perf_counter()
    target = roles_target(roles)
    classification = problem_type == ProblemType.CLASSIFICATION
    classes = sorted_classes(frame[target]) if classification else None
    labels = target_labels(frame[target]).to_numpy() if classification else None
    held_out = fold_indices(labels, frame.height, folds, seed)
    params = default_params(algorithm, problem_type) | QUICK_PARAMS.get(algorithm, {})
    try:
        for held in held_out:
            if deadline is not None and time.time() >= deadline:
                break
            train = np.setdiff1d(np.arange(frame.height), held)
            result.folds.append(
                _fold(frame, roles, train, held, algorithm, problem_type, classes, params, seed)
            )
    except Exception as exc:  # a family that cannot fit these data is reported, not fatal
        result.status, result.reason = "failed", f"{type(exc).__name__}: {exc}"[:300]
    result.seconds = round(time.perf_counter() - started, 3)
    if result.status == "failed":
        return result
    if not result.folds:
        result.status, result.reason = "timed_out", "no fold finished within the time budget"
    elif len(result.folds) < len(held_out):
        result.status = "partial"
        result.reason = f"{len(result.folds)} of {len(held_out)} folds finished within the time budget"
    return result


def _fold(
    frame: pl.DataFrame,
    roles: Sequence[ColumnRole],
    train: np.ndarray,
    held: np.ndarray,
    algorithm: str,
    problem_type: str,
    classes: list[str] | None,
    params: dict[str, Any],
    seed: int,
) -> float:
    """One fold: preprocessing fitted on its training rows, early stopping on an inner share, the score on
    its held-out rows (the search's figure: ROC AUC, -log loss or R²)."""
    train_frame = frame[train]
    labels = target_labels(train_frame[roles_target(roles)]).to_numpy() if classes is not None else None
    fit_rows, stop_rows = _split(
        np.arange(train_frame.height), labels, seed=seed, test_size=EARLY_STOPPING_SHARE
    )
    fitting, stopping, held_frame = (
        train_frame[np.sort(fit_rows)],
        train_frame[np.sort(stop_rows)],
        frame[held],
    )
    encoding = ALGORITHMS[algorithm].encoding
    pre = Preprocessor.fit(fitting, roles, problem_type=problem_type, encoding=encoding, classes=classes)
    data = TrainData(
        X_train=pre.transform(fitting),
        y_train=pre.encode_target(fitting),
        X_val=pre.transform(stopping),
        y_val=pre.encode_target(stopping),
        n_classes=len(classes) if classes is not None else None,
        categorical=list(pre.categorical_indices),
        feature_names=list(pre.feature_names),
    )
    model = fit(algorithm, problem_type, data, params, threads=1, seed=seed)
    X_held, y_held = pre.transform(held_frame), pre.encode_target(held_frame)
    score = metrics.search_score(
        problem_type, data.n_classes, y_held, model.predict(X_held), model.predict_proba(X_held)
    )
    return score if math.isfinite(score) else -1e9


def roles_target(roles: Sequence[ColumnRole]) -> str:
    """The name of the Target column among ``roles``."""
    return next(role.name for role in roles if role.attribute == "Target")


def _split(
    positions: np.ndarray, labels: np.ndarray | None, *, seed: int, **sizes: float | int
) -> tuple[np.ndarray, np.ndarray]:
    """Two parts of ``positions`` (``train_size`` or ``test_size``), stratified by label where every
    class can be on both sides."""
    if labels is not None:
        try:
            kept, held = train_test_split(positions, random_state=seed, stratify=labels, **sizes)
            return kept, held
        except ValueError:
            pass
    kept, held = train_test_split(positions, random_state=seed, **sizes)
    return kept, held
