"""Every algorithm fits, predicts, saves and loads back to identical predictions; names, params, safety."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import skops.io
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import Ridge

from raylake.ml.algorithms import (
    ALGORITHMS,
    AUTO,
    Model,
    TrainData,
    check_params,
    default_params,
    display_name,
    fit,
    resolve,
)

# small settings so the whole matrix of algorithms x problems runs in seconds
FAST = {
    "LightGBM": {"n_estimators": 60},
    "RandomForest": {"n_estimators": 15},
    "ExtraTrees": {"n_estimators": 15},
    "HistGradientBoosting": {"max_iter": 40},
    "NeuralNetwork": {"hidden_layer_sizes": [16], "max_iter": 100, "learning_rate_init": 0.01},
}


def dataset(kind: str, n: int = 500, seed: int = 0) -> tuple[TrainData, np.ndarray]:
    """Six numeric features plus one ordinal categorical (codes 0..4, the last column)."""
    if kind == "regression":
        X, y = make_regression(n, 6, noise=5.0, random_state=seed)
        n_classes = None
    else:
        n_classes = 2 if kind == "binary" else 3
        X, y = make_classification(n, 6, n_informative=4, n_classes=n_classes, random_state=seed)
    codes = np.random.default_rng(seed).integers(0, 5, n)
    X = np.column_stack([X, codes]).astype(np.float64)
    a, b = int(n * 0.7), int(n * 0.85)
    data = TrainData(X[:a], y[:a], X[a:b], y[a:b], n_classes, [6], [f"f{i}" for i in range(7)])
    return data, X[b:]


CASES = [
    (name, kind)
    for kind in ("binary", "multiclass", "regression")
    for name, algorithm in ALGORITHMS.items()
    if ("Regression" if kind == "regression" else "Classification") in algorithm.problem_types
]


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_fit_predict_save_load(name, kind, tmp_path):
    problem_type = "Regression" if kind == "regression" else "Classification"
    data, X_new = dataset(kind)
    model = fit(name, problem_type, data, FAST.get(name, {}), threads=1, seed=0)
    predicted = model.predict(X_new)
    proba = model.predict_proba(X_new)
    if problem_type == "Classification":
        assert predicted.dtype == np.int64
        assert proba is not None and proba.shape == (len(X_new), data.n_classes)
        assert np.allclose(proba.sum(axis=1), 1.0)
        assert np.array_equal(predicted, proba.argmax(axis=1))
        assert (predicted == data.y_val[: len(predicted)]).mean() >= 0  # runs; quality is checked below
    else:
        assert predicted.dtype == np.float64 and proba is None

    manifest = model.save(tmp_path)
    json.dumps(manifest)  # plain JSON
    assert manifest["format"] == ("lightgbm-text" if name == "LightGBM" else "skops")
    assert set(os.listdir(tmp_path)) == {manifest["file"]}
    loaded = Model.load(tmp_path, json.loads(json.dumps(manifest)))
    assert np.array_equal(loaded.predict(X_new), predicted)
    if proba is not None:
        assert np.array_equal(loaded.predict_proba(X_new), proba)
    assert loaded.params == model.params
    assert check_params(name, model.params) == model.params  # effective params are valid user params


LEARNS = {"LightGBM": 0.85, "RandomForest": 0.85, "LogisticRegression": 0.65, "NeuralNetwork": 0.8}


@pytest.mark.parametrize("name", list(LEARNS))
def test_models_learn(name):
    data, _ = dataset("binary", n=600)  # not linearly separable: the linear model does worst
    model = fit(name, "Classification", data, FAST.get(name, {}), threads=1, seed=0)
    assert (model.predict(data.X_val) == data.y_val).mean() > LEARNS[name]


def test_lightgbm_early_stopping_records_the_rounds_used_and_continues(tmp_path):
    data, _ = dataset("binary")
    model = fit(
        "LightGBM", "Classification", data, {"n_estimators": 2000, "learning_rate": 0.3}, threads=1, seed=0
    )
    rounds = model.params["n_estimators"]
    assert rounds < 2000 and model.iterations == rounds

    # a refit without validation rows reproduces the same number of rounds
    refit = fit("LightGBM", "Classification", _no_val(data), model.params, threads=1, seed=0)
    assert refit.iterations == rounds

    more = fit(
        "LightGBM", "Classification", _no_val(data), {"n_estimators": 10}, threads=1, seed=0, init_model=model
    )
    assert more.iterations == rounds + 10
    assert more.params["n_estimators"] == 10
    assert Model.load(tmp_path, more.save(tmp_path)).iterations == rounds + 10


def _no_val(data: TrainData) -> TrainData:
    return TrainData(
        data.X_train, data.y_train, None, None, data.n_classes, data.categorical, data.feature_names
    )


def test_boosting_and_mlp_early_stopping_shorten_training():
    data, _ = dataset("regression")
    hgb = fit(
        "HistGradientBoosting",
        "Regression",
        data,
        {"max_iter": 3000, "learning_rate": 0.5},
        threads=1,
        seed=0,
    )
    assert hgb.params["max_iter"] < 3000
    assert hgb.native.n_iter_ == hgb.params["max_iter"]

    # a target of pure noise: the validation loss stops improving almost at once
    noise = np.random.default_rng(0).normal(size=len(data.y_train))
    noisy = TrainData(data.X_train, noise, data.X_val, data.y_val, None, [], [])
    mlp = fit(
        "NeuralNetwork", "Regression", noisy, {"max_iter": 500, "learning_rate_init": 0.01}, threads=1, seed=0
    )
    assert mlp.params["max_iter"] < 500


def test_a_class_missing_from_the_training_rows_still_gets_a_probability_column():
    data, X_new = dataset("multiclass")
    keep = data.y_train != 2
    partial = TrainData(
        data.X_train[keep], data.y_train[keep], data.X_val, data.y_val, 3, [6], data.feature_names
    )
    for name in ("LightGBM", "RandomForest", "LogisticRegression", "HistGradientBoosting", "NeuralNetwork"):
        model = fit(name, "Classification", partial, FAST.get(name, {}), threads=1, seed=0)
        proba = model.predict_proba(X_new)
        assert proba.shape == (len(X_new), 3), name
        assert np.allclose(proba.sum(axis=1), 1.0), name


def test_resolve_names_and_aliases():
    assert resolve(None, "Classification") == "LightGBM"
    assert resolve("", "Regression") == "LightGBM"
    assert resolve("AUTO", "Regression") == AUTO
    for alias, canonical in {
        "lgbm": "LightGBM",
        "light-gbm": "LightGBM",
        "random_forest": "RandomForest",
        "RF": "RandomForest",
        "extra trees": "ExtraTrees",
        "decision_tree": "DecisionTree",
        "mlp": "NeuralNetwork",
        "neural_network": "NeuralNetwork",
        "hist_gradient_boosting": "HistGradientBoosting",
    }.items():
        assert resolve(alias, "Classification") == canonical
    assert resolve("ridge", "Regression") == "LinearRegression"
    assert resolve("logistic", "Classification") == "LogisticRegression"
    with pytest.raises(ValueError, match="LogisticRegression") as error:
        resolve("ridge", "Classification")
    assert "LinearRegression" not in str(error.value).split("valid for")[1]
    with pytest.raises(ValueError, match="unknown algorithm"):
        resolve("xgboost", "Regression")
    with pytest.raises(ValueError, match="problem_type"):
        resolve("lgbm", "Ranking")


def test_registry_shape():
    assert ALGORITHMS["LightGBM"].continues and not ALGORITHMS["RandomForest"].continues
    assert ALGORITHMS["LogisticRegression"].problem_types == frozenset({"Classification"})
    assert ALGORITHMS["LinearRegression"].problem_types == frozenset({"Regression"})
    assert ALGORITHMS["NeuralNetwork"].encoding == "onehot" and ALGORITHMS["LightGBM"].encoding == "ordinal"
    for name, algorithm in ALGORITHMS.items():
        for problem_type in algorithm.problem_types:
            defaults = default_params(name, problem_type)
            assert set(defaults) == algorithm.params
            assert check_params(name, defaults) == defaults
    assert display_name("LightGBM", "Classification") == "LightGBMClassifier"
    assert display_name("RandomForest", "Regression") == "RandomForestRegressor"


def test_check_params():
    assert check_params("LightGBM", {"n_estimators": 200.0, "learning_rate": 1}) == {
        "n_estimators": 200,
        "learning_rate": 1.0,
    }
    assert check_params("NeuralNetwork", {"hidden_layer_sizes": (32, 16)}) == {"hidden_layer_sizes": [32, 16]}
    assert check_params("RandomForest", {"max_features": "sqrt", "max_depth": None})["max_depth"] is None
    with pytest.raises(ValueError, match="unknown parameters for LightGBM: colour"):
        check_params("LightGBM", {"colour": 1})
    with pytest.raises(ValueError, match="num_leaves must be an integer"):
        check_params("LightGBM", {"num_leaves": "many"})
    with pytest.raises(ValueError, match="num_leaves must be an integer"):
        check_params("LightGBM", {"num_leaves": True})
    with pytest.raises(ValueError, match="learning_rate must be in"):
        check_params("LightGBM", {"learning_rate": 0})
    with pytest.raises(ValueError, match="n_estimators must be between"):
        check_params("RandomForest", {"n_estimators": 0})
    with pytest.raises(ValueError, match="activation must be one of"):
        check_params("NeuralNetwork", {"activation": "softsign"})
    with pytest.raises(ValueError, match="max_features"):
        check_params("ExtraTrees", {"max_features": 1.5})


def test_skops_file_with_a_foreign_type_is_refused(tmp_path):
    data, _ = dataset("regression")
    model = fit("LinearRegression", "Regression", data, {}, threads=1, seed=0)
    manifest = model.save(tmp_path)
    assert Model.load(tmp_path, manifest).algorithm == "LinearRegression"

    # a model file carrying a callable we never produce must not load, checksum or not
    evil = Ridge().fit(data.X_train, data.y_train)
    evil.hook = os.system
    skops.io.dump(evil, tmp_path / "model.skops")
    assert "posix.system" in skops.io.get_untrusted_types(file=tmp_path / "model.skops")
    with pytest.raises(ValueError, match="checksum"):
        Model.load(tmp_path, manifest)
    with pytest.raises(ValueError, match=r"posix\.system"):
        Model.load(tmp_path, {**manifest, "sha256": None})


def test_load_refuses_mismatched_manifests(tmp_path):
    data, _ = dataset("binary")
    model = fit("DecisionTree", "Classification", data, {}, threads=1, seed=0)
    manifest = model.save(tmp_path)
    with pytest.raises(ValueError, match="plain file name"):
        Model.load(tmp_path, {**manifest, "file": "../model.skops"})
    with pytest.raises(ValueError, match="RandomForest"):
        Model.load(tmp_path, {**manifest, "algorithm": "RandomForest"})
    with pytest.raises(ValueError, match="cannot be stored"):
        Model.load(tmp_path, {**manifest, "format": "pickle"})
