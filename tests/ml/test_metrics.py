"""Metric values on inputs small enough to check by hand; every number plain, undefined ones None."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from raylake.ml import metrics


def test_binary_classification():
    y_true = np.array([0, 0, 1, 1, 1])
    y_pred = np.array([0, 1, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    result = metrics.classification(y_true, y_pred, proba, ["no", "yes"])
    assert result["accuracy"] == pytest.approx(0.6)
    assert result["precision"] == pytest.approx(2 / 3)  # positive class "yes"
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1_score"] == pytest.approx(2 / 3)
    assert result["roc_auc"] == pytest.approx(5 / 6)  # 5 of the 6 (negative, positive) pairs ordered right
    expected_loss = -np.mean(np.log([0.9, 0.4, 0.8, 0.7, 0.4]))
    assert result["log_loss"] == pytest.approx(expected_loss)
    assert result["confusion_matrix"] == [[1, 1], [1, 2]]
    assert result["labels"] == ["no", "yes"]
    json.dumps(result)
    assert all(type(v) in (float, list) for k, v in result.items() if k != "labels")


def test_multiclass_classification_is_weighted_and_lists_every_class():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    proba = np.array(
        [[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.5, 0.2, 0.3]]
    )
    result = metrics.classification(y_true, y_pred, proba, ["a", "b", "c"])
    assert result["accuracy"] == pytest.approx(4 / 6)
    # per class precision 1/2, 2/3, 1; each class has weight 1/3
    assert result["precision"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert result["recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert result["roc_auc"] is not None and 0.5 < result["roc_auc"] <= 1
    assert result["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_a_class_absent_from_the_rows_makes_auc_undefined_but_keeps_its_confusion_row():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 2, 1, 1])
    proba = np.array([[0.8, 0.1, 0.1], [0.3, 0.2, 0.5], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]])
    result = metrics.classification(y_true, y_pred, proba, ["a", "b", "c"])
    assert result["roc_auc"] is None
    assert result["log_loss"] is not None
    assert result["confusion_matrix"] == [[1, 0, 1], [0, 2, 0], [0, 0, 0]]
    no_proba = metrics.classification(y_true, y_pred, None, ["a", "b", "c"])
    assert no_proba["roc_auc"] is None and no_proba["log_loss"] is None


def test_regression():
    y_true = np.array([1.0, 2.0, 3.0, 4.0])
    y_pred = np.array([1.5, 2.0, 2.0, 4.0])
    result = metrics.regression(y_true, y_pred)
    assert result["mae"] == pytest.approx(0.375)
    assert result["rmse"] == pytest.approx(math.sqrt((0.25 + 0 + 1 + 0) / 4))
    assert result["r2"] == pytest.approx(1 - 1.25 / 5)
    assert result["mape"] == pytest.approx((0.5 + 0 + 1 / 3 + 0) / 4)
    assert all(type(v) is float for v in result.values())
    assert metrics.regression(np.array([1.0]), np.array([2.0]))["r2"] is None


def test_search_score_defaults_match_flaml():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4]])
    assert metrics.search_score("Classification", 2, y, proba.argmax(1), proba) == pytest.approx(1.0)
    multi = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    score = metrics.search_score("Classification", 3, np.array([0, 1, 2]), multi.argmax(1), multi)
    assert score == pytest.approx(math.log(0.8))
    assert (
        metrics.search_score("Regression", None, np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), None)
        == 1.0
    )
    # a single class in the validation rows: AUC is undefined, -log loss stands in
    single = metrics.search_score("Classification", 2, np.array([1, 1]), np.array([1, 1]), proba[:2])
    assert single == pytest.approx((math.log(0.2) + math.log(0.7)) / 2)
