"""End-to-end training on small mixed-type frames: fixed algorithms, incremental runs, and auto (faked)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from raylake.ml import pipeline
from raylake.ml.algorithms import Model, TrainData
from raylake.ml.preprocess import Preprocessor
from tests.ml.frames import mixed_frame, mixed_roles


def run(frame: pl.DataFrame, target: str, algorithm: str, **kwargs) -> pipeline.PipelineResult:
    problem_type = "Regression" if target == "regression" else "Classification"
    return pipeline.run(frame, mixed_roles(target), problem_type=problem_type, algorithm=algorithm, **kwargs)


def test_classification_with_a_fixed_algorithm(tmp_path):
    frame = mixed_frame(500).with_columns(
        # a few unlabelled rows: dropped before the split
        pl.when(pl.col("customer_id") < 10).then(None).otherwise(pl.col("churn")).alias("churn")
    )
    stages: list[tuple[str, int]] = []
    result = run(
        frame, "binary", "lgbm", params={"learning_rate": 0.1}, progress=lambda s, p: stages.append((s, p))
    )

    assert result.algorithm == "LightGBM"
    assert result.rows == {"train": 342, "validation": 74, "test": 74}
    assert sum(result.rows.values()) == 490
    metrics = result.metrics
    assert metrics["model"] == "LightGBMClassifier"
    assert metrics["labels"] == ["false", "true"]
    assert metrics["accuracy"] > 0.75 and metrics["roc_auc"] > 0.8
    assert np.array(metrics["confusion_matrix"]).sum() == result.rows["test"]
    json.dumps(metrics)
    assert result.params["learning_rate"] == 0.1
    assert result.params["n_estimators"] < 500  # early stopping picked the rounds
    assert result.params == result.model.params
    [trial] = result.trials
    assert trial["algorithm"] == "LightGBM" and trial["status"] == "ok" and trial["score"] > 0.8
    json.dumps(result.trials)

    names = [stage for stage, _ in stages]
    assert names[0] == "preprocessing" and "training" in names and names[-1] == "evaluating"
    assert [p for _, p in stages] == sorted(p for _, p in stages)

    # what the inference service does: load both halves back and predict on raw rows
    manifest = result.model.save(tmp_path)
    pre = Preprocessor.from_json(json.loads(json.dumps(result.preprocessor.to_json())))
    model = Model.load(tmp_path, manifest)
    rows = mixed_frame(20, seed=5).drop("churn")
    labels = pre.decode_target(model.predict(pre.transform(rows)))
    assert set(labels) <= {"false", "true"}
    assert np.array_equal(
        model.predict_proba(pre.transform(rows)),
        result.model.predict_proba(result.preprocessor.transform(rows)),
    )


def test_multiclass_with_a_onehot_algorithm():
    result = run(mixed_frame(400, target="multiclass"), "multiclass", "logistic")
    assert result.algorithm == "LogisticRegression"
    assert result.preprocessor.encoding == "onehot"
    assert result.metrics["model"] == "LogisticRegression"
    assert result.metrics["labels"] == ["basic", "premium", "standard"]
    assert len(result.metrics["confusion_matrix"]) == 3
    assert result.metrics["accuracy"] > 0.6


def test_regression_with_a_fixed_algorithm():
    result = run(
        mixed_frame(400, target="regression"), "regression", "RandomForest", params={"n_estimators": 30}
    )
    assert result.metrics["model"] == "RandomForestRegressor"
    assert set(result.metrics) == {"rmse", "mae", "r2", "mape", "model"}
    assert result.metrics["r2"] > 0.5
    assert result.params["n_estimators"] == 30
    assert result.preprocessor.classes is None


def test_a_class_only_in_the_test_rows_does_not_crash():
    frame = mixed_frame(300, target="multiclass")
    # one row of a fourth class: too small to stratify, so wherever it lands it must be scored
    frame = pl.concat(
        [
            frame,
            frame.head(1).with_columns(plan=pl.lit("enterprise"), customer_id=pl.lit(999, dtype=pl.Int64)),
        ]
    )
    for seed in range(3):
        result = run(frame, "multiclass", "LightGBM", seed=seed, params={"n_estimators": 30})
        assert result.metrics["labels"] == ["basic", "enterprise", "premium", "standard"]
        assert len(result.metrics["confusion_matrix"]) == 4
    result = run(frame, "multiclass", "RandomForest", params={"n_estimators": 10})
    assert len(result.metrics["confusion_matrix"]) == 4


def test_incremental_training_reuses_the_preprocessor_and_grows_the_trees():
    first = run(mixed_frame(400, seed=1), "binary", "LightGBM")
    parent = (first.preprocessor, first.model)
    more = mixed_frame(300, seed=2).with_columns(
        contract=pl.lit("Lifetime")
    )  # a category the parent never saw
    second = run(more, "binary", "LightGBM", parent=parent, params={"n_estimators": 20})
    assert second.preprocessor is first.preprocessor
    assert second.model.iterations > first.model.iterations
    assert second.model.iterations <= first.model.iterations + 20

    # a different algorithm refits from scratch on the parent's features, if its encoding matches
    refit = run(more, "binary", "RandomForest", parent=parent, params={"n_estimators": 10})
    assert refit.preprocessor is first.preprocessor and refit.algorithm == "RandomForest"
    with pytest.raises(ValueError, match="onehot"):
        run(more, "binary", "LogisticRegression", parent=parent)


def test_bad_requests_are_refused():
    frame = mixed_frame(100)
    with pytest.raises(ValueError, match="valid for Classification"):
        run(frame, "binary", "ridge")
    with pytest.raises(ValueError, match="unknown parameters"):
        run(frame, "binary", "LightGBM", params={"depth": 3})
    with pytest.raises(ValueError, match="at least"):
        run(frame.head(5), "binary", "LightGBM")
    with pytest.raises(ValueError, match="two classes"):
        run(frame.with_columns(churn=pl.lit(True)), "binary", "LightGBM")


def test_auto_refits_the_search_winner_on_train_and_validation(monkeypatch):
    """The search itself is Ray's (tested elsewhere); here a stand-in checks the pipeline's side."""
    seen: dict[str, object] = {}

    def auto_search(*, problem_type, data, time_budget_s, seed, max_concurrency, storage_path, progress):
        seen.update(
            encodings=sorted(data), budget=time_budget_s, concurrency=max_concurrency, path=storage_path
        )
        assert all(isinstance(d, TrainData) and d.X_val is not None for d in data.values())
        assert data["onehot"].X_train.shape[0] == data["ordinal"].X_train.shape[0]
        progress(0.5, 3)
        progress(1.0, 6)
        trial = {"algorithm": "LightGBM", "params": {"n_estimators": 37}, "score": 0.9, "seconds": 0.1}
        return types.SimpleNamespace(
            algorithm="LightGBM", params={"n_estimators": 37}, score=0.9, trials=[trial | {"status": "ok"}]
        )

    monkeypatch.setitem(sys.modules, "raylake.ml.search", types.SimpleNamespace(auto_search=auto_search))
    stages: list[tuple[str, int]] = []
    result = run(
        mixed_frame(300),
        "binary",
        "Auto",
        time_budget_s=5,
        max_concurrency=2,
        storage_path=Path("/tmp/nowhere"),
        progress=lambda s, p: stages.append((s, p)),
    )
    assert seen == {
        "encodings": ["onehot", "ordinal"],
        "budget": 5,
        "concurrency": 2,
        "path": Path("/tmp/nowhere"),
    }
    assert result.algorithm == "LightGBM" and result.preprocessor.encoding == "ordinal"
    # refit on train + validation with the winner's rounds, no early stopping
    assert result.model.iterations == 37 and result.params["n_estimators"] == 37
    assert result.trials[0]["score"] == 0.9
    assert ("searching", 20 + 65 // 2) in stages and stages[-1][0] == "evaluating"
    assert result.metrics["model"] == "LightGBMClassifier"
