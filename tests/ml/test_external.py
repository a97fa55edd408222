"""External models: formats told from bytes, pickles never loaded, skops held to trusted types, signatures
proven by a probe, predictions equal to the source model's, explanations named by their method."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl
import pytest
import skops.io
from skl2onnx import convert_sklearn, to_onnx
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.datasets import dump_svmlight_file
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from raylake.core.vocabulary import ExplainMethod, ModelFormat, Task
from raylake.ml.external import ExternalModel, ModelRefused, Signature, detect_format, load_external

NUMERIC = [(f"x{i}", "Float") for i in range(4)]
BINARY = Signature(NUMERIC, Task.BINARY_CLASSIFICATION, ["no", "yes"])
REGRESSION = Signature(NUMERIC, Task.REGRESSION)


def numeric_data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four features; the label is "yes" when the first two sum above zero."""
    X = np.random.default_rng(seed).normal(size=(n, 4))
    return X, np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")


def mixed_data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A number, an integer and a text column; ``y`` depends on the number and the text."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.integers(0, 10, n), "c": rng.choice(["x", "y", "z"], n)}
    )
    frame["y"] = np.where((frame.a > 0) | (frame.c == "x"), "yes", "no")
    return frame


MIXED = Signature(
    [("a", "Float"), ("b", "Integer"), ("c", "String")], Task.BINARY_CLASSIFICATION, ["no", "yes"]
)


def rows_of(X: np.ndarray) -> list[dict[str, float]]:
    return [{f"x{i}": float(v) for i, v in enumerate(row)} for row in X]


def probabilities(results: list[dict], labels: list[str]) -> np.ndarray:
    return np.array([[r["probabilities"][label] for label in labels] for r in results])


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def onnx_file(path: Path, estimator, X: np.ndarray, **options) -> Path:
    return write(path, to_onnx(estimator, X[:1].astype(np.float32), **options).SerializeToString())


def booster(objective: str, seed: int = 0) -> tuple[lgb.Booster, np.ndarray]:
    X, y = numeric_data(seed=seed)
    target = (y == "yes").astype(int) if objective == "binary" else X[:, 0] * 3 + X[:, 2]
    params = {"objective": objective, "verbose": -1, "num_threads": 1}
    return lgb.train(params, lgb.Dataset(X, target), num_boost_round=20), X


def mixed_pipeline() -> tuple[Pipeline, pd.DataFrame]:
    frame = mixed_data()
    columns = ColumnTransformer(
        [("num", StandardScaler(), ["a", "b"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"])]
    )
    pipeline = Pipeline([("columns", columns), ("model", LogisticRegression())])
    return pipeline.fit(frame[["a", "b", "c"]], frame.y), frame


class Canary:
    """Unpickling this creates the file at ``path``: proof that nothing unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


class HomeMadeScaler(StandardScaler):
    """A class skops does not know and raylake must not trust."""


# ---------------------------------------------------------------------------------------- formats


def _skops(path: Path) -> None:
    skops.io.dump(mixed_pipeline()[0], path)


def _booster_text(path: Path) -> None:
    booster("binary")[0].save_model(str(path))


def _onnx(path: Path) -> None:
    X, y = numeric_data(60)
    onnx_file(path, LogisticRegression().fit(X, y), X)


def _joblib(compress):
    def dump(path: Path) -> None:
        X, y = numeric_data(60)
        joblib.dump(LogisticRegression().fit(X, y), path, compress=compress)

    return dump


def _pickle(protocol: int):
    def dump(path: Path) -> None:
        X, y = numeric_data(60)
        path.write_bytes(pickle.dumps(LogisticRegression().fit(X, y), protocol=protocol))

    return dump


@pytest.mark.parametrize(
    ("writer", "expected"),
    [
        (_onnx, ModelFormat.ONNX),
        (_booster_text, ModelFormat.LIGHTGBM),
        (_skops, ModelFormat.SKOPS),
        (_pickle(5), ModelFormat.PICKLE),
        (_pickle(2), ModelFormat.PICKLE),
        (_pickle(0), ModelFormat.PICKLE),  # text protocol: told from its opcodes
        (_joblib(0), ModelFormat.PICKLE),
        (_joblib(("zlib", 3)), ModelFormat.PICKLE),
        (_joblib(("gzip", 3)), ModelFormat.PICKLE),
        (_joblib(("xz", 3)), ModelFormat.PICKLE),
        (_joblib(("bz2", 3)), ModelFormat.PICKLE),
        (_joblib(("lzma", 3)), ModelFormat.PICKLE),
        (lambda path: path.write_bytes(np.random.default_rng(0).bytes(2000)), ModelFormat.UNKNOWN),
        (lambda path: path.write_text("name,score\nada,1\n" * 20), ModelFormat.UNKNOWN),
    ],
)
def test_format_is_told_from_the_bytes_not_the_name(tmp_path, writer, expected):
    path = tmp_path / "model.onnx"  # every file bears the same misleading name
    writer(path)
    assert detect_format(path) is expected


def test_a_pickle_is_never_loaded_whatever_it_is_called(tmp_path):
    canary = tmp_path / "canary"
    path = write(tmp_path / "model.onnx", pickle.dumps(Canary(canary)))
    assert detect_format(path) is ModelFormat.PICKLE
    with pytest.raises(ModelRefused, match="never loaded"):
        load_external(path, ModelFormat.PICKLE, BINARY)
    for claimed in (ModelFormat.ONNX, ModelFormat.SKOPS, ModelFormat.LIGHTGBM, ModelFormat.UNKNOWN):
        with pytest.raises(ModelRefused):
            load_external(path, claimed, BINARY)
    assert not canary.exists()


@pytest.mark.parametrize(
    ("step", "named"),
    [
        (HomeMadeScaler(), "HomeMadeScaler"),
        # scikit-learn's own functions are not trusted wholesale: this one writes files when called
        (FunctionTransformer(), "dump_svmlight_file"),
    ],
)
def test_skops_with_untrusted_types_is_refused_naming_them(tmp_path, step, named):
    X, y = numeric_data(60)
    path = tmp_path / "model.skops"
    pipeline = Pipeline([("step", step), ("model", LogisticRegression())]).fit(X, y)
    if isinstance(step, FunctionTransformer):
        pipeline.set_params(step__func=dump_svmlight_file)  # after fitting: it would run at predict
    skops.io.dump(pipeline, path)
    with pytest.raises(ModelRefused, match=named):
        load_external(path, ModelFormat.SKOPS, BINARY)


@pytest.mark.parametrize("fmt", [ModelFormat.ONNX, ModelFormat.LIGHTGBM, ModelFormat.SKOPS])
def test_a_file_that_is_not_its_format_is_refused(tmp_path, fmt):
    path = write(tmp_path / "model", b"\x08\x07 certainly not a model " * 10)
    with pytest.raises(ModelRefused, match=r"not a (valid|readable)"):
        load_external(path, fmt, BINARY)


# ------------------------------------------------------------------------------------- signatures


def test_signatures_that_do_not_fit_the_model_are_refused(tmp_path):
    X, y = numeric_data()
    classifier = onnx_file(tmp_path / "lr.onnx", LogisticRegression().fit(X, y), X)
    regressor = onnx_file(tmp_path / "ols.onnx", LinearRegression().fit(X, X[:, 0]), X)
    with pytest.raises(ValueError, match="expects 4 features; the signature has 3"):
        load_external(
            classifier, ModelFormat.ONNX, Signature(NUMERIC[:3], Task.BINARY_CLASSIFICATION, ["no", "yes"])
        )
    three = Signature(NUMERIC, Task.MULTICLASS_CLASSIFICATION, ["no", "yes", "maybe"])
    with pytest.raises(ValueError, match="classes are"):
        load_external(classifier, ModelFormat.ONNX, three)
    with pytest.raises(ValueError, match="no class probabilities"):
        load_external(regressor, ModelFormat.ONNX, BINARY)
    with pytest.raises(ValueError, match="is a classifier"):
        load_external(classifier, ModelFormat.ONNX, REGRESSION)
    with pytest.raises(ValueError, match="forecasting"):
        load_external(classifier, ModelFormat.ONNX, Signature(NUMERIC, Task.FORECASTING))

    text = tmp_path / "booster.txt"
    booster("binary")[0].save_model(str(text))
    with pytest.raises(ValueError, match="booster predicts 2 classes; class_order names 3"):
        load_external(text, ModelFormat.LIGHTGBM, three)
    with_text = Signature([*NUMERIC[:3], ("x3", "String")], Task.BINARY_CLASSIFICATION, ["no", "yes"])
    with pytest.raises(ValueError, match=r"text inputs x3 \(String\)"):
        load_external(text, ModelFormat.LIGHTGBM, with_text)


# ------------------------------------------------------------------------------------ predictions


@pytest.mark.parametrize(
    ("estimator", "options"),
    [
        (LogisticRegression(), {}),  # ZipMap output: a list of {label: p}
        (RandomForestClassifier(n_estimators=20, random_state=0), {"options": {"zipmap": False}}),
    ],
)
def test_onnx_classifiers_answer_like_the_source_model(tmp_path, estimator, options):
    X, y = numeric_data()
    estimator.fit(X, y)
    model = load_external(onnx_file(tmp_path / "m.onnx", estimator, X, **options), ModelFormat.ONNX, BINARY)
    assert model.classification and model.format is ModelFormat.ONNX
    results = model.predict(rows_of(X[:20]))
    np.testing.assert_allclose(
        probabilities(results, ["no", "yes"]), estimator.predict_proba(X[:20]), atol=1e-5
    )
    assert [r["prediction"] for r in results] == list(estimator.predict(X[:20]))
    frame = pl.DataFrame({f"x{i}": X[:20, i] for i in range(4)})
    assert [r["prediction"] for r in model.predict_frame(frame)] == [r["prediction"] for r in results]


def test_class_order_maps_by_label_when_the_model_names_its_classes(tmp_path):
    X, y = numeric_data()
    estimator = LogisticRegression().fit(X, y)
    reversed_order = Signature(NUMERIC, Task.BINARY_CLASSIFICATION, ["yes", "no"])
    model = load_external(onnx_file(tmp_path / "m.onnx", estimator, X), ModelFormat.ONNX, reversed_order)
    results = model.predict(rows_of(X[:5]))
    np.testing.assert_allclose(
        probabilities(results, ["no", "yes"]), estimator.predict_proba(X[:5]), atol=1e-5
    )


def test_a_skops_pipeline_with_a_text_column_answers_like_the_original(tmp_path):
    pipeline, frame = mixed_pipeline()
    path = tmp_path / "pipeline.skops"
    skops.io.dump(pipeline, path)
    model = load_external(path, detect_format(path), MIXED)
    rows = frame[["a", "b", "c"]].head(20).to_dict("records")
    results = model.predict(rows)
    np.testing.assert_allclose(
        probabilities(results, ["no", "yes"]), pipeline.predict_proba(frame.head(20)[["a", "b", "c"]])
    )
    assert [r["prediction"] for r in results] == list(pipeline.predict(frame.head(20)[["a", "b", "c"]]))


def test_an_onnx_pipeline_with_one_input_per_column_takes_text(tmp_path):
    pipeline, frame = mixed_pipeline()
    inputs = [
        ("a", FloatTensorType([None, 1])),
        ("b", Int64TensorType([None, 1])),
        ("c", StringTensorType([None, 1])),
    ]
    onx = convert_sklearn(
        pipeline, initial_types=inputs, options={id(pipeline.steps[-1][1]): {"zipmap": False}}
    )
    model = load_external(write(tmp_path / "p.onnx", onx.SerializeToString()), ModelFormat.ONNX, MIXED)
    head = frame[["a", "b", "c"]].head(20)
    results = model.predict(head.to_dict("records"))
    np.testing.assert_allclose(probabilities(results, ["no", "yes"]), pipeline.predict_proba(head), atol=1e-5)


@pytest.mark.parametrize("objective", ["binary", "regression"])
def test_a_lightgbm_booster_text_answers_like_the_booster(tmp_path, objective):
    trained, X = booster(objective)
    path = tmp_path / "booster.txt"
    trained.save_model(str(path))
    signature = BINARY if objective == "binary" else REGRESSION
    model = load_external(path, detect_format(path), signature)
    results = model.predict(rows_of(X[:20]))
    expected = trained.predict(X[:20])
    if objective == "binary":
        np.testing.assert_allclose([r["probabilities"]["yes"] for r in results], expected)
    else:
        np.testing.assert_allclose([r["prediction"] for r in results], expected)
        assert all(r["probabilities"] is None for r in results)


def test_an_onnxmltools_lightgbm_classifier_answers_like_the_source(tmp_path):
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType as MLFloat

    X, _ = numeric_data()
    y = np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])  # three classes, index-coded
    classifier = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y)
    onx = convert_lightgbm(classifier, initial_types=[("input", MLFloat([None, 4]))], zipmap=False)
    signature = Signature(NUMERIC, Task.MULTICLASS_CLASSIFICATION, ["low", "mid", "high"])
    model = load_external(write(tmp_path / "lgbm.onnx", onx.SerializeToString()), ModelFormat.ONNX, signature)
    results = model.predict(rows_of(X[:20]))
    np.testing.assert_allclose(
        probabilities(results, ["low", "mid", "high"]), classifier.predict_proba(X[:20]), atol=1e-5
    )


# ----------------------------------------------------------------------------------- explanations


def test_tree_models_are_explained_exactly(tmp_path):
    trained, X = booster("regression")
    path = tmp_path / "booster.txt"
    trained.save_model(str(path))
    model = load_external(path, ModelFormat.LIGHTGBM, REGRESSION)
    (result,) = model.predict(rows_of(X[:1]), explain=True)
    assert result["explanation_method"] == ExplainMethod.TREE_SHAP
    bias = trained.predict(X[:1], pred_contrib=True)[0, -1]
    assert sum(result["explanation"].values()) + bias == pytest.approx(result["prediction"])

    X, y = numeric_data()
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    skops.io.dump(forest, tmp_path / "forest.skops")
    model = load_external(tmp_path / "forest.skops", ModelFormat.SKOPS, BINARY)
    results = model.predict(rows_of(X[:3]), explain=True)
    assert {r["explanation_method"] for r in results} == {ExplainMethod.TREE_SHAP}
    assert all(set(r["explanation"]) == {"x0", "x1", "x2", "x3"} for r in results)
    # the predicted class's probability over the forest's mean: x0 and x1 carry it
    for r in results:
        assert max(r["explanation"], key=lambda c: abs(r["explanation"][c])) in {"x0", "x1"}


def test_other_models_are_explained_by_kernel_shap_summing_to_the_change(tmp_path):
    X, y = numeric_data()
    estimator = LogisticRegression().fit(X, y)
    model = load_external(onnx_file(tmp_path / "lr.onnx", estimator, X), ModelFormat.ONNX, BINARY)
    results = model.predict(rows_of(X[:3]), explain=True)
    baseline = estimator.predict_proba(np.zeros((1, 4)))[0]  # the all-defaults background row
    for row, result in zip(X[:3], results, strict=True):
        assert result["explanation_method"] == ExplainMethod.KERNEL_SHAP
        assert "explanation_fidelity" not in result
        chosen = ["no", "yes"].index(result["prediction"])
        change = estimator.predict_proba(row[None])[0, chosen] - baseline[chosen]
        assert sum(result["explanation"].values()) == pytest.approx(change, abs=1e-4)


def test_kernel_shap_decodes_text_it_never_saw(tmp_path):
    pipeline, frame = mixed_pipeline()
    path = tmp_path / "pipeline.skops"
    skops.io.dump(pipeline, path)
    model = load_external(path, ModelFormat.SKOPS, MIXED)
    model.background = model.background_from(pl.from_pandas(frame))
    (result,) = model.predict([{"a": 1.5, "b": 3, "c": "never seen"}], explain=True)
    assert result["explanation_method"] == ExplainMethod.KERNEL_SHAP
    assert set(result["explanation"]) == {"a", "b", "c"}


def test_encode_turns_inputs_into_numbers_in_signature_order(tmp_path):
    pipeline, _ = mixed_pipeline()
    skops.io.dump(pipeline, tmp_path / "p.skops")
    model: ExternalModel = load_external(tmp_path / "p.skops", ModelFormat.SKOPS, MIXED)
    model.categories = {"c": ["x", "y"]}
    encoded = model.encode([{"a": 0.5, "b": 2, "c": "y"}, {"a": None, "b": 1, "c": "z"}])
    np.testing.assert_array_equal(encoded, [[0.5, 2.0, 1.0], [np.nan, 1.0, np.nan]])
