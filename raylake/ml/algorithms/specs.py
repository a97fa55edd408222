"""Hyper-parameter specs: what each algorithm accepts from a user, checked and normalised."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class _Int:
    low: int
    high: int
    nullable: bool = False

    def clean(self, name: str, value: Any) -> int | None:
        """The value as an int within bounds (None where nullable); ValueError naming the parameter."""
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
        """The value as a float within bounds; ValueError naming the parameter otherwise."""
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
        """The value when it is one of the allowed ones (same type too); ValueError listing them otherwise."""
        if not any(value is v or (type(value) is type(v) and value == v) for v in self.values):
            shown = ", ".join("null" if v is None else repr(v) for v in self.values)
            raise ValueError(f"{name} must be one of {shown}, not {value!r}")
        return value


@dataclass(frozen=True)
class _Bool:
    def clean(self, name: str, value: Any) -> bool:
        """The value as a bool; ValueError when it is anything else."""
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return bool(value)


@dataclass(frozen=True)
class _MaxFeatures:
    """scikit-learn's ``max_features``: a rule name, a count (int) or a fraction (float); null means all."""

    def clean(self, name: str, value: Any) -> str | int | float | None:
        """ "sqrt", "log2", None, a feature count or a fraction in (0, 1]; ValueError otherwise."""
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
        """The hidden layer sizes as a list (one int is one layer); ValueError when out of bounds."""
        layers = [value] if isinstance(value, int | np.integer) and not isinstance(value, bool) else value
        if not isinstance(layers, list | tuple) or not 1 <= len(layers) <= self.max_layers:
            raise ValueError(f"{name} must be a list of 1 to {self.max_layers} layer sizes, not {value!r}")
        return [self._units(f"{name}[{i}]", units) for i, units in enumerate(layers)]

    def _units(self, name: str, value: Any) -> int:
        units = _Int(1, self.max_units).clean(name, value)
        assert units is not None  # _Int is not nullable here
        return units


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
