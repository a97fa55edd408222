"""End-to-end training of one predictor version: split, preprocess, fit (or search), evaluate.

The training job owns reading the data and storing the result; this module owns every modelling decision
in between, so the same rows and seed give the same model whether run in a Ray job or a test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from sklearn.model_selection import train_test_split

from raylake.core.types import resolve as resolve_type
from raylake.ml import metrics
from raylake.ml.algorithms import (
    ALGORITHMS,
    AUTO,
    CLASSIFICATION,
    Model,
    TrainData,
    check_params,
    default_params,
    display_name,
    fit,
    resolve,
)
from raylake.ml.preprocess import (
    ColumnRole,
    Preprocessor,
    drop_missing_target,
    sorted_classes,
    target_labels,
)

VALIDATION_SHARE = 0.15
TEST_SHARE = 0.15
MIN_ROWS = 10

Progress = Callable[[str, int], None]


@dataclass
class PipelineResult:
    preprocessor: Preprocessor
    model: Model
    algorithm: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    trials: list[dict[str, Any]]
    rows: dict[str, int]
    # The held-out test rows' predictions in the user's terms (labels or numbers): the version's
    # prediction distribution, which drift checks compare captured predictions with.
    test_predictions: list[Any] | None = None


def run(
    frame: pl.DataFrame,
    roles: Sequence[ColumnRole],
    *,
    problem_type: str,
    algorithm: str,
    params: dict[str, Any] | None = None,
    time_budget_s: float = 60,
    seed: int = 0,
    threads: int = 1,
    max_concurrency: int = 1,
    storage_path: Path | None = None,
    progress: Progress = lambda stage, pct: None,
    parent: tuple[Preprocessor, Model] | None = None,
) -> PipelineResult:
    """Train on 70% of the labelled rows, stop early / search on 15%, and report on the last 15%.

    With ``parent`` (incremental training) the parent's preprocessing is reused unchanged, so the new
    model sees features exactly as the old one did, and LightGBM continues from the parent's trees.
    """
    name = resolve(algorithm, problem_type)
    user_params = check_params(name, params) if name != AUTO else {}
    progress("preprocessing", 5)
    target = _target(roles)
    frame = drop_missing_target(frame, target.name)
    if frame.height < MIN_ROWS:
        raise ValueError(f"{frame.height} rows have a target value; training needs at least {MIN_ROWS}")

    classification = problem_type == CLASSIFICATION
    classes: list[str] | None = None
    if classification:
        classes = parent[0].classes if parent is not None else sorted_classes(frame[target.name])
        if classes is None or len(classes) < 2:
            raise ValueError(f"target {target.name!r} has fewer than two classes; nothing to classify")
    labels = target_labels(frame[target.name]).to_numpy() if classification else None
    train_idx, val_idx, test_idx = split_indices(frame.height, labels, seed)
    train, val, test = frame[train_idx], frame[val_idx], frame[test_idx]

    preprocessors = _preprocessors(train, roles, problem_type, name, classes, parent)
    data = {encoding: _train_data(pre, train, val) for encoding, pre in preprocessors.items()}
    progress("preprocessing", 10)

    if name == AUTO:
        name, model, trials = _search(
            problem_type, data, time_budget_s, seed, threads, max_concurrency, storage_path, progress
        )
    else:
        model, trials = _fixed(name, problem_type, data, user_params, seed, threads, parent, progress)
    preprocessor = preprocessors[ALGORITHMS[name].encoding]

    progress("evaluating", 90)
    X_test = preprocessor.transform(test)
    y_test = preprocessor.encode_target(test)
    if classification:
        assert preprocessor.classes is not None
        proba = model.predict_proba(X_test)  # once: the predicted class is its argmax
        assert proba is not None
        predicted = np.argmax(proba, axis=1).astype(np.int64)
        scores = metrics.classification(y_test, predicted, proba, preprocessor.classes)
    else:
        predicted = model.predict(X_test)
        scores = metrics.regression(y_test, predicted)
    scores["model"] = display_name(name, problem_type)
    return PipelineResult(
        preprocessor=preprocessor,
        model=model,
        algorithm=name,
        params=dict(model.params),
        metrics=scores,
        trials=trials,
        rows={"train": len(train_idx), "validation": len(val_idx), "test": len(test_idx)},
        test_predictions=preprocessor.decode_target(predicted),
    )


def split_indices(
    n_rows: int, labels: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """70/15/15 row positions, stratified by label where every class has enough rows to be split."""
    positions = np.arange(n_rows)
    rest, test = _split(positions, labels, TEST_SHARE, seed)
    rest_labels = labels[rest] if labels is not None else None
    train, val = _split(rest, rest_labels, VALIDATION_SHARE / (1 - TEST_SHARE), seed)
    return np.sort(train), np.sort(val), np.sort(test)


def _split(
    positions: np.ndarray, labels: np.ndarray | None, share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    if labels is not None:
        try:
            kept, held = train_test_split(positions, test_size=share, random_state=seed, stratify=labels)
            return kept, held
        except ValueError:
            pass  # a class too small to appear on both sides: split without stratifying
    kept, held = train_test_split(positions, test_size=share, random_state=seed)
    return kept, held


def _target(roles: Sequence[ColumnRole]) -> ColumnRole:
    targets = [role for role in roles if role.attribute == "Target"]
    if len(targets) != 1:
        raise ValueError(f"exactly one Target column is needed; found {len(targets)}")
    role = targets[0]
    return ColumnRole(role.name, resolve_type(role.data_type).value, role.attribute, role.default)


def _preprocessors(
    train: pl.DataFrame,
    roles: Sequence[ColumnRole],
    problem_type: str,
    name: str,
    classes: list[str] | None,
    parent: tuple[Preprocessor, Model] | None,
) -> dict[str, Preprocessor]:
    """The encodings the algorithm (or, for auto, the search) needs, fitted on the training rows only."""
    if parent is not None:
        pre = parent[0]
        if name != AUTO and ALGORITHMS[name].encoding != pre.encoding:
            raise ValueError(
                f"{name} needs {ALGORITHMS[name].encoding} features but the parent version was trained "
                f"with {pre.encoding} ones; incremental training keeps the parent's preprocessing"
            )
        if pre.problem_type != problem_type:
            raise ValueError(f"the parent version is {pre.problem_type}, not {problem_type}")
        return {pre.encoding: pre}
    encodings: tuple[Literal["ordinal", "onehot"], ...] = (
        ("ordinal", "onehot") if name == AUTO else (ALGORITHMS[name].encoding,)
    )
    fitted: dict[str, Preprocessor] = {}
    for encoding in encodings:
        fitted[encoding] = Preprocessor.fit(
            train, roles, problem_type=problem_type, encoding=encoding, classes=classes
        )
    return fitted


def _train_data(pre: Preprocessor, train: pl.DataFrame, val: pl.DataFrame) -> TrainData:
    return TrainData(
        X_train=pre.transform(train),
        y_train=pre.encode_target(train),
        X_val=pre.transform(val),
        y_val=pre.encode_target(val),
        n_classes=len(pre.classes) if pre.classes is not None else None,
        categorical=list(pre.categorical_indices),
        feature_names=list(pre.feature_names),
    )


def _fixed(
    name: str,
    problem_type: str,
    data: dict[str, TrainData],
    user_params: dict[str, Any],
    seed: int,
    threads: int,
    parent: tuple[Preprocessor, Model] | None,
    progress: Progress,
) -> tuple[Model, list[dict[str, Any]]]:
    """One fit with early stopping on the validation rows; LightGBM grows the parent's trees further."""
    progress("training", 20)
    train_data = data[ALGORITHMS[name].encoding]
    init_model = None
    if parent is not None and ALGORITHMS[name].continues and parent[1].algorithm == name:
        init_model = parent[1]
    started = time.perf_counter()
    model = fit(
        name,
        problem_type,
        train_data,
        default_params(name, problem_type) | user_params,
        threads=threads,
        seed=seed,
        init_model=init_model,
    )
    seconds = time.perf_counter() - started
    progress("training", 85)
    score = None
    if train_data.X_val is not None and train_data.y_val is not None and len(train_data.y_val):
        score = metrics.search_score(
            problem_type,
            train_data.n_classes,
            train_data.y_val,
            model.predict(train_data.X_val),
            model.predict_proba(train_data.X_val),
        )
    trial = {
        "algorithm": name,
        "params": dict(model.params),
        "score": score if score is None or np.isfinite(score) else None,
        "seconds": round(seconds, 3),
        "status": "ok",
    }
    return model, [trial]


def _search(
    problem_type: str,
    data: dict[str, TrainData],
    time_budget_s: float,
    seed: int,
    threads: int,
    max_concurrency: int,
    storage_path: Path | None,
    progress: Progress,
) -> tuple[str, Model, list[dict[str, Any]]]:
    """Search on train/validation, then refit the winner's effective parameters on both splits.

    The refit uses the iteration count the search's early stopping found (it is part of the effective
    parameters), so no rows are spent on validation in the final model.
    """
    from raylake.ml.search import auto_search  # Ray Tune: imported only when a search runs

    progress("searching", 20)

    def searched(fraction: float, _trials: int) -> None:
        """Report the search's progress as 20-85% of the ``searching`` stage."""
        progress("searching", 20 + int(65 * min(max(float(fraction), 0.0), 1.0)))

    found = auto_search(
        problem_type=problem_type,
        data=data,
        time_budget_s=time_budget_s,
        seed=seed,
        max_concurrency=max_concurrency,
        storage_path=storage_path,
        progress=searched,
    )
    name = found.algorithm
    chosen = data[ALGORITHMS[name].encoding]
    both = TrainData(
        X_train=_rows(chosen.X_train, chosen.X_val),
        y_train=_rows(chosen.y_train, chosen.y_val),
        X_val=None,
        y_val=None,
        n_classes=chosen.n_classes,
        categorical=chosen.categorical,
        feature_names=chosen.feature_names,
    )
    progress("searching", 85)
    model = fit(name, problem_type, both, dict(found.params), threads=threads, seed=seed)
    return name, model, list(found.trials)


def _rows(first: np.ndarray, second: np.ndarray | None) -> np.ndarray:
    return first if second is None or not len(second) else np.concatenate([first, second])
