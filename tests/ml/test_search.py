"""The ``auto`` search on the session's real local Ray: budget kept, trials recorded, a winner that refits."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from raylake.ml.algorithms import ALGORITHMS, TrainData, fit
from raylake.ml.metrics import search_score
from raylake.ml.search import SearchResult, auto_search, merge_fold_params

pytestmark = pytest.mark.ray

# The budget includes Tune's start: each trial actor imports Tune, scikit-learn and LightGBM, about 8 s
# on a 2-core machine before the first trial runs, more while the rest of the suite's cluster is busy.
BUDGET_S = 30.0
# The end of the search: stopping trials and tearing down actors.
SLACK_S = 8.0


def splits(X: np.ndarray, y: np.ndarray, n_classes: int | None, *, broken_onehot: bool = False):
    """Train/validation rows as an ordinal and a (standardised) one-hot encoding of the same rows, and the
    test rows in each encoding."""
    train, val, test = np.split(np.arange(len(y)), [int(0.6 * len(y)), int(0.8 * len(y))])
    scaled = (X - X[train].mean(axis=0)) / (X[train].std(axis=0) + 1e-9)
    if broken_onehot:
        scaled[::7, 0] = np.nan  # linear models and the MLP refuse NaN: their trials fail
    matrices = {"ordinal": X, "onehot": scaled}
    data = {
        name: TrainData(m[train], y[train], m[val], y[val], n_classes, [], []) for name, m in matrices.items()
    }
    return data, {name: (m[test], y[test]) for name, m in matrices.items()}


def free_cpus(need: float = 2, timeout: float = 120) -> None:
    """Wait until the shared cluster has the CPUs a search's trials take: jobs of earlier tests (a
    terminated search, a batch job's actor pool) release theirs asynchronously, and a budgeted search
    that starts while they still hold them measures the queue, not the search."""
    import ray
    from ray.util.state import list_actors, list_placement_groups

    deadline = time.monotonic() + timeout
    while ray.available_resources().get("CPU", 0) < need:
        if time.monotonic() > deadline:
            groups = [(g.placement_group_id, g.creator_job_id, g.state) for g in list_placement_groups()]
            alive = list_actors(filters=[("state", "=", "ALIVE")])
            actors = [(a.class_name, a.job_id) for a in alive]
            pytest.fail(f"CPUs still taken: {ray.available_resources()}; groups {groups}; actors {actors}")
        time.sleep(0.5)


def search(problem_type: str, data: dict[str, TrainData], tmp_path) -> tuple[SearchResult, float, list]:
    calls: list[tuple[float, int]] = []
    lock = threading.Lock()
    free_cpus()
    started = time.monotonic()
    result = auto_search(
        problem_type=problem_type,
        data=data,
        time_budget_s=BUDGET_S,
        seed=0,
        max_concurrency=2,
        storage_path=tmp_path / "tune",
        # The lock stands in for the database engine the training job's progress callable holds: Tune
        # pickles its run config, and the search must not hand it anything unpicklable.
        progress=lambda fraction, done: (lock, calls.append((fraction, done))),
    )
    return result, time.monotonic() - started, calls


def check_trials(result: SearchResult) -> list[dict]:
    json.dumps(result.trials)  # stored as JSON by the caller
    for trial in result.trials:
        assert set(trial) >= {"algorithm", "params", "score", "seconds", "status"}
        assert trial["status"] in ("completed", "error", "stopped")
        assert isinstance(trial["params"], dict)
    completed = [t for t in result.trials if t["status"] == "completed"]
    assert len(completed) >= 2
    assert all(isinstance(t["score"], float) and t["seconds"] >= 0 for t in completed)
    best = max(completed, key=lambda t: t["score"])
    assert (result.algorithm, result.params, result.score) == (
        best["algorithm"],
        best["params"],
        best["score"],
    )
    return completed


def refit(result: SearchResult, problem_type: str, data: dict[str, TrainData], test: dict) -> float:
    """What the training pipeline does with the winner: refit on train + validation, no early stopping."""
    encoding = ALGORITHMS[result.algorithm].encoding
    chosen = data[encoding]
    both = TrainData(
        np.concatenate([chosen.X_train, chosen.X_val]),
        np.concatenate([chosen.y_train, chosen.y_val]),
        None,
        None,
        chosen.n_classes,
        [],
        [],
    )
    model = fit(result.algorithm, problem_type, both, dict(result.params), threads=1, seed=0)
    X_test, y_test = test[encoding]
    predicted, proba = model.predict(X_test), model.predict_proba(X_test)
    return search_score(problem_type, chosen.n_classes, y_test, predicted, proba)


def test_binary_classification_search(ray_cluster, tmp_path):
    X, y = make_classification(n_samples=900, n_features=10, n_informative=5, random_state=0)
    data, test = splits(X, y, 2)

    result, elapsed, calls = search("Classification", data, tmp_path)

    assert elapsed < BUDGET_S + SLACK_S
    completed = check_trials(result)
    assert len(result.trials) >= 3
    assert 0.85 < result.score <= 1.0  # cross-validated AUC (900 rows: small data)
    assert {t["algorithm"] for t in completed} >= {"LightGBM"}  # the defaults run first
    assert calls and all(0 <= f <= 1 for f, _ in calls)
    assert [done for _, done in calls] == sorted(done for _, done in calls)
    assert (tmp_path / "tune").is_dir() and not any((tmp_path / "tune").iterdir())  # Tune's files removed
    if result.algorithm == "LightGBM":
        assert result.params["n_estimators"] < 3000  # early stopping's count, for the refit
    assert refit(result, "Classification", data, test) > 0.85


def test_regression_search_survives_failing_trials(ray_cluster, tmp_path):
    X, y = make_regression(n_samples=900, n_features=8, n_informative=5, noise=5.0, random_state=1)
    y = y + 0.02 * y**2  # not quite linear, so the trees have something to win
    data, test = splits(X, y, None, broken_onehot=True)

    result, elapsed, _ = search("Regression", data, tmp_path)

    assert elapsed < BUDGET_S + SLACK_S
    check_trials(result)
    errors = [t for t in result.trials if t["status"] == "error"]
    assert errors and all(t["algorithm"] in ("LinearRegression", "NeuralNetwork") for t in errors)
    assert all("NaN" in t["error"] for t in errors)
    assert result.algorithm not in ("LinearRegression", "NeuralNetwork")
    assert result.score > 0.8  # cross-validated R²
    assert refit(result, "Regression", data, test) > 0.8


def test_fold_params_merge_to_the_mean_rounds():
    merged = merge_fold_params(
        [{"n_estimators": 100, "learning_rate": 0.1}, {"n_estimators": 121, "learning_rate": 0.1}]
    )
    assert merged == {"n_estimators": 110, "learning_rate": 0.1}
