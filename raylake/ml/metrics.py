"""Quality figures of a model on held-out rows, as plain JSON numbers.

Results are stored in the metadata store and returned by the API, so every value is a Python int or
float, and an undefined figure (AUC with one class present, R² of a single row) is None, never NaN.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn import metrics as sk

from raylake.core.vocabulary import ProblemType

CLASSIFICATION = ProblemType.CLASSIFICATION


def _number(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _quietly(compute: Any, *args: Any, **kwargs: Any) -> float | None:
    """A score, or None where scikit-learn finds it undefined for these rows."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _number(compute(*args, **kwargs))
    except ValueError:
        return None


def classification(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, classes: list[str]
) -> dict[str, Any]:
    """Binary figures take ``classes[1]`` as the positive class; multiclass ones are support-weighted."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    labels = list(range(len(classes)))
    binary = len(classes) == 2
    averaging: dict[str, Any] = (
        {"average": "binary", "pos_label": 1} if binary else {"average": "weighted", "labels": labels}
    )
    result: dict[str, Any] = {
        "accuracy": _quietly(sk.accuracy_score, y_true, y_pred),
        "precision": _quietly(sk.precision_score, y_true, y_pred, zero_division=0, **averaging),
        "recall": _quietly(sk.recall_score, y_true, y_pred, zero_division=0, **averaging),
        "f1_score": _quietly(sk.f1_score, y_true, y_pred, zero_division=0, **averaging),
        "roc_auc": roc_auc(y_true, proba, len(classes)),
        "log_loss": None,
        "confusion_matrix": sk.confusion_matrix(y_true, y_pred, labels=labels).astype(int).tolist(),
        "labels": list(classes),
    }
    if proba is not None and len(y_true):
        result["log_loss"] = _quietly(sk.log_loss, y_true, _normalised(proba), labels=labels)
    return result


def roc_auc(y_true: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float | None:
    """AUC (one-vs-rest, weighted, for multiclass); None unless every class occurs in ``y_true``."""
    if proba is None or len(y_true) == 0:
        return None
    if np.unique(y_true).size != n_classes:
        return None
    if n_classes == 2:
        return _quietly(sk.roc_auc_score, y_true, proba[:, 1])
    return _quietly(
        sk.roc_auc_score,
        y_true,
        _normalised(proba),
        multi_class="ovr",
        average="weighted",
        labels=list(range(n_classes)),
    )


def _normalised(proba: np.ndarray) -> np.ndarray:
    """Rows that sum to one within float precision: scikit-learn rejects 0.9999999 as a distribution."""
    proba = np.asarray(proba, dtype=np.float64)
    total = proba.sum(axis=1, keepdims=True)
    return proba / np.where(total > 0, total, 1.0)


def regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE, R² and MAPE of the predictions (None each where undefined, as for no rows)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if len(y_true) == 0:
        return {"rmse": None, "mae": None, "r2": None, "mape": None}
    return {
        "rmse": _quietly(sk.root_mean_squared_error, y_true, y_pred),
        "mae": _quietly(sk.mean_absolute_error, y_true, y_pred),
        "r2": _quietly(sk.r2_score, y_true, y_pred) if len(y_true) > 1 else None,
        "mape": _quietly(sk.mean_absolute_percentage_error, y_true, y_pred),
    }


def search_score(
    problem_type: str,
    n_classes: int | None,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
) -> float:
    """One number to maximise when comparing trials: binary ROC AUC, multiclass -log loss, regression R².

    These are FLAML's defaults, so benchmarks against it compare like with like. Where the figure is
    undefined for the validation rows (a single class, no probabilities) a fallback keeps trials
    comparable among themselves: -log loss, then accuracy; ``-inf`` only when nothing is computable.
    """
    if problem_type == CLASSIFICATION:
        y_true = np.asarray(y_true, dtype=np.int64)
        labels = list(range(n_classes or 0))
        if n_classes == 2:
            score = roc_auc(y_true, proba, 2)
            if score is not None:
                return score
        if proba is not None and labels and len(y_true):
            loss = _quietly(sk.log_loss, y_true, _normalised(proba), labels=labels)
            if loss is not None:
                return -loss
        accuracy = _quietly(sk.accuracy_score, y_true, y_pred) if len(y_true) else None
        return accuracy if accuracy is not None else -math.inf
    if len(y_true) < 2:
        return -math.inf
    r2 = _quietly(sk.r2_score, np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64))
    return r2 if r2 is not None else -math.inf
