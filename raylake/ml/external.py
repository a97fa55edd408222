"""Models trained elsewhere and uploaded: loaded safely, checked against their signature, served and
explained like raylake's own.

A pickle (or joblib) file is stored but never loaded: loading one runs its code. ONNX runs on onnxruntime,
skops files load only scikit-learn, numpy, scipy and LightGBM classes, LightGBM's text format loads as a
booster. ``load_external`` proves the signature with a probe prediction before the model is accepted, so
registration refuses a wrong one (422) before any call.

Explanations name their method: exact tree SHAP for tree models SHAP reads directly, tree SHAP on a
fitted surrogate (with its fidelity) when one is attached, else KernelSHAP sampled to a time budget.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from raylake.core.vocabulary import ExplainMethod, ModelFormat, Task
from raylake.ml import external_inputs as inputs_
from raylake.ml.external_inputs import Categories, Columns
from raylake.ml.external_onnx import OnnxRunner
from raylake.ml.external_runners import BoosterRunner, Runner, SkopsRunner, booster_contributions
from raylake.ml.model_files import ModelRefused, detect_format
from raylake.ml.serving import SERVING_THREADS

if TYPE_CHECKING:
    from raylake.ml.surrogate import Surrogate

__all__ = ["ExternalModel", "ModelRefused", "Signature", "detect_format", "load_external"]

PICKLE_REFUSAL = (
    "pickle/joblib files are stored but never loaded: loading one runs its code. Export the model to ONNX "
    "(skl2onnx, onnxmltools) or skops (skops.io.dump) and upload that"
)
UNKNOWN_REFUSAL = (
    "raylake cannot tell what this file is. It loads ONNX models, skops files (skops.io.dump) and "
    "LightGBM's text model (Booster.save_model)"
)
# KernelSHAP never samples more coalitions than shap's own default would for a handful of inputs.
KERNEL_MAX_SAMPLES = 2048


@dataclass(frozen=True)
class Signature:
    inputs: list[tuple[str, str]]
    task: Task
    class_order: list[str] | None = None
    outputs: list[str] = field(default_factory=lambda: ["prediction"])

    @property
    def names(self) -> list[str]:
        """The input column names, in the model's order."""
        return [name for name, _ in self.inputs]

    def check(self) -> None:
        """ValueError when the signature itself cannot describe a servable model."""
        if not self.inputs:
            raise ValueError("the signature names no inputs")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"the signature names an input twice: {self.names}")
        odd = [f"{name} ({kind})" for name, kind in self.inputs if kind not in inputs_.INPUT_TYPES]
        if odd:
            raise ValueError(f"inputs of unknown type: {', '.join(odd)}")
        if self.task is Task.FORECASTING:
            raise ValueError("external forecasting models are not supported: register a tabular task")
        if self.task is Task.REGRESSION:
            if self.class_order:
                raise ValueError("class_order is for classifiers; the task is regression")
            return
        labels = self.class_order or []
        if len(set(labels)) != len(labels):
            raise ValueError(f"class_order names a label twice: {labels}")
        if self.task is Task.BINARY_CLASSIFICATION and len(labels) != 2:
            raise ValueError(f"a binary classifier's class_order names 2 labels, not {len(labels)}")
        if len(labels) < 2:
            raise ValueError(f"a classifier's class_order names 2 or more labels, not {len(labels)}")


def load_external(path: Path, fmt: ModelFormat, signature: Signature) -> ExternalModel:
    """The model in ``path``, loaded without running any code of the file's and proven against the
    signature; ModelRefused for a file raylake will not load, ValueError for a signature that does not fit."""
    signature.check()
    args = (signature.inputs, signature.task, signature.class_order)
    runner: Runner
    if fmt is ModelFormat.PICKLE:
        raise ModelRefused(PICKLE_REFUSAL)
    if fmt is ModelFormat.ONNX:
        runner = OnnxRunner(Path(path).read_bytes(), *args)
    elif fmt is ModelFormat.SKOPS:
        runner = SkopsRunner(Path(path), *args)
    elif fmt is ModelFormat.LIGHTGBM:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ModelRefused("not a valid LightGBM model: the file is not text") from None
        runner = BoosterRunner(text, *args)
    else:
        raise ModelRefused(UNKNOWN_REFUSAL)
    model = ExternalModel(runner, signature)
    model.probe()
    return model


class ExternalModel:
    """An uploaded model behind ``ServedModel``'s interface: typed rows in, labels or values out."""

    def __init__(self, runner: Runner, signature: Signature) -> None:
        self.runner = runner
        self.format: ModelFormat = runner.format
        self.signature = signature
        self.categories: Categories = {}  # text column -> codes for encode (learnt by fit_surrogate)
        self.background: np.ndarray | None = None  # encoded reference rows for KernelSHAP
        self._surrogate: Surrogate | None = None
        self._sample_seconds: float | None = None  # KernelSHAP's measured cost per sample and row

    @property
    def classification(self) -> bool:
        """Whether the model predicts classes."""
        return self.signature.task is not Task.REGRESSION

    @property
    def surrogate(self) -> Surrogate | None:
        """The tree model fitted to this model's answers, explaining it when it is no tree model."""
        return self._surrogate

    @surrogate.setter
    def surrogate(self, value: Surrogate | None) -> None:
        """Attach a surrogate, refusing one fit on other inputs, or for another task or class order."""
        if value is not None:
            if value.inputs and value.inputs != self.signature.names:
                raise ValueError(
                    f"the surrogate was fit on {value.inputs}; the model takes {self.signature.names}"
                )
            if value.task is not self.signature.task or value.class_order != self.signature.class_order:
                raise ValueError("the surrogate was fit for another task or class order")
        self._surrogate = value

    def probe(self) -> None:
        """Predict one all-defaults row and a batch of two, proving the signature fits the model."""
        for n in (1, 2):
            columns = inputs_.from_rows(self.signature.inputs, inputs_.defaults(self.signature.inputs, n))
            try:
                output = self.runner.run(columns, SERVING_THREADS)
            except ModelRefused:
                raise
            except Exception as error:  # onnxruntime, scikit-learn and LightGBM raise their own kinds
                raise ValueError(
                    f"the model cannot predict a row of the signature's inputs: {error}"
                ) from None
            width = len(self.signature.class_order or [])
            expected = (n, width) if self.classification else (n,)
            if output.shape != expected:
                raise ValueError(
                    f"the model answered {output.shape} for {n} rows; the signature expects {expected}"
                )

    def predict(
        self, rows: Sequence[Mapping[str, Any]], *, explain: bool = False, explain_budget_s: float = 2.0
    ) -> list[dict[str, Any]]:
        """One result per row: ``prediction`` and ``probabilities`` (classification) and, asked for,
        ``explanation`` (contribution per input for the predicted class) and ``explanation_method``."""
        if not rows:
            return []
        columns = inputs_.from_rows(self.signature.inputs, rows)
        output = self.runner.run(columns, SERVING_THREADS)
        results = self._results(output)
        if explain:
            self._explain(columns, output, results, explain_budget_s)
        return results

    def predict_frame(self, frame: pl.DataFrame) -> list[dict[str, Any]]:
        """``predict`` for many rows at once, on every core, without explanations."""
        return self._results(self.predict_array(frame)) if frame.height else []

    def predict_array(self, frame: pl.DataFrame, *, threads: int = 0) -> np.ndarray:
        """Probabilities (rows x class_order) for a classifier, values for a regressor; ValueError naming
        inputs the frame lacks."""
        return self.runner.run(inputs_.from_frame(self.signature.inputs, frame), threads)

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The inputs as a float64 matrix in signature order: numbers, booleans 0/1, text as its code in
        ``categories`` (unseen: NaN)."""
        return inputs_.encode(
            self.signature.inputs, inputs_.from_rows(self.signature.inputs, rows), self.categories
        )

    def background_from(self, frame: pl.DataFrame) -> np.ndarray:
        """One typical row of ``frame`` (medians, commonest values), encoded: a KernelSHAP background
        (learns its text values into ``categories``)."""
        inputs = self.signature.inputs
        row = [inputs_.summary_row(inputs, inputs_.from_frame(inputs, frame))]
        columns = inputs_.from_rows(inputs, row)
        self.categories = inputs_.extended(inputs, self.categories, columns)
        return inputs_.encode(inputs, columns, self.categories)

    def _results(self, output: np.ndarray) -> list[dict[str, Any]]:
        if not self.classification:
            return [{"prediction": value, "probabilities": None} for value in output.tolist()]
        labels = self.signature.class_order
        assert labels is not None
        best = np.argmax(output, axis=1).tolist()
        return [
            {"prediction": labels[i], "probabilities": dict(zip(labels, row, strict=True))}
            for i, row in zip(best, output.tolist(), strict=True)
        ]

    # ---------------------------------------------------------------------------------- explanations

    def _explain(
        self, columns: Columns, output: np.ndarray, results: list[dict[str, Any]], budget: float
    ) -> None:
        predicted = np.argmax(output, axis=1) if self.classification else None
        fidelity: float | None = None
        values = self.runner.tree_contributions(columns, predicted)
        method = ExplainMethod.TREE_SHAP
        if values is None and self._surrogate is not None:
            surrogate = self._surrogate
            X = inputs_.encode(self.signature.inputs, columns, surrogate.categories)
            values = booster_contributions(surrogate.booster, X, predicted)
            method, fidelity = ExplainMethod.SURROGATE_TREE_SHAP, float(surrogate.fidelity)
        if values is None:
            values = self._kernel_values(columns, predicted, budget)
            method = ExplainMethod.KERNEL_SHAP
        names = self.signature.names
        for item, row in zip(results, values.tolist(), strict=True):
            item["explanation"] = dict(zip(names, row, strict=True))
            item["explanation_method"] = method
            if fidelity is not None:
                item["explanation_fidelity"] = fidelity

    def _kernel_values(self, columns: Columns, predicted: np.ndarray | None, budget: float) -> np.ndarray:
        """KernelSHAP against the background, sampled row by row so the whole fits ``budget`` seconds
        (never fewer than 2k+2 coalitions, the least that determines k contributions)."""
        import shap

        inputs = self.signature.inputs
        default = inputs_.from_rows(inputs, inputs_.defaults(inputs))
        categories = inputs_.extended(inputs, self.categories, columns, default)
        X = inputs_.encode(inputs, columns, categories)
        background = self._background(default, categories)

        def model(Z: np.ndarray) -> np.ndarray:
            """The model's answers for KernelSHAP's encoded coalition rows."""
            return self.runner.run(inputs_.decode(inputs, Z, categories), SERVING_THREADS)

        k = len(inputs)
        least, most = 2 * k + 2, KERNEL_MAX_SAMPLES if k >= 30 else min(KERNEL_MAX_SAMPLES, 2**k - 2)
        if self._sample_seconds is None:
            probe = np.repeat(background, least, axis=0)
            start = perf_counter()
            model(probe)
            # shap's own bookkeeping costs about as much again as the model
            self._sample_seconds = 2 * (perf_counter() - start) / least
        rows = []
        started = perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            explainer = shap.KernelExplainer(model, background)
            for i in range(len(X)):
                left = max(budget - (perf_counter() - started), 0.0) / (len(X) - i)
                samples = max(least, min(most, int(left / self._sample_seconds)))
                start = perf_counter()
                value = explainer.shap_values(X[i : i + 1], nsamples=samples, silent=True, l1_reg=False)
                self._sample_seconds = (perf_counter() - start) / max(min(samples, most), 1)
                value = np.asarray(value, dtype=np.float64)[0]  # (inputs,) or (inputs, classes)
                rows.append(value[:, predicted[i]] if predicted is not None else value)
        return np.asarray(rows, dtype=np.float64)

    def _background(self, default: Columns, categories: Categories) -> np.ndarray:
        """The reference rows: ``background`` when set (encoded with ``categories``' codes, which the
        extended list keeps), else the all-defaults row."""
        if self.background is None:
            return inputs_.encode(self.signature.inputs, default, categories)
        background = np.atleast_2d(np.asarray(self.background, dtype=np.float64))
        if background.shape[1] != len(self.signature.inputs):
            raise ValueError(
                f"background has {background.shape[1]} columns; the model takes {len(self.signature.inputs)}"
            )
        return background
