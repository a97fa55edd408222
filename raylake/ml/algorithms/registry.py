"""The registry of algorithms: names, aliases, the problem types each does, and their default parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from raylake.core.vocabulary import TABULAR_PROBLEMS, ModelType, ProblemType
from raylake.ml.algorithms.specs import PARAM_SPECS

CLASSIFICATION = ProblemType.CLASSIFICATION
REGRESSION = ProblemType.REGRESSION
PROBLEM_TYPES = TABULAR_PROBLEMS
_BOTH = frozenset(PROBLEM_TYPES)

AUTO = "auto"
DEFAULT_ALGORITHM = "LightGBM"


@dataclass(frozen=True)
class Algorithm:
    name: str
    problem_types: frozenset[str]
    encoding: Literal["ordinal", "onehot"]
    tree: bool
    continues: bool
    params: frozenset[str]


def _algorithm(name: str, problem_types: frozenset[str], encoding: str, *, tree: bool) -> Algorithm:
    return Algorithm(
        name=name,
        problem_types=problem_types,
        encoding=encoding,  # type: ignore[arg-type]
        tree=tree,
        continues=name == "LightGBM",
        params=frozenset(PARAM_SPECS[name]),
    )


# ``tree`` means "shap.TreeExplainer explains it exactly". HistGradientBoosting is a tree model, but shap
# 0.51 reads its nodes without their categorical bitsets, so with native categoricals its tree SHAP values
# would be wrong: it takes the sampled, model-agnostic path instead.
ALGORITHMS: dict[str, Algorithm] = {
    algorithm.name: algorithm
    for algorithm in (
        _algorithm("LightGBM", _BOTH, "ordinal", tree=True),
        _algorithm("RandomForest", _BOTH, "ordinal", tree=True),
        _algorithm("ExtraTrees", _BOTH, "ordinal", tree=True),
        _algorithm("DecisionTree", _BOTH, "ordinal", tree=True),
        _algorithm("LinearRegression", frozenset({REGRESSION}), "onehot", tree=False),
        _algorithm("LogisticRegression", frozenset({CLASSIFICATION}), "onehot", tree=False),
        _algorithm("HistGradientBoosting", _BOTH, "ordinal", tree=False),
        _algorithm("NeuralNetwork", _BOTH, "onehot", tree=False),
    )
}

_ALIASES: dict[str, str] = {
    **{name.lower(): name for name in ALGORITHMS},
    "lgbm": "LightGBM",
    "lgb": "LightGBM",
    "lgbmclassifier": "LightGBM",
    "lgbmregressor": "LightGBM",
    "lightgbmclassifier": "LightGBM",
    "lightgbmregressor": "LightGBM",
    "rf": "RandomForest",
    "randomforestclassifier": "RandomForest",
    "randomforestregressor": "RandomForest",
    "et": "ExtraTrees",
    "extratreesclassifier": "ExtraTrees",
    "extratreesregressor": "ExtraTrees",
    "dt": "DecisionTree",
    "cart": "DecisionTree",
    "decisiontreeclassifier": "DecisionTree",
    "decisiontreeregressor": "DecisionTree",
    "ridge": "LinearRegression",
    "ridgeregression": "LinearRegression",
    "linear": "LinearRegression",
    "logistic": "LogisticRegression",
    "logreg": "LogisticRegression",
    "hgb": "HistGradientBoosting",
    "histgb": "HistGradientBoosting",
    "histgradientboostingclassifier": "HistGradientBoosting",
    "histgradientboostingregressor": "HistGradientBoosting",
    "mlp": "NeuralNetwork",
    "nn": "NeuralNetwork",
    "mlpclassifier": "NeuralNetwork",
    "mlpregressor": "NeuralNetwork",
}

_DISPLAY = {
    "LightGBM": "LightGBM{kind}",
    "RandomForest": "RandomForest{kind}",
    "ExtraTrees": "ExtraTrees{kind}",
    "DecisionTree": "DecisionTree{kind}",
    "LinearRegression": "LinearRegression",
    "LogisticRegression": "LogisticRegression",
    "HistGradientBoosting": "HistGradientBoosting{kind}",
    "NeuralNetwork": "NeuralNetwork{kind}",
}


def valid_names(problem_type: str) -> list[str]:
    """The algorithms that can learn this problem type, in the registry's order."""
    return [name for name, algorithm in ALGORITHMS.items() if problem_type in algorithm.problem_types]


def resolve(name: str | None, problem_type: str) -> str:
    """The canonical algorithm name (or ``AUTO``) for what a user typed, checked against the problem type."""
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"problem_type must be one of {', '.join(PROBLEM_TYPES)}, not {problem_type!r}")
    if name is None or not str(name).strip():
        return DEFAULT_ALGORITHM
    key = re.sub(r"[\s_\-]+", "", str(name)).lower()
    if key == AUTO:
        return AUTO
    canonical = _ALIASES.get(key)
    if canonical is None or problem_type not in ALGORITHMS[canonical].problem_types:
        valid = ", ".join([AUTO, *valid_names(problem_type)])
        reason = "unknown algorithm" if canonical is None else f"{canonical} does not do {problem_type}"
        raise ValueError(f"{reason} ({name!r}); valid for {problem_type}: {valid}")
    return canonical


def display_name(name: str, problem_type: str) -> str:
    """The model name shown to users, e.g. ``LightGBMClassifier``."""
    kind = "Classifier" if problem_type == CLASSIFICATION else "Regressor"
    return _DISPLAY[name].format(kind=kind)


def default_params(name: str, problem_type: str) -> dict[str, Any]:
    """Defaults that train well and quickly; forests are capped in leaves so a million rows stay small."""
    classification = problem_type == CLASSIFICATION
    forest = {
        "n_estimators": 200,
        "max_depth": None,
        "min_samples_split": 2,
        "min_samples_leaf": 1,
        "max_features": "sqrt" if classification else 1.0,
        "max_leaf_nodes": 4096,
    }
    defaults: dict[str, dict[str, Any]] = {
        "LightGBM": {
            "n_estimators": 500,
            "learning_rate": 0.05,
            "num_leaves": 31,
            "max_depth": -1,
            "min_child_samples": 20,
            "subsample": 1.0,
            "colsample_bytree": 1.0,
            "reg_alpha": 0.0,
            "reg_lambda": 0.0,
            "min_split_gain": 0.0,
            "max_bin": 255,
        },
        "RandomForest": forest,
        "ExtraTrees": forest,
        "DecisionTree": {
            "max_depth": None,
            "min_samples_split": 2,
            "min_samples_leaf": 1,
            "max_features": None,
            "max_leaf_nodes": None,
            "ccp_alpha": 0.0,
        },
        "LinearRegression": {"alpha": 1.0, "fit_intercept": True},
        "LogisticRegression": {"C": 1.0, "max_iter": 1000, "fit_intercept": True, "class_weight": None},
        "HistGradientBoosting": {
            "max_iter": 500,
            "learning_rate": 0.1,
            "max_leaf_nodes": 31,
            "max_depth": None,
            "min_samples_leaf": 20,
            "l2_regularization": 0.0,
            "max_features": 1.0,
            "max_bins": 255,
        },
        "NeuralNetwork": {
            "hidden_layer_sizes": [100],
            "activation": "relu",
            "alpha": 1e-4,
            "learning_rate_init": 1e-3,
            "batch_size": 200,
            "max_iter": 200,
        },
    }
    if name not in defaults:
        raise ValueError(f"unknown algorithm {name!r}")
    if problem_type not in ALGORITHMS[name].problem_types:
        raise ValueError(f"{name} does not do {problem_type}")
    return dict(defaults[name])


# A registered model's family (``ModelType``) and the algorithm that trains it. ``regression`` is the linear
# family: ridge for a regression problem, logistic regression for a classification one.
MODEL_TYPE_ALGORITHM: dict[ModelType, str] = {
    ModelType.LIGHTGBM: "LightGBM",
    ModelType.RANDOM_FOREST: "RandomForest",
    ModelType.EXTRA_TREES: "ExtraTrees",
    ModelType.DECISION_TREE: "DecisionTree",
    ModelType.GRADIENT_BOOSTING: "HistGradientBoosting",
    ModelType.NEURAL_NETWORK: "NeuralNetwork",
    ModelType.REGRESSION: "LinearRegression",
}
ALGORITHM_MODEL_TYPE: dict[str, ModelType] = {
    **{name: model_type for model_type, name in MODEL_TYPE_ALGORITHM.items()},
    "LogisticRegression": ModelType.REGRESSION,
}
# The families a tabular model can be: every model type with an algorithm (not ``auto``, not ``forecaster``).
TABULAR_MODEL_TYPES: tuple[ModelType, ...] = tuple(MODEL_TYPE_ALGORITHM)


def algorithm_for(model_type: ModelType | str, problem_type: ProblemType | str) -> str:
    """The algorithm (an ``ALGORITHMS`` key, or ``AUTO``) that trains a model type for a tabular problem."""
    model_type = ModelType(model_type)
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"problem_type must be one of {', '.join(PROBLEM_TYPES)}, not {problem_type!r}")
    if model_type is ModelType.AUTO:
        return AUTO
    if model_type not in MODEL_TYPE_ALGORITHM:
        raise ValueError(f"{model_type} is not a tabular model type")
    if model_type is ModelType.REGRESSION and problem_type == CLASSIFICATION:
        return "LogisticRegression"
    return MODEL_TYPE_ALGORITHM[model_type]


def model_type_of(algorithm: str) -> ModelType:
    """The model type an algorithm name (an ``ALGORITHMS`` key or ``AUTO``) belongs to."""
    if algorithm == AUTO:
        return ModelType.AUTO
    return ALGORITHM_MODEL_TYPE[algorithm]
