"""The algorithms a user can train: names, hyper-parameters, fitting, prediction and safe persistence.

One registry (``ALGORITHMS``) is the single source the API validates against, the search draws from and the
training job fits with, so a name or parameter accepted in one place is accepted everywhere.

Models are stored without pickle: LightGBM as its own text format, scikit-learn estimators with skops,
loaded only when every non-default type in the file is one our own algorithms produce. A model file is a
user-reachable artefact, and unpickling one would run arbitrary code.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

CLASSIFICATION = "Classification"
REGRESSION = "Regression"
PROBLEM_TYPES = (CLASSIFICATION, REGRESSION)
_BOTH = frozenset(PROBLEM_TYPES)

AUTO = "auto"
DEFAULT_ALGORITHM = "LightGBM"
EARLY_STOPPING_ROUNDS = 50
MLP_PATIENCE = 10


# ---------------------------------------------------------------------- hyper-parameter specs


@dataclass(frozen=True)
class _Int:
    low: int
    high: int
    nullable: bool = False

    def clean(self, name: str, value: Any) -> int | None:
        if value is None and self.nullable:
            return None
        integral = isinstance(value, int | np.integer) or (
            isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer()
        )
        if isinstance(value, bool | np.bool_) or not integral:
            raise ValueError(f"{name} must be an integer{' or null' if self.nullable else ''}, not {value!r}")
        number = int(value)
        if not self.low <= number <= self.high:
            raise ValueError(f"{name} must be between {self.low} and {self.high}, not {number}")
        return number


@dataclass(frozen=True)
class _Float:
    low: float
    high: float
    low_open: bool = False

    def clean(self, name: str, value: Any) -> float:
        number_like = isinstance(value, int | float | np.integer | np.floating)
        if isinstance(value, bool | np.bool_) or not number_like:
            raise ValueError(f"{name} must be a number, not {value!r}")
        number = float(value)
        above = number > self.low if self.low_open else number >= self.low
        if not (math.isfinite(number) and above and number <= self.high):
            bracket = "(" if self.low_open else "["
            raise ValueError(f"{name} must be in {bracket}{self.low}, {self.high}], not {value!r}")
        return number


@dataclass(frozen=True)
class _Choice:
    values: tuple[Any, ...]

    def clean(self, name: str, value: Any) -> Any:
        if not any(value is v or (type(value) is type(v) and value == v) for v in self.values):
            shown = ", ".join("null" if v is None else repr(v) for v in self.values)
            raise ValueError(f"{name} must be one of {shown}, not {value!r}")
        return value


@dataclass(frozen=True)
class _Bool:
    def clean(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return bool(value)


@dataclass(frozen=True)
class _MaxFeatures:
    """scikit-learn's ``max_features``: a rule name, a count (int) or a fraction (float); null means all."""

    def clean(self, name: str, value: Any) -> str | int | float | None:
        if value is None or value in ("sqrt", "log2"):
            return value
        if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
            return _Int(1, 1_000_000).clean(name, value)
        if isinstance(value, float | np.floating):
            return _Float(0.0, 1.0, low_open=True).clean(name, value)
        raise ValueError(f'{name} must be "sqrt", "log2", null, a count or a fraction; got {value!r}')


@dataclass(frozen=True)
class _Layers:
    max_layers: int = 5
    max_units: int = 4096

    def clean(self, name: str, value: Any) -> list[int]:
        layers = [value] if isinstance(value, int | np.integer) and not isinstance(value, bool) else value
        if not isinstance(layers, list | tuple) or not 1 <= len(layers) <= self.max_layers:
            raise ValueError(f"{name} must be a list of 1 to {self.max_layers} layer sizes, not {value!r}")
        return [_Int(1, self.max_units).clean(f"{name}[{i}]", units) for i, units in enumerate(layers)]


_Spec = _Int | _Float | _Choice | _Bool | _MaxFeatures | _Layers

_FOREST_PARAMS: dict[str, _Spec] = {
    "n_estimators": _Int(1, 5000),
    "max_depth": _Int(1, 1000, nullable=True),
    "min_samples_split": _Int(2, 1_000_000),
    "min_samples_leaf": _Int(1, 1_000_000),
    "max_features": _MaxFeatures(),
    "max_leaf_nodes": _Int(2, 10_000_000, nullable=True),
}

PARAM_SPECS: dict[str, dict[str, _Spec]] = {
    "LightGBM": {
        "n_estimators": _Int(1, 100_000),
        "learning_rate": _Float(0.0, 1.0, low_open=True),
        "num_leaves": _Int(2, 131_072),
        "max_depth": _Int(-1, 1000),
        "min_child_samples": _Int(1, 1_000_000),
        "subsample": _Float(0.0, 1.0, low_open=True),
        "colsample_bytree": _Float(0.0, 1.0, low_open=True),
        "reg_alpha": _Float(0.0, 1e6),
        "reg_lambda": _Float(0.0, 1e6),
        "min_split_gain": _Float(0.0, 1e6),
        "max_bin": _Int(2, 65_535),
    },
    "RandomForest": _FOREST_PARAMS,
    "ExtraTrees": _FOREST_PARAMS,
    "DecisionTree": {
        **{key: spec for key, spec in _FOREST_PARAMS.items() if key != "n_estimators"},
        "ccp_alpha": _Float(0.0, 1e6),
    },
    "LinearRegression": {"alpha": _Float(0.0, 1e10), "fit_intercept": _Bool()},
    "LogisticRegression": {
        "C": _Float(0.0, 1e10, low_open=True),
        "max_iter": _Int(1, 100_000),
        "fit_intercept": _Bool(),
        "class_weight": _Choice(("balanced", None)),
    },
    "HistGradientBoosting": {
        "max_iter": _Int(1, 100_000),
        "learning_rate": _Float(0.0, 1.0, low_open=True),
        "max_leaf_nodes": _Int(2, 1_000_000, nullable=True),
        "max_depth": _Int(1, 1000, nullable=True),
        "min_samples_leaf": _Int(1, 1_000_000),
        "l2_regularization": _Float(0.0, 1e6),
        "max_features": _Float(0.0, 1.0, low_open=True),
        "max_bins": _Int(2, 255),
    },
    "NeuralNetwork": {
        "hidden_layer_sizes": _Layers(),
        "activation": _Choice(("relu", "tanh", "logistic", "identity")),
        "alpha": _Float(0.0, 1e3),
        "learning_rate_init": _Float(0.0, 1.0, low_open=True),
        "batch_size": _Int(1, 1_000_000),
        "max_iter": _Int(1, 100_000),
    },
}


# ---------------------------------------------------------------------- the registry


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


def check_params(name: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The user's hyper-parameters validated and normalised (ints as ints, layers as lists)."""
    if name not in PARAM_SPECS:
        raise ValueError(f"unknown algorithm {name!r}")
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValueError(f"params must be an object, not {type(params).__name__}")
    specs = PARAM_SPECS[name]
    unknown = sorted(set(params) - set(specs))
    if unknown:
        raise ValueError(
            f"unknown parameters for {name}: {', '.join(map(str, unknown))}; "
            f"valid: {', '.join(sorted(specs))}"
        )
    return {key: specs[key].clean(key, value) for key, value in params.items()}


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


# ---------------------------------------------------------------------- training


@dataclass
class TrainData:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    n_classes: int | None
    categorical: list[int] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)


@dataclass
class Model:
    algorithm: str
    problem_type: str
    params: dict[str, Any]
    native: Any
    n_classes: int | None = None

    @property
    def classification(self) -> bool:
        return self.problem_type == CLASSIFICATION

    def predict_proba(self, X: np.ndarray, threads: int = 0) -> np.ndarray | None:
        """Class probabilities over every known class, ``(n, n_classes)``; None for regression.

        ``threads`` > 0 caps LightGBM's prediction threads (see ``ServedModel``); 0 uses every core."""
        if not self.classification:
            return None
        assert self.n_classes is not None
        if self.algorithm == "LightGBM":
            raw = np.asarray(self.native.predict(X, **lightgbm_threads(threads)), dtype=np.float64)
            return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw
        # A scikit-learn classifier only knows the classes it saw; the rest get probability 0.
        part = np.asarray(self.native.predict_proba(X), dtype=np.float64)
        full = np.zeros((part.shape[0], self.n_classes), dtype=np.float64)
        full[:, np.asarray(self.native.classes_, dtype=np.int64)] = part
        return full

    def predict(self, X: np.ndarray, threads: int = 0) -> np.ndarray:
        """Class indices (int64) or regression values (float64)."""
        if self.classification:
            proba = self.predict_proba(X, threads)
            assert proba is not None
            return np.argmax(proba, axis=1).astype(np.int64)
        if self.algorithm == "LightGBM":
            return np.asarray(self.native.predict(X, **lightgbm_threads(threads)), dtype=np.float64)
        return np.asarray(self.native.predict(X), dtype=np.float64)

    @property
    def iterations(self) -> int | None:
        """Boosting rounds in the model (LightGBM, growing with each continuation); None otherwise."""
        if self.algorithm == "LightGBM":
            return int(self.native.current_iteration())
        return None

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the model file into ``directory``; the manifest returned is what ``load`` needs back."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.algorithm == "LightGBM":
            file, fmt = "model.txt", LIGHTGBM_FORMAT
            self.native.save_model(str(directory / file), num_iteration=self.native.current_iteration())
        else:
            import skops.io

            file, fmt = "model.skops", SKOPS_FORMAT
            skops.io.dump(self.native, directory / file)
        manifest: dict[str, Any] = {
            "algorithm": self.algorithm,
            "problem_type": self.problem_type,
            "format": fmt,
            "file": file,
            "params": _json_safe(self.params),
            "n_classes": self.n_classes,
            "sha256": file_digest(directory / file),
        }
        if self.iterations is not None:
            manifest["iterations"] = self.iterations
        return manifest

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> Model:
        """The saved model, refusing a file that changed since it was saved or holds a foreign type."""
        algorithm, problem_type = manifest["algorithm"], manifest["problem_type"]
        if algorithm not in ALGORITHMS or problem_type not in ALGORITHMS[algorithm].problem_types:
            raise ValueError(f"manifest names an unknown model: {algorithm!r} for {problem_type!r}")
        file = str(manifest["file"])
        if Path(file).name != file or file in ("", ".", ".."):
            raise ValueError(f"manifest file must be a plain file name, not {file!r}")
        path = Path(directory) / file
        expected = manifest.get("sha256")
        if expected is not None and file_digest(path) != expected:
            raise ValueError(f"{file} does not match the checksum recorded when it was saved")
        fmt = manifest["format"]
        if fmt == LIGHTGBM_FORMAT and algorithm == "LightGBM":
            import lightgbm as lgb

            native = lgb.Booster(model_file=str(path))
        elif fmt == SKOPS_FORMAT and algorithm != "LightGBM":
            native = _load_skops(path, algorithm, problem_type)
        else:
            raise ValueError(f"{algorithm} cannot be stored as {fmt!r}")
        params = dict(manifest.get("params") or {})
        return cls(algorithm, problem_type, params, native, manifest.get("n_classes"))


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
    return Model(name, problem_type, _json_safe(effective), native, n_classes)


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
    valid_sets, callbacks = [], []
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


def _json_safe(value: Any) -> Any:
    """Parameters as plain JSON values (numpy scalars and tuples would not serialise)."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


# ---------------------------------------------------------------------- safe loading

LIGHTGBM_FORMAT = "lightgbm-text"
SKOPS_FORMAT = "skops"

# Types skops does not trust by default but our own estimators contain (collected by fitting every
# algorithm for both problem types, with and without categorical features). ``functools.partial`` is only
# as dangerous as what it wraps, and the wrapped function is itself checked against this list.
SKOPS_ALLOWED = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.utils.validation.check_array",
        "functools.partial",
    }
)

_ESTIMATORS: dict[str, tuple[str, str]] = {
    "RandomForest": ("sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.RandomForestRegressor"),
    "ExtraTrees": ("sklearn.ensemble.ExtraTreesClassifier", "sklearn.ensemble.ExtraTreesRegressor"),
    "DecisionTree": ("sklearn.tree.DecisionTreeClassifier", "sklearn.tree.DecisionTreeRegressor"),
    "LinearRegression": ("", "sklearn.linear_model.Ridge"),
    "LogisticRegression": ("sklearn.linear_model.LogisticRegression", ""),
    "HistGradientBoosting": (
        "sklearn.ensemble.HistGradientBoostingClassifier",
        "sklearn.ensemble.HistGradientBoostingRegressor",
    ),
    "NeuralNetwork": ("sklearn.neural_network.MLPClassifier", "sklearn.neural_network.MLPRegressor"),
}


def _load_skops(path: Path, algorithm: str, problem_type: str) -> Any:
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    foreign = sorted(set(untrusted) - SKOPS_ALLOWED)
    if foreign:
        raise ValueError(f"{path.name} holds types no raylake model contains: {', '.join(foreign)}")
    native = skops.io.load(path, trusted=untrusted)
    expected = _ESTIMATORS[algorithm][0 if problem_type == CLASSIFICATION else 1]
    module, _, cls_name = expected.rpartition(".")
    if type(native) is not getattr(importlib.import_module(module), cls_name):
        raise ValueError(f"{path.name} holds a {type(native).__name__}, not the {algorithm} model it claims")
    return native


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lightgbm_threads(threads: int) -> dict[str, int]:
    """LightGBM prediction parameters for a thread cap (none: LightGBM's default, every core)."""
    return {"num_threads": threads} if threads > 0 else {}
