"""The model-type recommendation at the service level: a real uploaded dataset, fits in this process."""

from __future__ import annotations

import pydantic
import pytest

from raylake.core.vocabulary import ModelType, Task
from raylake.ml.algorithms.registry import TABULAR_MODEL_TYPES
from raylake.platform.db import session_scope
from raylake.platform.errors import Invalid, NotFound
from raylake.platform.registry import recommend
from raylake.schemas.registry_recommend import Recommendation, RecommendRequest
from tests.datafiles import training_csv
from tests.factories import create_tenant, create_user, upload_dataset


@pytest.fixture
def dataset_id(engine, ctx, member, tmp_path) -> int:
    dataset, _ = upload_dataset(engine, ctx, member, tmp_path, training_csv(300))
    return dataset.id


def _recommend(engine, ctx, principal, **body) -> dict:
    with session_scope(engine) as session:
        return recommend.recommend_model_type(
            session=session, ctx=ctx, principal=principal, request=RecommendRequest(**body), on_ray=False
        )


def test_a_recommendation_scores_every_family_and_explains_its_pick(engine, ctx, member, dataset_id):
    answer = _recommend(engine, ctx, member, dataset_id=dataset_id, target="Churn", time_budget_s=30)
    result = Recommendation.model_validate(answer)
    # In this process (the API test shows the fits on Ray), whether or not the session connected Ray.
    assert result.runner == "in_process" and result.task is Task.BINARY_CLASSIFICATION
    assert result.metric == "ROC AUC"
    assert {s.model_type for s in result.scores} == {*TABULAR_MODEL_TYPES, ModelType.FORECASTER}
    scored = [s for s in result.scores if s.score is not None]
    assert len(scored) >= 5, [(s.model_type, s.status, s.reason) for s in result.scores]
    assert result.recommended_model_type is scored[0].model_type  # ranked best first
    assert 0 <= result.confidence <= 100
    assert result.recommended_model_type.value in result.explanation and "ROC AUC" in result.explanation
    assert result.data_analysis.rows == 300 and result.data_analysis.usable_rows == 300
    assert result.data_analysis.sample_rows == 300 and result.data_analysis.folds == 3
    suspects = {s.column for s in result.data_analysis.leakage_suspects}
    assert "CustomerID" in suspects and "Tenure" not in suspects
    columns = {c.name: c for c in result.schema_analysis.columns}
    assert columns["Plan"].cardinality == 3 and columns["Monthly"].missing_rate > 0
    assert set(result.schema_analysis.class_balance) == {"true", "false"}
    assert result.seconds < 30


def test_the_task_is_inferred_or_checked(engine, ctx, member, dataset_id):
    answer = _recommend(engine, ctx, member, dataset_id=dataset_id, target="Spend", time_budget_s=4)
    assert answer["task"] is Task.REGRESSION and answer["metric"] == "R²"
    with pytest.raises(Invalid, match="regression needs a numeric target"):
        _recommend(engine, ctx, member, dataset_id=dataset_id, target="Plan", task="regression")
    with pytest.raises(Invalid, match="forecaster"):
        _recommend(engine, ctx, member, dataset_id=dataset_id, target="Spend", task="forecasting")
    with pytest.raises(pydantic.ValidationError):  # an unknown task: the API's 422
        RecommendRequest(dataset_id=dataset_id, target="Churn", task="clustering")


def test_a_target_the_dataset_lacks_is_refused_naming_its_columns(engine, ctx, member, dataset_id):
    with pytest.raises(Invalid, match=r"target 'Nope' is not a column .* its columns are CustomerID, Tenure"):
        _recommend(engine, ctx, member, dataset_id=dataset_id, target="Nope")


def test_another_tenants_dataset_is_not_found(engine, settings, ctx, dataset_id):
    outsider = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])
    with pytest.raises(NotFound, match=f"Dataset {dataset_id} not found"):
        _recommend(engine, ctx, outsider, dataset_id=dataset_id, target="Churn")
