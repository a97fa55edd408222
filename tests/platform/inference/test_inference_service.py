"""The inference service's checks without Ray (both backends): which model a request may use, what a
batch refuses before its job, and the prediction log's tenant wall."""

from __future__ import annotations

import pytest

from raylake.core.vocabulary import JobStatus, ModelStatus
from raylake.platform import lake
from raylake.platform.db import session_scope
from raylake.platform.errors import Conflict, Invalid, NotFound
from raylake.platform.inference import history, realtime
from raylake.platform.inference.batch import submit_batch
from raylake.platform.inference.log import PredictionLog
from raylake.platform.jobs import RayJobs
from raylake.platform.registry.models import Predictor
from raylake.platform.tenants import service as tenants
from raylake.platform.training.models import PreprocessState
from tests.datafiles import churn_csv
from tests.factories import (
    add_version,
    create_tenant,
    create_user,
    draft_model,
    superuser_principal,
    upload_dataset,
)

NO_RAY = RayJobs(dashboard_url="http://127.0.0.1:9", token="unused")  # a submission cannot reach Ray


@pytest.fixture
def outsider(engine, settings):
    return create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])


def servable(session, member, **fields):
    """A completed version as far as the store says (its files are the API tests' to write)."""
    model = draft_model(session, member)
    run = add_version(session, model, artifact_key="k", **fields)
    state = PreprocessState(
        tenant_id=run.tenant_id, source_run_id=run.id, storage_key="k", encoding="ordinal"
    )
    session.add(state)
    session.flush()
    run.preprocess_id = state.id
    session.add(run)
    session.flush()
    return run


def test_a_model_is_servable_only_when_completed_and_only_to_its_tenant(engine, member, outsider):
    with session_scope(engine) as session:
        run = servable(session, member)
        assert realtime.servable_run(session=session, principal=member, train_id=run.id)[0].id == run.id
        with pytest.raises(NotFound):
            realtime.servable_run(session=session, principal=outsider, train_id=run.id)
        running = add_version(session, draft_model(session, member), status=JobStatus.RUNNING)
        with pytest.raises(Conflict, match="only a completed training run can predict"):
            realtime.servable_run(session=session, principal=member, train_id=running.id)
        archived = servable(session, member)
        model = session.get(Predictor, archived.predictor_id)
        model.status = ModelStatus.ARCHIVED  # type: ignore[union-attr]
        with pytest.raises(Conflict, match="archived"):
            realtime.servable_run(session=session, principal=member, train_id=archived.id)
        forecaster = servable(session, member, problem_type="Forecasting")
        with pytest.raises(Invalid, match="forecast"):
            realtime.not_forecasting(forecaster)


def test_a_batch_is_refused_before_its_job(engine, settings, ctx, member, outsider, tmp_path):
    # CustomerID, DataUsageGB, Plan, Churn, Joined: no Tenure
    dataset, _ = upload_dataset(engine, ctx, member, tmp_path, churn_csv(), usage="p")
    with session_scope(engine) as session:
        run = servable(session, member)

        def batch(principal, dataset_id=dataset.id):
            return submit_batch(
                session=session,
                settings=settings,
                jobs=NO_RAY,
                principal=principal,
                train_id=run.id,
                dataset_id=dataset_id,
            )

        with pytest.raises(Invalid, match="Tenure"):
            batch(member)
        with pytest.raises(NotFound):
            batch(outsider)


def test_the_prediction_log_is_walled(engine, member, outsider):
    with session_scope(engine) as session:
        run = servable(session, member)
        rows, total = history.list_predictions(
            session=session, principal=member, train_id=run.id, skip=0, limit=10
        )
        assert (rows, total) == ([], 0)
        with pytest.raises(NotFound):
            history.list_predictions(session=session, principal=outsider, train_id=run.id, skip=0, limit=10)


def test_a_deleted_tenants_calls_never_hold_back_the_log(engine, settings, member):
    """A call buffered just before its tenant was deleted: its row cannot be written (the tenant is
    gone); it used to fail every flush, everyone's, for good."""
    gone = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])
    with session_scope(engine) as session:
        mine, theirs = servable(session, member), servable(session, gone)
    prediction_log = PredictionLog(engine, flush_s=3600)
    for who, run in ((gone, theirs), (member, mine)):
        prediction_log.record(
            tenant_id=who.tenant_id,
            train_id=run.id,
            predictor_name="p",
            problem_type="Classification",
            domain_name="d",
            username=who.username,
            accuracy=None,
            rows=1,
            sample={"Tenure": 1},
        )
    with session_scope(engine) as session:
        tenants.delete_tenant(
            session=session,
            settings=settings,
            ctx=lake.open_lake(settings),
            jobs=NO_RAY,
            principal=superuser_principal(engine, settings),
            tenant_id=gone.tenant_id,
        )
    prediction_log.flush()
    with session_scope(engine) as session:
        rows, _ = history.list_predictions(
            session=session, principal=member, train_id=mine.id, skip=0, limit=5
        )
        assert [(p.prediction_type, p.no_of_records) for p in rows] == [("real-time", 1)]
