"""Safe persistence: model files are never unpickled, and a skops file loads only our own estimators' types.

A model file is a user-reachable artefact, and unpickling one would run arbitrary code.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Any

from raylake.ml.algorithms.registry import CLASSIFICATION

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


def load_skops(path: Path, algorithm: str, problem_type: str) -> Any:
    """The estimator in a skops file, refused unless it holds only known types and the model it claims."""
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
    """The file's SHA-256 hex digest, read in 1 MiB blocks, to check an artifact is the one recorded."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
