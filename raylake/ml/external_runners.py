"""How each external format is called: typed input columns in; class probabilities (columns in
``class_order``) or values out; exact tree SHAP where the format has it. The common call, skops and
LightGBM boosters live here; ONNX in ``external_onnx``.

A runner is built once per loaded model and decides at build time everything a call would otherwise
rediscover (which ONNX inputs and output to use, which column of the model holds which label), so a call is
a feed and a run. Build-time mismatches with the signature are ValueErrors naming expected against got.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from raylake.core.vocabulary import ModelFormat, Task
from raylake.ml.external_inputs import TEXT_TYPES, Columns, Inputs
from raylake.ml.model_files import ModelRefused, untrusted_skops_types
from raylake.ml.serving import SERVING_THREADS

_TREE_ESTIMATORS = frozenset(
    {
        "DecisionTreeClassifier",
        "DecisionTreeRegressor",
        "ExtraTreeClassifier",
        "ExtraTreeRegressor",
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
        "LGBMClassifier",
        "LGBMRegressor",
    }
)
_BOOSTER_BINARY = frozenset({"binary"})
_BOOSTER_MULTICLASS = frozenset({"multiclass", "multiclassova"})


class Runner:
    """One loaded model behind the common call."""

    format: ModelFormat

    def __init__(self, inputs: Inputs, task: Task, class_order: list[str] | None) -> None:
        self.inputs = inputs
        self.task = task
        self.class_order = class_order

    @property
    def classification(self) -> bool:
        """Whether the model answers class probabilities."""
        return self.task is not Task.REGRESSION

    def run(self, columns: Columns, threads: int) -> np.ndarray:
        """Probabilities ``(rows, len(class_order))`` for a classifier, values ``(rows,)`` for a regressor.
        ``threads``: ``SERVING_THREADS`` for real-time calls, 0 for every core."""
        raise NotImplementedError

    def tree_contributions(self, columns: Columns, predicted: np.ndarray | None) -> np.ndarray | None:
        """Exact SHAP values ``(rows, inputs)`` of each row's predicted class (classifiers; ``predicted``
        holds class_order indices) or value; None when the model is no tree model SHAP reads directly."""
        return None

    def _numeric_matrix(self, columns: Columns) -> np.ndarray:
        return np.column_stack([column.astype(np.float64) for column in columns])

    def _refuse_text(self, why: str) -> None:
        text = [f"{name} ({kind})" for name, kind in self.inputs if kind in TEXT_TYPES]
        if text:
            raise ValueError(f"{why}: it cannot take the text inputs {', '.join(text)}")


def label_order(model_labels: Sequence[Any], class_order: list[str]) -> list[int]:
    """For each class_order label, the model's output column holding it. Labels match as text (booleans
    case-insensitively); a model whose classes are 0..n-1 is index-coded, named by class_order in order."""
    texts = [_label_text(label) for label in model_labels]
    if len(texts) == len(class_order):
        if set(texts) == set(class_order):
            return [texts.index(label) for label in class_order]
        lowered, wanted = [t.lower() for t in texts], [c.lower() for c in class_order]
        if len(set(lowered)) == len(lowered) and set(lowered) == set(wanted):
            return [lowered.index(label) for label in wanted]
        if texts == [str(i) for i in range(len(texts))]:
            return list(range(len(texts)))
    raise ValueError(f"the model's classes are {texts}; class_order is {class_order}")


def _label_text(label: Any) -> str:
    if isinstance(label, bytes):
        return label.decode()
    if isinstance(label, np.generic):
        label = label.item()
    return str(label)


def _pick_class(values: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Per row, the SHAP values of the model output ``columns[row]``: ``values`` is (rows, inputs,
    outputs), or (rows, inputs) for a binary model explaining its second class (flipped for the first)."""
    if values.ndim == 3:
        return values[np.arange(len(values)), :, columns]
    return np.where((columns == 1)[:, None], values, -values)


# -------------------------------------------------------------------------------------------- skops


class SkopsRunner(Runner):
    """A scikit-learn estimator or pipeline (or LightGBM's scikit-learn wrapper) from a skops file."""

    format = ModelFormat.SKOPS

    def __init__(self, path: Path, inputs: Inputs, task: Task, class_order: list[str] | None) -> None:
        super().__init__(inputs, task, class_order)
        import skops.io

        try:
            untrusted = untrusted_skops_types(path)
        except Exception as error:  # a broken zip or schema
            raise ModelRefused(f"not a readable skops file: {error}") from None
        if untrusted:
            raise ModelRefused(
                f"the skops file holds types raylake does not load from an upload: {', '.join(untrusted)}. "
                "Only scikit-learn, numpy, scipy and LightGBM's scikit-learn classes are loaded; export a "
                "model with custom code to ONNX instead"
            )
        try:
            native = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
        except Exception as error:
            raise ModelRefused(f"not a readable skops file: {error}") from None
        self.native = native
        kind = type(native).__name__
        if not callable(getattr(native, "predict", None)):
            raise ValueError(f"the skops file holds a {kind}, which does not predict")
        classes = getattr(native, "classes_", None)
        self._order: list[int] = []
        if self.classification:
            if classes is None or not hasattr(native, "predict_proba"):
                raise ValueError(
                    f"the model ({kind}) gives no class probabilities; the signature is a classifier's"
                )
            assert class_order is not None
            self._order = label_order(list(classes), class_order)
        elif classes is not None:
            raise ValueError(f"the model ({kind}) is a classifier; the signature says regression")
        self._plan_inputs(kind)
        self._single_threaded(native)
        self._explainer: Any = None
        self._tree = type(native).__name__ in _TREE_ESTIMATORS and not any(
            kind in TEXT_TYPES for _, kind in inputs
        )

    def _plan_inputs(self, kind: str) -> None:
        """A DataFrame with the column names the estimator was fit on, or a numeric matrix."""
        names = [name for name, _ in self.inputs]
        fitted = getattr(self.native, "feature_names_in_", None)
        self._names: list[str] | None = None
        if fitted is not None:
            fitted = [str(name) for name in fitted]
            missing = [name for name in fitted if name not in names]
            extra = [name for name in names if name not in fitted]
            if missing or extra:
                raise ValueError(f"the model ({kind}) takes the columns {fitted}; the signature has {names}")
            self._names = fitted
            return
        width = getattr(self.native, "n_features_in_", None)
        if width is not None and width != len(names):
            raise ValueError(
                f"the model ({kind}) expects {width} features; the signature has {len(names)} inputs"
            )
        self._refuse_text(f"the model ({kind}) was fit on a numeric matrix without column names")

    @staticmethod
    def _single_threaded(native: Any) -> None:
        """A real-time call predicts a few rows: a stored ``n_jobs=-1`` would start a pool per call."""
        if not hasattr(native, "get_params"):
            return
        jobs = {key: None for key in native.get_params(deep=True) if key.endswith("n_jobs")}
        if jobs:
            native.set_params(**jobs)

    def _input(self, columns: Columns) -> Any:
        if self._names is None:
            return self._numeric_matrix(columns)
        import pandas as pd

        index = {name: i for i, (name, _) in enumerate(self.inputs)}
        kinds = dict(self.inputs)
        data = {}
        for name in self._names:
            column = columns[index[name]]
            integral = kinds[name] == "Integer" and not np.isnan(column).any()
            data[name] = column.astype(np.int64) if integral else column
        return pd.DataFrame(data)

    def _parallel(self, threads: int) -> AbstractContextManager[Any]:
        if threads == SERVING_THREADS:
            return nullcontext()
        import joblib

        return joblib.parallel_config(n_jobs=threads if threads > 0 else -1)

    def run(self, columns: Columns, threads: int) -> np.ndarray:
        """See ``Runner.run``."""
        X = self._input(columns)
        with self._parallel(threads):
            if self.classification:
                proba = np.asarray(self.native.predict_proba(X), dtype=np.float64)
                return proba[:, self._order]
            return np.asarray(self.native.predict(X), dtype=np.float64).reshape(len(columns[0]))

    def tree_contributions(self, columns: Columns, predicted: np.ndarray | None) -> np.ndarray | None:
        """See ``Runner.tree_contributions``: shap's TreeExplainer for scikit-learn and LightGBM trees."""
        if not self._tree:
            return None
        import shap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self._explainer is None:
                try:
                    self._explainer = shap.TreeExplainer(
                        self.native, feature_perturbation="tree_path_dependent"
                    )
                except Exception:  # a tree model this shap cannot read: explained like any other model
                    self._tree = False
                    return None
            values = self._explainer.shap_values(self._numeric_matrix(columns), check_additivity=False)
        if isinstance(values, list):
            values = np.stack([np.asarray(v) for v in values], axis=-1)
        values = np.asarray(values, dtype=np.float64)
        if predicted is None:
            return values if values.ndim == 2 else values[:, :, 0]
        return _pick_class(values, np.asarray(self._order)[predicted])


# ----------------------------------------------------------------------------------- LightGBM booster


class BoosterRunner(Runner):
    """A LightGBM booster from its text format: a numeric matrix in signature order; a binary booster
    gives P(class_order[1])."""

    format = ModelFormat.LIGHTGBM

    def __init__(self, text: str, inputs: Inputs, task: Task, class_order: list[str] | None) -> None:
        super().__init__(inputs, task, class_order)
        import lightgbm as lgb

        try:
            self.booster = lgb.Booster(model_str=text)
        except lgb.basic.LightGBMError as error:
            raise ModelRefused(f"not a valid LightGBM model: {error}") from None
        self._refuse_text("a LightGBM booster takes a numeric matrix")
        width = self.booster.num_feature()
        if width != len(inputs):
            raise ValueError(f"the booster expects {width} features; the signature has {len(inputs)} inputs")
        header = _booster_header(text)
        objective = header.get("objective", "regression").split()[0]
        classes = int(header.get("num_class", "1"))
        if objective in _BOOSTER_BINARY:
            classes = 2
        classifier = objective in _BOOSTER_BINARY | _BOOSTER_MULTICLASS
        if not self.classification:
            if classifier:
                raise ValueError(f"the booster's objective is {objective}; the signature says regression")
            return
        assert class_order is not None
        if not classifier:
            raise ValueError(f"the booster's objective is {objective}, not a classifier's")
        if classes != len(class_order):
            raise ValueError(f"the booster predicts {classes} classes; class_order names {len(class_order)}")

    def run(self, columns: Columns, threads: int) -> np.ndarray:
        """See ``Runner.run``."""
        X = self._numeric_matrix(columns)
        raw = np.asarray(self.booster.predict(X, num_threads=threads), dtype=np.float64)
        if self.classification and raw.ndim == 1:
            return np.column_stack([1.0 - raw, raw])
        return raw

    def tree_contributions(self, columns: Columns, predicted: np.ndarray | None) -> np.ndarray | None:
        """See ``Runner.tree_contributions``: LightGBM's own ``pred_contrib``."""
        return booster_contributions(self.booster, self._numeric_matrix(columns), predicted)


def booster_contributions(booster: Any, X: np.ndarray, predicted: np.ndarray | None) -> np.ndarray:
    """A booster's exact SHAP values ``(rows, features)`` for each row's class ``predicted`` (binary:
    its log-odds of class 1, flipped for class 0), or for its value."""
    raw = np.asarray(booster.predict(X, pred_contrib=True, num_threads=SERVING_THREADS), dtype=np.float64)
    k = X.shape[1]
    outputs = raw.shape[1] // (k + 1)
    # (rows, outputs * (features + 1)): each output's block ends with its bias column
    values = raw.reshape(len(X), outputs, k + 1)[:, :, :k].transpose(0, 2, 1)
    if predicted is None:
        return values[:, :, 0]
    return _pick_class(values if outputs > 1 else values[:, :, 0], np.asarray(predicted))


def _booster_header(text: str) -> dict[str, str]:
    """The key=value lines before the first tree (objective, num_class, ...)."""
    fields: dict[str, str] = {}
    for line in text.split("\n", 200)[:200]:
        if line.startswith("Tree="):
            break
        key, sep, value = line.partition("=")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields
