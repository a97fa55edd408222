"""A trained version ready to answer requests: rows in, predictions (in the user's terms) out.

The model replica holds one ``ServedModel`` per loaded version. It applies the persisted preprocessing
verbatim (``RowEncoder`` for a few JSON rows, proven identical to ``Preprocessor.transform``), passes a
numpy matrix to the model (never pandas: the hot path is a few microseconds of Python around the
booster), and turns class indices back into the original labels.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from raylake.core.vocabulary import ExplainMethod
from raylake.ml.algorithms import ALGORITHMS, Model, lightgbm_threads
from raylake.ml.preprocess import Preprocessor
from raylake.ml.rows import RowEncoder

# Real-time calls predict a few rows on one thread. LightGBM's default (every core) buys nothing for a
# few rows, and its OpenMP workers spin after each call: between requests ~1 ms of CPU per call, taken
# from the API replica beside it (bench/RESULTS.md). Batches of many rows keep every core.
SERVING_THREADS = 1


def typed_labels(pre: Preprocessor, indices: np.ndarray) -> pl.Series:
    """Class indices as the target's own type: a Boolean target answers true/false, an Integer one a
    number, a String one its string (the classes are stored as their rendered strings). Vectorised, so
    batch jobs use it on whole blocks and replicas on a few rows."""
    assert pre.classes is not None
    rendered = pl.Series("prediction", np.asarray(pre.classes, dtype=object)[indices].astype(str))
    kind = pre.target_type
    if kind == "Boolean":
        return rendered == "true"
    if kind in ("Integer", "Float"):
        return rendered.cast(pl.Int64 if kind == "Integer" else pl.Float64)
    return rendered


@dataclass
class ServedModel:
    model: Model
    preprocessor: Preprocessor
    encoder: RowEncoder
    accuracy: float | None
    target: str

    @classmethod
    def build(cls, model: Model, preprocessor: Preprocessor, accuracy: float | None) -> ServedModel:
        """A model ready to serve: the model with its preprocessor and row encoder."""
        return cls(model, preprocessor, RowEncoder(preprocessor), accuracy, preprocessor.target)

    @property
    def classification(self) -> bool:
        """Whether the served model predicts classes."""
        return self.model.classification

    def predict(self, rows: Sequence[Mapping[str, Any]], *, explain: bool = False) -> list[dict[str, Any]]:
        """One result per row: ``prediction``, ``probabilities`` (classification) and, asked for,
        ``explanation`` (SHAP contribution per original column, for the predicted class) with its
        ``explanation_method``."""
        X = self.encoder.encode(rows)
        return self.predict_matrix(X, explain=explain)

    def predict_matrix(self, X: np.ndarray, *, explain: bool = False) -> list[dict[str, Any]]:
        """One prediction per encoded row (label and probabilities, or value), explained when asked."""
        proba = self.model.predict_proba(X, SERVING_THREADS) if self.classification else None
        contributions = self.contributions(X, proba) if explain else None
        if self.classification:
            assert proba is not None and self.preprocessor.classes is not None
            classes = self.preprocessor.classes
            labels = self.labels(np.argmax(proba, axis=1))
            out = [
                {
                    "prediction": label,
                    "probabilities": {c: float(p) for c, p in zip(classes, row, strict=True)},
                }
                for label, row in zip(labels, proba, strict=True)
            ]
        else:
            values = self.model.predict(X, SERVING_THREADS)
            out = [{"prediction": float(v), "probabilities": None} for v in values]
        if contributions is not None:
            method = self.explain_method
            for item, explanation in zip(out, contributions, strict=True):
                item["explanation"] = explanation
                item["explanation_method"] = method
        return out

    def labels(self, indices: np.ndarray) -> list[Any]:
        """Class indices as the target's own labels."""
        return typed_labels(self.preprocessor, indices).to_list()

    # ------------------------------------------------------------------ explanations

    @property
    def explain_method(self) -> ExplainMethod:
        """How ``contributions`` explains this model: exactly for trees, by permutation otherwise."""
        tree = self.model.algorithm == "LightGBM" or ALGORITHMS[self.model.algorithm].tree
        return ExplainMethod.TREE_SHAP if tree else ExplainMethod.PERMUTATION_SHAP

    def contributions(self, X: np.ndarray, proba: np.ndarray | None = None) -> list[dict[str, float]]:
        """Per row, each original column's SHAP contribution to the predicted output.

        Tree models are explained exactly (LightGBM's own ``pred_contrib``, tree SHAP for scikit-learn
        trees); other models by permutation SHAP against the all-defaults row (every input at its fill
        value), so a contribution reads "what this value changes compared with a default input"."""
        values = self._feature_values(X)  # (rows, features, outputs)
        if self.classification and values.shape[2] > 1:
            if proba is None:
                proba = self.model.predict_proba(X, SERVING_THREADS)
                assert proba is not None  # a classifier's
            chosen = np.argmax(proba, axis=1)
            per_row = values[np.arange(len(X)), :, chosen]
        else:
            per_row = values[:, :, 0]
            if self.classification and self.model.algorithm == "LightGBM":
                # binary: LightGBM explains the log-odds of class 1; flip for rows predicted class 0
                predicted = (
                    np.argmax(proba, axis=1) if proba is not None else self.model.predict(X, SERVING_THREADS)
                )
                per_row = np.where(predicted[:, None] == 1, per_row, -per_row)
        sources = self.preprocessor.feature_sources
        columns = list(dict.fromkeys(sources))
        index = {column: i for i, column in enumerate(columns)}
        summed = np.zeros((len(X), len(columns)))
        for j, source in enumerate(sources):
            summed[:, index[source]] += per_row[:, j]
        return [{c: float(v) for c, v in zip(columns, row, strict=True)} for row in summed]

    def _feature_values(self, X: np.ndarray) -> np.ndarray:
        n_features = X.shape[1]
        if self.model.algorithm == "LightGBM":
            raw = np.asarray(
                self.model.native.predict(X, pred_contrib=True, **lightgbm_threads(SERVING_THREADS)),
                dtype=np.float64,
            )
            outputs = raw.shape[1] // (n_features + 1)
            # (rows, outputs * (features + 1)): each output's block ends with its bias column
            return raw.reshape(len(X), outputs, n_features + 1)[:, :, :n_features].transpose(0, 2, 1)
        import shap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if ALGORITHMS[self.model.algorithm].tree:
                explainer = shap.TreeExplainer(self.model.native, feature_perturbation="tree_path_dependent")
                values = explainer.shap_values(X, check_additivity=False)
            else:
                background = self.encoder.encode([{}])
                predict = self.model.predict_proba if self.classification else self.model.predict
                explainer = shap.PermutationExplainer(predict, shap.maskers.Independent(background))
                values = explainer(X, max_evals=2 * n_features + 1, silent=True).values
        if isinstance(values, list):
            values = np.stack([np.asarray(v) for v in values], axis=-1)
        values = np.asarray(values, dtype=np.float64)
        return values[:, :, None] if values.ndim == 2 else values
