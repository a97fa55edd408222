"""The model-type recommendation route: which family to train on a dataset, from quick fits on Ray."""

from __future__ import annotations

from fastapi import APIRouter

from raylake.platform.deps import LakeDep, SessionDep, TrainRun
from raylake.platform.registry import recommend
from raylake.schemas.registry_recommend import Recommendation, RecommendRequest

router = APIRouter(prefix="/models", tags=["models"])


@router.post("/recommend", response_model=Recommendation)
def recommend_model_type(
    session: SessionDep, ctx: LakeDep, principal: TrainRun, body: RecommendRequest
) -> dict:
    """Recommend a model type for a dataset and target: each family quickly fitted on its rows, with a
    confidence."""
    return recommend.recommend_model_type(session=session, ctx=ctx, principal=principal, request=body)
