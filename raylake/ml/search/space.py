"""The search space: which algorithms ``auto`` tries, the ranges TPE draws from and their start points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from raylake.ml.algorithms import default_params

# The order defaults are tried in: strongest and cheapest first, so a short budget still gets them.
# DecisionTree is left out of ``auto``: a single tree never beats the forests and boosting on validation,
# so every trial spent on it would be lost (a caller may still name it in ``algorithms``).
AUTO_ALGORITHMS = (
    "LightGBM",
    "LinearRegression",
    "LogisticRegression",
    "HistGradientBoosting",
    "RandomForest",
    "ExtraTrees",
    "NeuralNetwork",
)


@dataclass(frozen=True)
class _Range:
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def suggest(self, trial: Any, name: str) -> float | int:
        """Optuna's next value for this parameter within the range."""
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def clip(self, value: float) -> float | int:
        """A value brought inside the range (rounded for an integer parameter)."""
        value = min(max(float(value), self.low), self.high)
        return round(value) if self.integer else value


def _int(low: int, high: int, log: bool = True) -> _Range:
    return _Range(low, high, log=log, integer=True)


# What TPE searches, per algorithm, in the searched names (``to_params`` turns them into fit params).
# Ranges follow FLAML's where it has them, narrowed to what a one-minute budget can explore.
SPACES: dict[str, dict[str, _Range]] = {
    "LightGBM": {
        "learning_rate": _Range(0.01, 0.3, log=True),
        "num_leaves": _int(4, 512),
        "min_child_samples": _int(2, 256),
        "subsample": _Range(0.5, 1.0),
        "colsample_bytree": _Range(0.3, 1.0),
        "reg_lambda": _Range(1e-3, 100.0, log=True),
    },
    "HistGradientBoosting": {
        "learning_rate": _Range(0.01, 0.3, log=True),
        "max_leaf_nodes": _int(4, 256),
        "min_samples_leaf": _int(2, 256),
        "l2_regularization": _Range(1e-3, 100.0, log=True),
        "max_features": _Range(0.3, 1.0),
    },
    "RandomForest": {
        "n_estimators": _int(50, 500),
        "max_features": _Range(0.1, 1.0),
        "min_samples_leaf": _int(1, 32),
    },
    "ExtraTrees": {
        "n_estimators": _int(50, 500),
        "max_features": _Range(0.1, 1.0),
        "min_samples_leaf": _int(1, 32),
    },
    "DecisionTree": {"max_depth": _int(2, 32), "min_samples_leaf": _int(1, 64)},
    "LinearRegression": {"alpha": _Range(1e-4, 1e3, log=True)},
    "LogisticRegression": {"C": _Range(1e-3, 1e3, log=True)},
    "NeuralNetwork": {
        "units": _int(16, 256),
        "layers": _int(1, 2, log=False),
        "alpha": _Range(1e-6, 1e-1, log=True),
        "learning_rate_init": _Range(1e-4, 1e-2, log=True),
    },
}


def _key(name: str, param: str) -> str:
    """The Optuna/Tune name of a searched parameter; no "/" (Tune nests config keys on it)."""
    return f"{name}.{param}"


def boosting_rounds(learning_rate: float) -> int:
    """The ceiling on boosting rounds for a learning rate; early stopping picks the count below it.

    About 100 / learning_rate rounds reach a plateau on most tabular data; the bounds keep a fast
    learner from stopping short and a slow one from running for minutes."""
    return int(min(3000, max(300, round(100.0 / learning_rate))))


def to_params(name: str, problem_type: str, searched: dict[str, Any]) -> dict[str, Any]:
    """The fit params for a searched configuration: defaults, overridden by what TPE chose."""
    params = default_params(name, problem_type)
    values = dict(searched)
    if name == "NeuralNetwork":
        units, layers = int(values.pop("units")), int(values.pop("layers"))
        params["hidden_layer_sizes"] = [units] * layers
    params.update(values)
    if name == "LightGBM":
        params["n_estimators"] = boosting_rounds(params["learning_rate"])
    elif name == "HistGradientBoosting":
        params["max_iter"] = boosting_rounds(params["learning_rate"])
    return params


def searched_values(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The searched values of ``name`` in a trial's config, by their own names."""
    return {key.split(".", 1)[1]: value for key, value in config.items() if key.startswith(f"{name}.")}


def start_point(name: str, problem_type: str, n_features: int) -> dict[str, Any]:
    """The algorithm's defaults in searched names (clipped into the searched ranges)."""
    defaults = default_params(name, problem_type)
    if name in ("RandomForest", "ExtraTrees"):
        rule = defaults["max_features"]
        if rule == "sqrt":
            defaults["max_features"] = math.sqrt(n_features) / max(1, n_features)
        elif rule == "log2":
            defaults["max_features"] = math.log2(max(2, n_features)) / max(1, n_features)
        elif rule is None:
            defaults["max_features"] = 1.0
    if name == "NeuralNetwork":
        layers = defaults["hidden_layer_sizes"]
        defaults["units"], defaults["layers"] = int(layers[0]), len(layers)
    if name == "DecisionTree" and defaults.get("max_depth") is None:
        defaults["max_depth"] = SPACES[name]["max_depth"].high
    point: dict[str, Any] = {"algorithm": name}
    for param, space in SPACES[name].items():
        point[_key(name, param)] = space.clip(defaults[param])
    return point


@dataclass(frozen=True)
class Space:
    """Optuna's define-by-run space: the algorithm, then its own parameters (so TPE models each
    algorithm's parameters only on that algorithm's trials). A class, not a closure: Tune pickles the
    searcher, space included, into its experiment state."""

    algorithms: tuple[str, ...]

    def __call__(self, trial: Any) -> None:
        name = trial.suggest_categorical("algorithm", list(self.algorithms))
        for param, space in SPACES[name].items():
            space.suggest(trial, _key(name, param))
