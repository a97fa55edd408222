"""The recommendation's pure parts: task inference, schema and leakage analysis, quick fits and the pick."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from raylake.core.vocabulary import ModelType, ProblemType, Task
from raylake.ml import quick_fit, recommend
from raylake.ml.algorithms.registry import (
    ALGORITHMS,
    MODEL_TYPE_ALGORITHM,
    TABULAR_MODEL_TYPES,
    algorithm_for,
    model_type_of,
)
from raylake.ml.quick_fit import FamilyScore
from tests.ml.frames import mixed_frame


def test_every_tabular_model_type_has_an_algorithm_and_back():
    assert ModelType.AUTO not in MODEL_TYPE_ALGORITHM and ModelType.FORECASTER not in MODEL_TYPE_ALGORITHM
    for model_type in TABULAR_MODEL_TYPES:
        for problem_type in (ProblemType.CLASSIFICATION, ProblemType.REGRESSION):
            name = algorithm_for(model_type, problem_type)
            assert problem_type in ALGORITHMS[name].problem_types
            assert model_type_of(name) is model_type
    assert algorithm_for("regression", ProblemType.CLASSIFICATION) == "LogisticRegression"
    assert algorithm_for(ModelType.REGRESSION, ProblemType.REGRESSION) == "LinearRegression"
    assert algorithm_for(ModelType.AUTO, ProblemType.REGRESSION) == "auto"
    with pytest.raises(ValueError, match="not a tabular model type"):
        algorithm_for(ModelType.FORECASTER, ProblemType.REGRESSION)


@pytest.mark.parametrize(
    ("values", "data_type", "task"),
    [
        ([True, False, None, True], "Boolean", Task.BINARY_CLASSIFICATION),
        (["a", "b", "c", "a"], "String", Task.MULTICLASS_CLASSIFICATION),
        ([0, 1, 1, 0, None], "Integer", Task.BINARY_CLASSIFICATION),
        ([i % 4 for i in range(200)], "Integer", Task.MULTICLASS_CLASSIFICATION),
        (list(range(200)), "Integer", Task.REGRESSION),
        ([0.5, 1.5, 2.25, float("nan")], "Float", Task.REGRESSION),
    ],
)
def test_the_task_is_inferred_from_the_target(values, data_type, task):
    assert recommend.infer_task(pl.Series("y", values), data_type) is task


def test_a_task_the_target_cannot_have_is_refused_with_the_reason():
    three = pl.Series("plan", ["a", "b", "c"])
    with pytest.raises(ValueError, match="binary_classification needs exactly 2"):
        recommend.check_task(Task.BINARY_CLASSIFICATION, three, "String")
    with pytest.raises(ValueError, match="regression needs a numeric target"):
        recommend.check_task(Task.REGRESSION, three, "String")
    with pytest.raises(ValueError, match="forecaster"):
        recommend.check_task(Task.FORECASTING, pl.Series("y", [1.0, 2.0]), "Float")
    with pytest.raises(ValueError, match="more than the 100 classes"):
        recommend.check_task(
            Task.MULTICLASS_CLASSIFICATION, pl.Series("y", list(map(str, range(150)))), "String"
        )


def test_schema_analysis_reports_types_cardinality_missing_rates_and_balance():
    frame = mixed_frame(400)
    analysis = recommend.analyse(frame, "churn")
    assert analysis.task is Task.BINARY_CLASSIFICATION
    columns = {column["name"]: column for column in analysis.schema["columns"]}
    assert columns["contract"]["data_type"] == "String" and columns["contract"]["cardinality"] == 3
    assert 0 < columns["tenure"]["missing_rate"] < 0.15
    assert columns["churn"]["role"] == "target"
    balance = analysis.schema["class_balance"]
    assert set(balance) == {"true", "false"} and sum(balance.values()) == pytest.approx(1.0, abs=1e-3)
    regression = recommend.analyse(mixed_frame(400, target="regression"), "spend")
    assert regression.task is Task.REGRESSION and regression.schema["target_summary"]["std"] > 0


def test_leakage_suspects_are_found_and_left_out_of_the_fits():
    frame = mixed_frame(400).with_columns(
        pl.col("churn").alias("churn_copy"),
        pl.when(pl.col("churn")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("churn_word"),
    )
    frame = frame.with_columns(
        pl.when(pl.col("customer_id") < 5).then(None).otherwise(pl.col("churn")).alias("churn")
    )
    analysis = recommend.analyse(frame, "churn")
    assert analysis.data["rows"] == 400 and analysis.data["usable_rows"] == 395
    reasons = {suspect["column"]: suspect["reason"] for suspect in analysis.data["leakage_suspects"]}
    assert reasons["churn_copy"] == "identical to the target"
    assert reasons["churn_word"] == "a one-to-one recoding of the target"
    assert "identifier" in reasons["customer_id"] and "identifier" in reasons["note"]
    assert "tenure" not in reasons and "contract" not in reasons
    ignored = {role.name for role in analysis.roles if role.attribute == "Ignore"}
    assert ignored == set(reasons)


def test_a_numeric_function_of_a_numeric_target_is_a_suspect():
    frame = mixed_frame(300, target="regression").with_columns((pl.col("spend") * 2 + 1).alias("double"))
    reasons = {s["column"]: s["reason"] for s in recommend.analyse(frame, "spend").data["leakage_suspects"]}
    assert reasons["double"] == "an exact monotone function of the target"


def test_analysis_refuses_a_missing_target_and_too_few_rows():
    with pytest.raises(ValueError, match="not a column; the columns are"):
        recommend.analyse(mixed_frame(100), "nope")
    with pytest.raises(ValueError, match="needs 30"):
        recommend.analyse(mixed_frame(20), "churn")


@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_every_family_gets_a_cross_validated_score_and_one_is_picked(target):
    name = {"binary": "churn", "multiclass": "plan", "regression": "spend"}[target]
    frame = mixed_frame(600, target=target)
    analysis = recommend.analyse(frame, name)
    sample = quick_fit.sample(frame, name, analysis.task.problem_type, 400, seed=0)
    assert sample.height == 400
    scores = [
        quick_fit.score_family(
            sample, analysis.roles, model_type=model_type, problem_type=analysis.task.problem_type
        )
        for model_type in recommend.model_types()
    ]
    assert {s.model_type for s in scores} == set(TABULAR_MODEL_TYPES)
    for score in scores:
        assert score.status == "ok", score.reason
        assert len(score.folds) == quick_fit.FOLDS and np.isfinite(score.folds).all()
    choice = recommend.choose(scores, analysis.task, sample_rows=sample.height, excluded=analysis.excluded)
    best = max(scores, key=lambda s: s.score)
    assert choice.model_type is best.model_type
    assert 0 <= choice.confidence <= 100
    assert best.model_type.value in choice.explanation and "customer_id" in choice.explanation


def test_a_stratified_sample_keeps_every_class_share():
    frame = pl.DataFrame(
        {"x": np.arange(10_000), "y": ["rare" if i % 50 == 0 else "common" for i in range(10_000)]}
    )
    sample = quick_fit.sample(frame, "y", ProblemType.CLASSIFICATION, 1000, seed=1)
    assert sample.height == 1000 and (sample["y"] == "rare").sum() == 20


def test_a_family_past_its_deadline_reports_no_score():
    frame = mixed_frame(200)
    analysis = recommend.analyse(frame, "churn")
    late = quick_fit.score_family(
        frame, analysis.roles, model_type="lightgbm", problem_type=ProblemType.CLASSIFICATION, deadline=0.0
    )
    assert late.score is None and late.status == "timed_out" and "time budget" in late.reason


def _scored(model_type: ModelType, folds: list[float]) -> FamilyScore:
    return FamilyScore(model_type=model_type, algorithm="x", folds=folds)


def test_confidence_grows_with_the_margin_over_the_fold_spread():
    def confidence(best: list[float], runner: list[float]) -> int:
        scores = [_scored(ModelType.LIGHTGBM, best), _scored(ModelType.RANDOM_FOREST, runner)]
        return recommend.choose(scores, Task.REGRESSION, sample_rows=100, excluded=[]).confidence

    assert confidence([0.80, 0.81, 0.79], [0.80, 0.81, 0.79]) == 0
    assert confidence([0.90, 0.91, 0.92], [0.80, 0.81, 0.80]) >= 95
    close = confidence([0.80, 0.83, 0.79], [0.81, 0.80, 0.79])
    assert 0 < close < 80
    alone = recommend.choose(
        [
            _scored(ModelType.LIGHTGBM, [0.9, 0.9]),
            FamilyScore(ModelType.NEURAL_NETWORK, "NeuralNetwork", status="timed_out"),
        ],
        Task.REGRESSION,
        sample_rows=100,
        excluded=[],
    )
    assert (
        alone.model_type is ModelType.LIGHTGBM
        and alone.confidence == 50
        and "neural_network" in alone.explanation
    )
    nothing = recommend.choose([], Task.REGRESSION, sample_rows=100, excluded=[])
    assert nothing.model_type is ModelType.LIGHTGBM and nothing.confidence == 0
