"""Surrogates: fitted to an external model's answers, faithful on held-out rows, deterministic for a seed,
stored as booster text plus metadata, and explaining the model by tree SHAP with their fidelity."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression

from raylake.core.vocabulary import ExplainMethod, ModelFormat
from raylake.ml.external import ExternalModel, load_external
from raylake.ml.surrogate import Surrogate, fit_surrogate
from tests.ml.test_external import BINARY, MIXED, REGRESSION, mixed_pipeline, numeric_data, onnx_file, rows_of


def as_frame(X: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({f"x{i}": X[:, i] for i in range(X.shape[1])})


@pytest.fixture(scope="module")
def forest(tmp_path_factory) -> tuple[ExternalModel, np.ndarray]:
    """A random forest exported to ONNX: no tree SHAP reaches it there, so a surrogate explains it."""
    X, y = numeric_data(600)
    estimator = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0).fit(X, y)
    path = onnx_file(tmp_path_factory.mktemp("forest") / "rf.onnx", estimator, X, options={"zipmap": False})
    return load_external(path, ModelFormat.ONNX, BINARY), X


def test_a_surrogate_of_a_forest_agrees_with_it_and_explains_it(forest):
    model, X = forest
    surrogate = fit_surrogate(model, as_frame(X).with_columns(extra=pl.lit("ignored")), seed=0)
    assert surrogate.metric == "agreement" and surrogate.fidelity > 0.9
    assert surrogate.rows == 480  # 600 less the 20% held out
    model.surrogate = surrogate
    try:
        results = model.predict(rows_of(X[:3]), explain=True)
    finally:
        model.surrogate = None
    for result in results:
        assert result["explanation_method"] == ExplainMethod.SURROGATE_TREE_SHAP
        assert result["explanation_fidelity"] == surrogate.fidelity
        assert max(result["explanation"], key=lambda c: abs(result["explanation"][c])) in {"x0", "x1"}


def test_a_surrogate_is_deterministic_for_a_seed_and_survives_storage(forest):
    model, X = forest
    first = fit_surrogate(model, as_frame(X), seed=3, threads=1)
    again = fit_surrogate(model, as_frame(X), seed=3, threads=1)
    assert first.to_text() == again.to_text() and first.fidelity == again.fidelity

    loaded = Surrogate.load(first.to_text(), json.loads(json.dumps(first.meta())))
    np.testing.assert_array_equal(loaded.booster.predict(X[:50]), first.booster.predict(X[:50]))
    assert (loaded.fidelity, loaded.metric, loaded.rows) == (first.fidelity, first.metric, first.rows)


def test_a_regressor_surrogate_reports_r2(tmp_path):
    X, _ = numeric_data(400)
    estimator = LinearRegression().fit(X, 2 * X[:, 0] - X[:, 3])
    model = load_external(onnx_file(tmp_path / "ols.onnx", estimator, X), ModelFormat.ONNX, REGRESSION)
    surrogate = fit_surrogate(model, as_frame(X), seed=0)
    assert surrogate.metric == "r2" and surrogate.fidelity > 0.9


def test_text_inputs_keep_their_codes_through_storage(tmp_path):
    import skops.io

    pipeline, frame = mixed_pipeline()
    skops.io.dump(pipeline, tmp_path / "p.skops")
    model = load_external(tmp_path / "p.skops", ModelFormat.SKOPS, MIXED)
    surrogate = fit_surrogate(model, pl.from_pandas(frame), seed=0)
    assert set(surrogate.categories["c"]) == {"x", "y", "z"}
    fresh = load_external(tmp_path / "p.skops", ModelFormat.SKOPS, MIXED)  # a replica loading the version
    fresh.surrogate = Surrogate.load(surrogate.to_text(), json.loads(json.dumps(surrogate.meta())))
    model.surrogate = surrogate
    rows = frame[["a", "b", "c"]].head(5).to_dict("records")
    expected = model.predict(rows, explain=True)
    assert fresh.predict(rows, explain=True) == expected
    assert {r["explanation_method"] for r in expected} == {ExplainMethod.SURROGATE_TREE_SHAP}


def test_missing_inputs_and_foreign_surrogates_are_refused(forest, tmp_path):
    model, X = forest
    with pytest.raises(ValueError, match="lacks the model's inputs: x3"):
        fit_surrogate(model, as_frame(X[:, :3]))
    other = load_external(
        onnx_file(tmp_path / "ols.onnx", LinearRegression().fit(X, X[:, 0]), X), ModelFormat.ONNX, REGRESSION
    )
    with pytest.raises(ValueError, match="another task"):
        model.surrogate = fit_surrogate(other, as_frame(X[:100]), seed=0)
