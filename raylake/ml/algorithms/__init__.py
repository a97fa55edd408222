"""The algorithms a user can train: names, hyper-parameters, fitting, prediction and safe persistence.

One registry (``ALGORITHMS``) is the single source the API validates against, the search draws from and the
training job fits with, so a name or parameter accepted in one place is accepted everywhere.

Models are stored without pickle: LightGBM as its own text format, scikit-learn estimators with skops,
loaded only when every non-default type in the file is one our own algorithms produce. A model file is a
user-reachable artefact, and unpickling one would run arbitrary code.

Modules: ``specs`` (hyper-parameter checks), ``registry`` (names, problem types, defaults), ``model``
(a trained model), ``fitting`` (training), ``persistence`` (safe loading). None imports scikit-learn at
import time.
"""

from raylake.ml.algorithms.fitting import EARLY_STOPPING_ROUNDS, MLP_PATIENCE, fit
from raylake.ml.algorithms.model import Model, TrainData, lightgbm_threads
from raylake.ml.algorithms.persistence import LIGHTGBM_FORMAT, SKOPS_ALLOWED, SKOPS_FORMAT, file_digest
from raylake.ml.algorithms.registry import (
    ALGORITHMS,
    AUTO,
    CLASSIFICATION,
    DEFAULT_ALGORITHM,
    PROBLEM_TYPES,
    REGRESSION,
    TABULAR_MODEL_TYPES,
    Algorithm,
    algorithm_for,
    default_params,
    display_name,
    model_type_of,
    resolve,
    valid_names,
)
from raylake.ml.algorithms.specs import PARAM_SPECS, check_params

__all__ = [
    "ALGORITHMS",
    "AUTO",
    "CLASSIFICATION",
    "DEFAULT_ALGORITHM",
    "EARLY_STOPPING_ROUNDS",
    "LIGHTGBM_FORMAT",
    "MLP_PATIENCE",
    "PARAM_SPECS",
    "PROBLEM_TYPES",
    "REGRESSION",
    "SKOPS_ALLOWED",
    "SKOPS_FORMAT",
    "TABULAR_MODEL_TYPES",
    "Algorithm",
    "Model",
    "TrainData",
    "algorithm_for",
    "check_params",
    "default_params",
    "display_name",
    "file_digest",
    "fit",
    "lightgbm_threads",
    "model_type_of",
    "resolve",
    "valid_names",
]
