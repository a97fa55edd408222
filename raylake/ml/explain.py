"""Which input columns a model relies on, as mean absolute SHAP value per original column.

Users think in their columns, not in ``Contract=Monthly`` or ``Signup.month``, so the SHAP values of the
features derived from one column are summed per row before taking the magnitude: the result is that
column's whole contribution, not the sum of its parts' magnitudes.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from raylake.ml.algorithms import ALGORITHMS, Model
from raylake.ml.preprocess import Preprocessor

TREE_ROWS = 1000
SAMPLED_ROWS = 200
BACKGROUND_ROWS = 100
# Tree SHAP costs about leaves x depth² per tree and row; past this many operations the rows shrink.
TREE_BUDGET = 2e9
MIN_TREE_ROWS = 50


def sample_rows(X: np.ndarray, n: int, seed: int) -> np.ndarray:
    """At most ``n`` rows of ``X``, chosen without replacement and in their original order."""
    if len(X) <= n:
        return X
    picked = np.sort(np.random.default_rng(seed).choice(len(X), size=n, replace=False))
    return X[picked]


def feature_importance(
    model: Model, preprocessor: Preprocessor, X: np.ndarray, background: np.ndarray, *, seed: int
) -> dict[str, float]:
    """Mean |SHAP| per original column, largest first; multiclass values are averaged over classes."""
    if X.shape[1] != len(preprocessor.feature_sources):
        expected = len(preprocessor.feature_sources)
        raise ValueError(f"X has {X.shape[1]} features; the preprocessor makes {expected}")
    if len(X) == 0:
        raise ValueError("no rows to explain")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if ALGORITHMS[model.algorithm].tree:
            values = _tree_shap(model, X, seed)
        else:
            values = _sampled_shap(model, X, background, seed)
    return _per_column(values, preprocessor.feature_sources)


def _per_column(values: np.ndarray, sources: list[str]) -> dict[str, float]:
    """``values`` is (rows, features, outputs); sum within a column, then |.|, mean over rows and outputs."""
    columns = list(dict.fromkeys(sources))
    grouping = np.zeros((len(sources), len(columns)))
    for i, source in enumerate(sources):
        grouping[i, columns.index(source)] = 1.0
    summed = np.einsum("rfo,fc->rco", values, grouping)
    importance = np.abs(summed).mean(axis=(0, 2))
    ranked = sorted(zip(columns, importance, strict=True), key=lambda item: (-item[1], item[0]))
    return {column: float(value) for column, value in ranked}


def _as_3d(values: Any, n_features: int) -> np.ndarray:
    """shap returns (rows, features), (rows, features, outputs) or a list per output; unify."""
    if isinstance(values, list):
        values = np.stack([np.asarray(v) for v in values], axis=-1)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        values = values[:, :, None]
    if values.ndim != 3 or values.shape[1] != n_features:
        raise ValueError(f"unexpected SHAP value shape {values.shape} for {n_features} features")
    return values


def _tree_shap(model: Model, X: np.ndarray, seed: int) -> np.ndarray:
    """Exact tree SHAP, path-dependent, so no background data is needed and categoricals are respected.

    A forest too big to explain ``MIN_TREE_ROWS`` rows exactly within the budget falls back to Saabas
    attributions (shap's ``approximate``): cruder, but linear in depth rather than quadratic in it.
    """
    import shap

    affordable = _affordable_rows(model)
    approximate = affordable < MIN_TREE_ROWS
    sample = sample_rows(X, TREE_ROWS if approximate else min(affordable, TREE_ROWS), seed)
    explainer = shap.TreeExplainer(model.native, feature_perturbation="tree_path_dependent")
    values = explainer.shap_values(sample, approximate=approximate, check_additivity=False)
    return _as_3d(values, X.shape[1])


def _affordable_rows(model: Model) -> int:
    """How many rows exact tree SHAP can explain within ``TREE_BUDGET``: a deep forest costs far more per
    row than a boosted ensemble of small trees, and one big forest must not stall the job."""
    if hasattr(model.native, "tree_"):
        trees = [model.native]
    elif hasattr(model.native, "estimators_"):
        trees = list(np.ravel(model.native.estimators_))
    else:  # LightGBM: trees bounded by num_leaves, cheap per row (and shap has no approximation for it)
        return TREE_ROWS
    cost = sum(tree.tree_.n_leaves * max(tree.tree_.max_depth, 1) ** 2 for tree in trees)
    return int(TREE_BUDGET // max(cost, 1))


def _sampled_shap(model: Model, X: np.ndarray, background: np.ndarray, seed: int) -> np.ndarray:
    """Permutation SHAP on the model's output (probabilities for classification) against a background."""
    import shap

    sample = sample_rows(X, SAMPLED_ROWS, seed)
    reference = sample_rows(background if len(background) else X, BACKGROUND_ROWS, seed + 1)
    predict = model.predict_proba if model.classification else model.predict
    masker = shap.maskers.Independent(reference, max_samples=BACKGROUND_ROWS)
    explainer = shap.PermutationExplainer(predict, masker, seed=seed)
    # One permutation per row, walked forwards and backwards (shap's antithetic sampling): exact for
    # additive models, and ample for a mean over up to 200 rows at a fraction of shap's default cost.
    max_evals = 2 * X.shape[1] + 1
    # shap calls the model with many small batches; OpenMP/BLAS thread pools only add overhead to those
    # (a HistGradientBoosting model explains five times faster single-threaded on a busy machine).
    with threadpool_limits(limits=1):
        explanation = explainer(sample, max_evals=max_evals, silent=True)
    return _as_3d(explanation.values, X.shape[1])
