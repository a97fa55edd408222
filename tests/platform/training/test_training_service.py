"""``training.service.create`` without Ray: everything it refuses before a job is submitted, and the
registry model it makes or reuses on the way (the jobs themselves are the API tests' to run)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from raylake.core.vocabulary import JobStatus, ModelStatus
from raylake.platform.db import session_scope
from raylake.platform.errors import Conflict, Invalid, ServiceUnavailable
from raylake.platform.jobs import RayJobs
from raylake.platform.registry import lifecycle
from raylake.platform.registry.models import Predictor
from raylake.platform.registry.service import create_model
from raylake.platform.training import service as training
from raylake.platform.training.models import TrainingRun
from raylake.schemas.registry import ModelCreate
from raylake.schemas.training import TrainRequest
from tests.datafiles import training_csv
from tests.factories import create_tenant, create_user, unique, upload_dataset

NO_RAY = RayJobs(dashboard_url="http://127.0.0.1:9", token="unused")  # a submission cannot reach Ray
COLUMNS = [
    {"column_name": "CustomerID", "attribute_name": "Id"},
    {"column_name": "Churn", "attribute_name": "Target"},
    {"column_name": "Spend", "attribute_name": "Ignore"},
    {"column_name": "Score", "attribute_name": "Ignore"},
]


@pytest.fixture
def dataset_id(engine, ctx, member, tmp_path) -> int:
    dataset, _ = upload_dataset(engine, ctx, member, tmp_path, training_csv(200))
    return dataset.id


def create(engine, settings, ctx, principal, **body) -> TrainingRun:
    request = TrainRequest.model_validate(
        {"predictor_name": unique("churn"), "domain": "Churn", "problem_type": "Classification", **body}
    )
    with session_scope(engine) as session:
        return training.create(
            session=session, settings=settings, ctx=ctx, jobs=NO_RAY, principal=principal, request=request
        )


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        ({"problem_type": "Clustering"}, Invalid, "problem_type"),
        ({"columns": [{"column_name": "Nope", "attribute_name": "Target"}]}, Invalid, "Nope"),
        ({"columns": [{"column_name": "Score", "attribute_name": "Target"}]}, Invalid, "distinct values"),
        ({"algorithm": "quantum"}, Invalid, "unknown algorithm"),
        ({"algorithm": "LightGBM", "params": {"depth_of_field": 3}}, Invalid, "depth_of_field"),
        ({"is_incremental": True}, Invalid, "to continue"),
    ],
)
def test_what_is_refused_before_any_job(engine, settings, ctx, member, dataset_id, body, error, says):
    with pytest.raises(error, match=says):
        create(engine, settings, ctx, member, dataset_id=dataset_id, **{"columns": COLUMNS, **body})


def test_another_tenants_dataset_does_not_exist(engine, settings, ctx, dataset_id):
    outsider = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])
    with pytest.raises(Invalid, match=f"dataset {dataset_id} does not exist"):  # as one that never did
        create(engine, settings, ctx, outsider, dataset_id=dataset_id, columns=COLUMNS)


def test_a_named_model_with_versions_needs_is_incremental_and_an_archived_one_trains_no_more(
    engine, settings, ctx, member, dataset_id
):
    name = unique("churn")
    with session_scope(engine) as session:
        model = create_model(
            session=session,
            principal=member,
            data=ModelCreate(name=name, task="binary_classification", target="Churn"),
        )
        lifecycle.start_training(session, model, member.username)
        session.add(
            TrainingRun(
                tenant_id=model.tenant_id,
                predictor_id=model.id,  # type: ignore[arg-type]
                dataset_name="d",
                problem_type="Classification",
                domain="Churn",
                algorithm="LightGBM",
                status=JobStatus.FAILED,
                created_by=member.username,
            )
        )
        model_id = model.id
    with pytest.raises(Conflict, match="already exists"):
        create(engine, settings, ctx, member, dataset_id=dataset_id, columns=COLUMNS, predictor_name=name)
    with session_scope(engine) as session:
        model = session.get(Predictor, model_id)
        model.status = ModelStatus.ARCHIVED  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="archived"):
        create(
            engine,
            settings,
            ctx,
            member,
            dataset_id=dataset_id,
            columns=COLUMNS,
            predictor_name=name,
            is_incremental=True,
        )


def test_a_draft_is_reused_and_nothing_is_left_when_ray_cannot_be_reached(
    engine, settings, ctx, member, dataset_id
):
    name = unique("churn")
    with session_scope(engine) as session:
        create_model(session=session, principal=member, data=ModelCreate(name=name, task="regression"))
    with pytest.raises(Invalid, match="is Regression, not Classification"):
        create(engine, settings, ctx, member, dataset_id=dataset_id, columns=COLUMNS, predictor_name=name)
    other = unique("churn")
    with session_scope(engine) as session:
        create_model(
            session=session, principal=member, data=ModelCreate(name=other, task="binary_classification")
        )
    # Everything checks out, so the run is submitted: Ray is not there, and the request's writes go.
    with pytest.raises(ServiceUnavailable):
        create(engine, settings, ctx, member, dataset_id=dataset_id, columns=COLUMNS, predictor_name=other)
    with session_scope(engine) as session:
        (model,) = session.exec(select(Predictor).where(Predictor.predictor_name == other)).all()
        assert model.status == ModelStatus.DRAFT
        assert session.exec(select(TrainingRun).where(TrainingRun.predictor_id == model.id)).all() == []
