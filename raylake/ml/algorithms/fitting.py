"""Fitting: each algorithm trained on a split, with early stopping on the validation rows where it has one."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from raylake.ml.algorithms.model import Model, TrainData, json_safe
from raylake.ml.algorithms.registry import AUTO, CLASSIFICATION, REGRESSION, default_params, resolve
from raylake.ml.algorithms.specs import check_params

EARLY_STOPPING_ROUNDS = 50
MLP_PATIENCE = 10


def fit(
    name: str,
    problem_type: str,
    data: TrainData,
    params: dict[str, Any],
    *,
    threads: int,
    seed: int,
    init_model: Model | None = None,
) -> Model:
    """Train ``name`` on ``data``; with a validation split, boosting and the MLP stop early on it."""
    name = resolve(name, problem_type)
    if name == AUTO:
        raise ValueError("fit needs a concrete algorithm; run the search for 'auto'")
    if problem_type == CLASSIFICATION and (data.n_classes is None or data.n_classes < 2):
        raise ValueError("classification needs at least two classes")
    clean = default_params(name, problem_type) | check_params(name, params)
    threads = max(1, int(threads))
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not converge.*")
        warnings.filterwarnings("ignore", message=".*Maximum iterations.*")
        if name == "LightGBM":
            native, effective = _fit_lightgbm(problem_type, data, clean, threads, seed, init_model)
        elif name == "NeuralNetwork":
            native, effective = _fit_mlp(problem_type, data, clean, seed)
        elif name == "HistGradientBoosting":
            native, effective = _fit_hist_gradient_boosting(problem_type, data, clean, seed)
        else:
            native = _sklearn_estimator(name, problem_type, clean, threads, seed)
            native.fit(data.X_train, data.y_train)
            if hasattr(native, "n_jobs"):
                # Threads sum the trees' outputs in whatever order they finish, so a parallel forest
                # predicts differently in the last bits from one call to the next; serving must not.
                native.set_params(n_jobs=1)
            effective = clean
    n_classes = data.n_classes if problem_type == CLASSIFICATION else None
    return Model(name, problem_type, json_safe(effective), native, n_classes)


def _fit_lightgbm(
    problem_type: str,
    data: TrainData,
    params: dict[str, Any],
    threads: int,
    seed: int,
    init_model: Model | None,
) -> tuple[Any, dict[str, Any]]:
    import lightgbm as lgb

    native: dict[str, Any] = {
        "learning_rate": params["learning_rate"],
        "num_leaves": params["num_leaves"],
        "max_depth": params["max_depth"],
        "min_data_in_leaf": params["min_child_samples"],
        "bagging_fraction": params["subsample"],
        "bagging_freq": 1 if params["subsample"] < 1.0 else 0,
        "feature_fraction": params["colsample_bytree"],
        "lambda_l1": params["reg_alpha"],
        "lambda_l2": params["reg_lambda"],
        "min_gain_to_split": params["min_split_gain"],
        "max_bin": params["max_bin"],
        "num_threads": threads,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "verbose": -1,
    }
    if problem_type == REGRESSION:
        native["objective"] = "regression"
    elif data.n_classes == 2:
        native["objective"] = "binary"
    else:
        native["objective"] = "multiclass"
        native["num_class"] = data.n_classes
    train = lgb.Dataset(
        data.X_train, label=data.y_train, categorical_feature=list(data.categorical), params=native
    )
    valid_sets: list[lgb.Dataset] = []
    callbacks: list[Callable[..., Any]] = []
    if data.X_val is not None and data.y_val is not None and len(data.y_val):
        valid_sets = [lgb.Dataset(data.X_val, label=data.y_val, reference=train)]
        callbacks = [lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)]
    previous = init_model.native if init_model is not None and init_model.algorithm == "LightGBM" else None
    start = int(previous.current_iteration()) if previous is not None else 0
    booster = lgb.train(
        native,
        train,
        num_boost_round=params["n_estimators"],
        valid_sets=valid_sets or None,
        callbacks=callbacks or None,
        init_model=previous,
    )
    best = booster.current_iteration()
    if valid_sets and booster.best_iteration > 0:
        best = booster.best_iteration
    # Drop the rounds trained past the best one, so prediction, saving and a later continuation all
    # start from the model that validated best.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return booster, params | {"n_estimators": max(1, best - start)}


def _seen_validation(data: TrainData) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The validation rows whose class the training split contains: scikit-learn refuses the others."""
    if data.X_val is None or data.y_val is None or not len(data.y_val):
        return None, None
    if data.n_classes is None:
        return data.X_val, data.y_val
    keep = np.isin(data.y_val, np.unique(data.y_train))
    if not keep.any():
        return None, None
    return data.X_val[keep], data.y_val[keep]


def _fit_hist_gradient_boosting(
    problem_type: str, data: TrainData, params: dict[str, Any], seed: int
) -> tuple[Any, dict[str, Any]]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    # A categorical feature with more distinct codes than bins is refused by scikit-learn; it is
    # then split on as an ordered number instead.
    categorical = [i for i in data.categorical if np.unique(data.X_train[:, i]).size <= params["max_bins"]]
    X_val, y_val = _seen_validation(data)
    cls = HistGradientBoostingClassifier if problem_type == CLASSIFICATION else HistGradientBoostingRegressor
    estimator = cls(
        learning_rate=params["learning_rate"],
        max_iter=params["max_iter"],
        max_leaf_nodes=params["max_leaf_nodes"],
        max_depth=params["max_depth"],
        min_samples_leaf=params["min_samples_leaf"],
        l2_regularization=params["l2_regularization"],
        max_features=params["max_features"],
        max_bins=params["max_bins"],
        categorical_features=categorical or None,
        early_stopping=X_val is not None,
        n_iter_no_change=20,
        random_state=seed,
    )
    if X_val is not None:
        estimator.fit(data.X_train, data.y_train, X_val=X_val, y_val=y_val)
    else:
        estimator.fit(data.X_train, data.y_train)
    return estimator, params | {"max_iter": int(estimator.n_iter_)}


def _fit_mlp(problem_type: str, data: TrainData, params: dict[str, Any], seed: int) -> tuple[Any, dict]:
    """Early stopping on the caller's validation split, epoch by epoch.

    scikit-learn's own ``early_stopping=True`` carves a second, stratified 10% out of the training rows:
    it ignores the real validation split and fails outright on a class with a single training row.
    """
    from sklearn.metrics import log_loss, mean_squared_error
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    classification = problem_type == CLASSIFICATION
    cls = MLPClassifier if classification else MLPRegressor
    estimator = cls(
        hidden_layer_sizes=tuple(params["hidden_layer_sizes"]),
        activation=params["activation"],
        alpha=params["alpha"],
        learning_rate_init=params["learning_rate_init"],
        batch_size=min(params["batch_size"], len(data.y_train)),
        max_iter=params["max_iter"],
        early_stopping=False,
        random_state=seed,
    )
    X_val, y_val = _seen_validation(data)
    if X_val is None:
        estimator.fit(data.X_train, data.y_train)
        return estimator, params
    classes = np.unique(data.y_train)
    best_loss, best_epoch, best_weights, stale = math.inf, 0, None, 0
    for epoch in range(1, params["max_iter"] + 1):
        if classification:
            estimator.partial_fit(data.X_train, data.y_train, classes=classes)
            loss = log_loss(y_val, estimator.predict_proba(X_val), labels=estimator.classes_)
        else:
            estimator.partial_fit(data.X_train, data.y_train)
            loss = mean_squared_error(y_val, estimator.predict(X_val))
        if loss < best_loss - 1e-7:
            best_loss, best_epoch, stale = loss, epoch, 0
            best_weights = ([w.copy() for w in estimator.coefs_], [b.copy() for b in estimator.intercepts_])
        else:
            stale += 1
            if stale >= MLP_PATIENCE:
                break
    if best_weights is not None:
        estimator.coefs_, estimator.intercepts_ = best_weights
    return estimator, params | {"max_iter": max(1, best_epoch)}


def _sklearn_estimator(name: str, problem_type: str, params: dict[str, Any], threads: int, seed: int) -> Any:
    from sklearn import ensemble, linear_model, tree

    classification = problem_type == CLASSIFICATION
    if name in ("RandomForest", "ExtraTrees"):
        kind = "Classifier" if classification else "Regressor"
        cls = getattr(ensemble, f"{name}{kind}")
        return cls(**params, n_jobs=threads, random_state=seed)
    if name == "DecisionTree":
        cls = tree.DecisionTreeClassifier if classification else tree.DecisionTreeRegressor
        return cls(**params, random_state=seed)
    if name == "LinearRegression":
        return linear_model.Ridge(**params)
    if name == "LogisticRegression":
        return linear_model.LogisticRegression(**params, random_state=seed)
    raise ValueError(f"unknown algorithm {name!r}")
