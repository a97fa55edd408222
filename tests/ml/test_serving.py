"""A served version's explanations name how they were computed."""

from __future__ import annotations

import pytest

from raylake.core.vocabulary import ExplainMethod
from raylake.ml.algorithms import ALGORITHMS, TrainData, fit
from raylake.ml.preprocess import Preprocessor
from raylake.ml.serving import ServedModel
from tests.ml.frames import INPUT_COLUMNS, mixed_frame, mixed_roles


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("LightGBM", ExplainMethod.TREE_SHAP),
        ("DecisionTree", ExplainMethod.TREE_SHAP),
        ("LogisticRegression", ExplainMethod.PERMUTATION_SHAP),
    ],
)
def test_explanations_name_their_method(name, method):
    frame = mixed_frame(200)
    pre = Preprocessor.fit(
        frame, mixed_roles(), problem_type="Classification", encoding=ALGORITHMS[name].encoding
    )
    X, y = pre.transform(frame), pre.encode_target(frame)
    data = TrainData(X, y, None, None, 2, pre.categorical_indices, pre.feature_names)
    served = ServedModel.build(fit(name, "Classification", data, {}, threads=1, seed=0), pre, None)
    rows = frame.select(INPUT_COLUMNS).head(2).to_dicts()
    explained = served.predict(rows, explain=True)
    assert [r["explanation_method"] for r in explained] == [method, method]
    assert all("explanation_method" not in r for r in served.predict(rows))
