"""ONNX models on onnxruntime: typed columns fed as one matrix or one input per column; probabilities
(a tensor or ZipMap's list of dicts, mapped to class_order by label where the graph names its classes)
or a regressor's value out."""

from __future__ import annotations

from typing import Any

import numpy as np

from raylake.core.vocabulary import ModelFormat, Task
from raylake.ml.external_inputs import TEXT_TYPES, Columns, Inputs
from raylake.ml.external_runners import Runner, label_order
from raylake.ml.model_files import ModelRefused
from raylake.ml.serving import SERVING_THREADS

_ELEMENTS: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}
_FLOATS = frozenset({"tensor(float)", "tensor(double)", "tensor(float16)"})


class OnnxRunner(Runner):
    """An ONNX graph on onnxruntime's CPU provider: one single-threaded session for real-time calls and,
    on first need, one with every core for batches."""

    format = ModelFormat.ONNX

    def __init__(self, data: bytes, inputs: Inputs, task: Task, class_order: list[str] | None) -> None:
        super().__init__(inputs, task, class_order)
        import onnx

        try:
            model = onnx.load_model_from_string(data)
            onnx.checker.check_model(model)
            self._data = data
            self._sessions = {SERVING_THREADS: self._session(SERVING_THREADS)}
        except Exception as error:  # protobuf, checker and runtime errors have no common base
            raise ModelRefused(f"not a valid ONNX model: {error}") from None
        session = self._sessions[SERVING_THREADS]
        self._plan_inputs(session.get_inputs())
        self._plan_output(session.get_outputs())
        labels = _graph_labels(model)
        self._order: list[int] | None = None
        if self.classification and labels is not None:
            assert class_order is not None
            self._order = label_order(labels, class_order)

    def _session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # shape warnings about declared [1] label outputs are noise
        return ort.InferenceSession(self._data, sess_options=options, providers=["CPUExecutionProvider"])

    def _plan_inputs(self, model_inputs: list[Any]) -> None:
        """One input per signature column (by name), or one [rows, features] matrix in signature order."""
        names = [name for name, _ in self.inputs]
        given = [i.name for i in model_inputs]
        self._matrix: tuple[str, Any] | None = None
        self._per_column: list[tuple[str, int, Any, int]] = []
        if len(model_inputs) == len(names) and set(given) == set(names):
            kinds = dict(self.inputs)
            for item in model_inputs:
                dtype = _element(item)
                text_tensor, text_column = dtype is np.object_, kinds[item.name] in TEXT_TYPES
                if text_tensor != text_column or (dtype is np.bool_ and kinds[item.name] != "Boolean"):
                    raise ValueError(
                        f"the model's input {item.name!r} is {item.type}; the signature says "
                        f"{kinds[item.name]}"
                    )
                self._per_column.append((item.name, names.index(item.name), dtype, len(item.shape)))
            return
        if len(model_inputs) != 1:
            raise ValueError(
                f"the model's inputs are {given}; the signature's are {names}: name one model input per "
                "column, or give the model one [rows, features] matrix"
            )
        item = model_inputs[0]
        dtype = _element(item)
        if len(item.shape) != 2 or dtype is np.object_:
            raise ValueError(f"the model's one input {item.name!r} is {item.type}{item.shape}, not a matrix")
        width = item.shape[1]
        if isinstance(width, int) and width != len(names):
            raise ValueError(f"the model expects {width} features; the signature has {len(names)} inputs")
        self._refuse_text(f"the model takes one {item.type} matrix")
        self._matrix = (item.name, dtype)

    def _plan_output(self, outputs: list[Any]) -> None:
        """The probabilities output (a tensor or ZipMap's list of dicts) or the regressor's value output."""
        described = ", ".join(f"{o.name}: {o.type}{o.shape}" for o in outputs)
        maps = [o for o in outputs if o.type.startswith("seq(map(")]
        tables = [o for o in outputs if o.type in _FLOATS and len(o.shape) == 2]
        if self.classification:
            n = len(self.class_order or [])
            named = [o for o in tables + maps if "prob" in o.name.lower()]
            wide = [o for o in tables if o.shape[1] == n]
            chosen = (named or maps or wide or [None])[0]
            if chosen is None:
                raise ValueError(f"the model gives no class probabilities (outputs: {described})")
            if chosen in tables and isinstance(chosen.shape[1], int) and chosen.shape[1] != n:
                raise ValueError(
                    f"the model gives {chosen.shape[1]} probabilities per row; class_order names {n}"
                )
            self._output, self._zipmap = chosen.name, chosen in maps
            return
        if maps or any("prob" in o.name.lower() for o in outputs):
            raise ValueError(
                f"the model is a classifier (outputs: {described}); the signature says regression"
            )
        floats = [o for o in outputs if o.type in _FLOATS]
        if not floats:
            raise ValueError(f"the model gives no numeric output (outputs: {described})")
        self._output = next((o.name for o in floats if o.name == "variable"), floats[0].name)
        self._zipmap = False

    def _feeds(self, columns: Columns) -> dict[str, np.ndarray]:
        if self._matrix is not None:
            name, dtype = self._matrix
            return {name: _cast(self._numeric_matrix(columns), dtype, name)}
        feeds = {}
        for name, index, dtype, rank in self._per_column:
            column = columns[index] if dtype is np.object_ else _cast(columns[index], dtype, name)
            feeds[name] = column.reshape(-1, 1) if rank == 2 else column
        return feeds

    def run(self, columns: Columns, threads: int) -> np.ndarray:
        """See ``Runner.run``."""
        session = self._sessions.get(threads)
        if session is None:
            session = self._sessions.setdefault(threads, self._session(threads))
        out = session.run([self._output], self._feeds(columns))[0]
        n = len(columns[0])
        if not self.classification:
            values = np.asarray(out, dtype=np.float64)
            if values.size != n:
                raise ValueError(f"the model gives {values.size} values for {n} rows; a regressor gives one")
            return values.reshape(n)
        assert self.class_order is not None
        if self._zipmap:
            keys = list(out[0]) if out else []
            proba = np.array([[row[k] for k in keys] for row in out], dtype=np.float64).reshape(n, len(keys))
            return proba[:, label_order(keys, self.class_order)]
        proba = np.asarray(out, dtype=np.float64)
        if proba.ndim != 2 or proba.shape != (n, len(self.class_order)):
            raise ValueError(
                f"the model gives probabilities of shape {proba.shape} for {n} rows; class_order names "
                f"{len(self.class_order)} classes"
            )
        return proba[:, self._order] if self._order is not None else proba


def _element(item: Any) -> Any:
    dtype = _ELEMENTS.get(item.type)
    if dtype is None:
        raise ValueError(f"the model's input {item.name!r} is {item.type}, which raylake cannot feed")
    return dtype


def _cast(values: np.ndarray, dtype: Any, name: str) -> np.ndarray:
    if np.issubdtype(dtype, np.integer) and np.isnan(values.astype(np.float64)).any():
        raise ValueError(f"input {name!r} takes integers: a value is missing")
    return values.astype(dtype)


def _graph_labels(model: Any) -> list[Any] | None:
    """The class labels the graph's classifier (or ZipMap) nodes name, when they all agree."""
    found: set[tuple[Any, ...]] = set()
    for node in model.graph.node:
        if node.domain != "ai.onnx.ml" or not (
            node.op_type == "ZipMap" or node.op_type.endswith("Classifier")
        ):
            continue
        for attribute in node.attribute:
            if attribute.name == "classlabels_strings":
                found.add(tuple(s.decode() for s in attribute.strings))
            elif attribute.name in ("classlabels_int64s", "classlabels_ints"):
                found.add(tuple(attribute.ints))
    return list(found.pop()) if len(found) == 1 else None
