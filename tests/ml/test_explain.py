"""Feature importance comes back per original column, one-hot and date features folded into theirs."""

from __future__ import annotations

import numpy as np
import pytest

from raylake.ml.algorithms import ALGORITHMS, TrainData, fit
from raylake.ml.explain import _per_column, feature_importance, sample_rows
from raylake.ml.preprocess import Preprocessor
from tests.ml.frames import INPUT_COLUMNS, mixed_frame, mixed_roles

SMALL = {"RandomForest": {"n_estimators": 20}, "HistGradientBoosting": {"max_iter": 30}}


def trained(name: str, target: str) -> tuple[Preprocessor, object, np.ndarray]:
    problem_type = "Regression" if target == "regression" else "Classification"
    frame = mixed_frame(300, target=target)
    pre = Preprocessor.fit(
        frame, mixed_roles(target), problem_type=problem_type, encoding=ALGORITHMS[name].encoding
    )
    X, y = pre.transform(frame), pre.encode_target(frame)
    n_classes = len(pre.classes) if pre.classes else None
    data = TrainData(
        X[:220], y[:220], X[220:], y[220:], n_classes, pre.categorical_indices, pre.feature_names
    )
    return pre, fit(name, problem_type, data, SMALL.get(name, {}), threads=1, seed=0), X


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("LightGBM", "binary"),  # tree path, native categoricals
        ("LightGBM", "multiclass"),
        ("RandomForest", "regression"),  # tree path, scikit-learn
        ("LogisticRegression", "multiclass"),  # sampled path, one-hot and standardised features
        ("HistGradientBoosting", "binary"),  # sampled path: tree SHAP misreads its categorical splits
    ],
)
def test_one_entry_per_original_column(name, target):
    pre, model, X = trained(name, target)
    importance = feature_importance(model, pre, X[:40], X[-20:], seed=0)
    assert list(importance) and set(importance) == set(INPUT_COLUMNS)
    values = list(importance.values())
    assert values == sorted(values, reverse=True)
    assert all(type(v) is float and v >= 0 for v in values)
    # the target is built mostly from tenure and charges (and contract); the rest is noise
    assert {"tenure", "charges"} <= set(list(importance)[:3]), importance


def test_onehot_and_date_features_sum_before_the_magnitude():
    # two one-hot indicators of "c" that always cancel out, and a date part that does not
    values = np.array([[[1.0], [-1.0], [2.0]], [[-3.0], [3.0], [-4.0]]])
    importance = _per_column(values, ["c", "c", "d"])
    assert importance == {"d": 3.0, "c": 0.0}
    # several outputs (classes): the mean over them
    two = np.concatenate([values, 2 * values], axis=2)
    assert _per_column(two, ["c", "c", "d"]) == {"d": 4.5, "c": 0.0}


def test_explanations_are_seeded():
    pre, model, X = trained("LogisticRegression", "binary")
    first = feature_importance(model, pre, X[:30], X[-20:], seed=3)
    assert feature_importance(model, pre, X[:30], X[-20:], seed=3) == first


def test_sample_rows():
    X = np.arange(20).reshape(10, 2)
    assert sample_rows(X, 20, seed=0) is X
    picked = sample_rows(X, 4, seed=1)
    assert picked.shape == (4, 2)
    assert list(picked[:, 0]) == sorted(picked[:, 0])  # original order kept
    assert np.array_equal(sample_rows(X, 4, seed=1), picked)


def test_a_forest_too_big_for_exact_tree_shap_falls_back_to_the_approximation(monkeypatch):
    from raylake.ml import explain

    pre, model, X = trained("RandomForest", "regression")
    monkeypatch.setattr(explain, "TREE_BUDGET", 1.0)
    assert explain._affordable_rows(model) < explain.MIN_TREE_ROWS
    importance = feature_importance(model, pre, X[:40], X[-20:], seed=0)
    assert set(importance) == set(INPUT_COLUMNS)
    assert {"tenure", "charges"} <= set(list(importance)[:3]), importance
