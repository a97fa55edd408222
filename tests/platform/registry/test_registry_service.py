"""The registry's services on both backends, without Ray: projects, models, lifecycle, versions, aliases."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from raylake.core.vocabulary import EventType, JobStatus, ModelStatus, ModelType, Task
from raylake.platform.db import session_scope
from raylake.platform.errors import Conflict, Invalid, NotFound
from raylake.platform.events.models import Event
from raylake.platform.jobs import end_row
from raylake.platform.registry import lifecycle, projects, service, versions
from raylake.platform.registry.models import DEFAULT_PROJECT
from raylake.platform.tenancy import Principal
from raylake.platform.training.models import TrainingRun
from raylake.schemas.registry import ModelTrainRequest, ModelUpdate, ProjectCreate, ProjectUpdate
from raylake.train_jobs import runtime
from tests.factories import add_version, create_tenant, create_user, draft_model, unique


@pytest.fixture
def outsider(engine, settings) -> Principal:
    return create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])


def events(session: Session, tenant_id: str, type: EventType) -> list[Event]:
    found = select(Event).where(Event.tenant_id == tenant_id, Event.type == type).order_by(col(Event.id))
    return list(session.exec(found).all())


def test_every_tenant_has_a_default_project_and_projects_are_walled(engine, member, outsider):
    with session_scope(engine) as session:
        default = projects.default_project(session, member.tenant_id)
        assert default.name == DEFAULT_PROJECT and default.uid
        made = projects.create_project(
            session=session, principal=member, data=ProjectCreate(name="Churn work")
        )
        with pytest.raises(Conflict):
            projects.create_project(session=session, principal=member, data=ProjectCreate(name="churn WORK"))
        with pytest.raises(NotFound):
            projects.get_project(session=session, principal=outsider, project_id=made.id)
        assert projects.get_project(session=session, principal=member, project_id=made.uid).id == made.id
        with pytest.raises(NotFound):
            projects.get_project(session=session, principal=outsider, project_id=made.uid)
        draft_model(session, member, project_id=made.id)
        with pytest.raises(Conflict, match="holds 1 models"):
            projects.delete_project(session=session, principal=member, project_id=made.id)
        with pytest.raises(Conflict):
            projects.update_project(
                session=session, principal=member, project_id=default.id, data=ProjectUpdate(name="x")
            )
        rows, total = projects.list_projects(session=session, principal=member, skip=0, limit=10)
        assert total == 2 and {p.name for p in rows} == {DEFAULT_PROJECT, "Churn work"}


def test_a_draft_model_is_named_once_per_project_and_checked(engine, member, outsider):
    with session_scope(engine) as session:
        model = draft_model(
            session, member, name="churn-a", tags=["churn", "q3"], metadata={"team": "retention"}
        )
        shown = service.public(session, model)
        assert shown.status == ModelStatus.DRAFT and shown.tags == ["churn", "q3"] and shown.uid
        assert (
            shown.metadata == {"team": "retention"}
            and shown.versions == []
            and shown.owner == member.username
        )
        with pytest.raises(Conflict, match="already exists"):
            draft_model(session, member, name="churn-a")
        other = projects.create_project(
            session=session, principal=member, data=ProjectCreate(name=unique("p"))
        )
        draft_model(session, member, name="churn-a", project_id=other.id)  # another project: fine
        with pytest.raises(Invalid, match="does not do"):
            draft_model(session, member, model_type=ModelType.FORECASTER)
        with pytest.raises(NotFound):
            draft_model(session, outsider, project_id=other.id)
        with pytest.raises(NotFound):
            service.get_model(session=session, principal=outsider, model_id=model.id)
        by_uid = service.get_model(session=session, principal=member, model_id=model.uid.upper())
        assert by_uid.id == model.id  # clients that address models by UUID
        assert service.get_model(session=session, principal=member, model_id=str(model.id)).id == model.id
        for unknown in (model.uid, "99999999999"):
            with pytest.raises(NotFound):
                service.get_model(session=session, principal=outsider, model_id=unknown)


def test_listing_filters_searches_orders_and_names_unknown_fields(engine, member):
    with session_scope(engine) as session:
        a = draft_model(
            session, member, name="alpha churn", tags=["churn", "prod"], description="retention model"
        )
        b = draft_model(session, member, name="beta", tags=["churn"], task="regression")
        c = draft_model(session, member, name="gamma", tags=["prod"], description="CHURN forecast")
        ids = lambda rows: [m.id for m in rows]  # noqa: E731

        def listed(**query):
            return service.list_models(session=session, principal=member, **query)

        assert ids(listed(tags=["churn", "prod"])[0]) == [a.id]
        assert set(ids(listed(search="churn")[0])) == {a.id, c.id}
        assert ids(listed(task=Task.REGRESSION)[0]) == [b.id]
        assert ids(listed(filters=["name:beta"])[0]) == [b.id]
        assert ids(listed(ordering="name")[0]) == [a.id, b.id, c.id]
        assert ids(listed(ordering="-name", limit=2, offset=1)[0]) == [b.id, a.id]
        assert listed(limit=1)[1] == 3
        literal = draft_model(session, member, name="x_y%")
        draft_model(session, member, name="xzy%")
        assert ids(listed(search="X_Y%")[0]) == [literal.id]  # wildcards are literal; case is not
        with pytest.raises(Invalid, match="unknown ordering fields: colour"):
            listed(ordering="-colour,name")
        with pytest.raises(Invalid, match="unknown filter fields: password"):
            listed(filters=["password:x"])


def test_status_moves_only_where_the_lifecycle_allows_with_events(engine, member):
    with session_scope(engine) as session:
        model = draft_model(session, member)

        def patch(**fields):
            return service.update_model(
                session=session, principal=member, model_id=model.id, data=ModelUpdate(**fields)
            )

        with pytest.raises(Conflict, match=r"cannot become trained \(allowed: training\)"):
            patch(status="trained")
        lifecycle.start_training(session, model, member.username)
        run = add_version(session, model, status=JobStatus.RUNNING)
        run.status = JobStatus.COMPLETED
        lifecycle.run_ended(session, run)
        assert model.status == ModelStatus.TRAINED
        patch(status="deprecated", tags=["old"], metrics={"auc": 0.8})
        with pytest.raises(Conflict):
            patch(status="trained")
        patch(status="archived")
        with pytest.raises(Conflict, match="archived"):
            versions.train(
                session=session,
                settings=None,  # type: ignore[arg-type]
                ctx=None,  # type: ignore[arg-type]
                jobs=None,  # type: ignore[arg-type]
                principal=member,
                model_id=model.id,
                body=ModelTrainRequest(),
            )
        with pytest.raises(Conflict, match="archived"):
            versions.servable(session, member, model.id, "v1")
        changes = [e.payload["to"] for e in events(session, member.tenant_id, EventType.MODEL_STATUS_CHANGED)]
        assert changes == ["training", "trained", "deprecated", "archived"]
        assert [
            e.payload["train_id"] for e in events(session, member.tenant_id, EventType.RUN_COMPLETED)
        ] == [run.id]


def test_a_run_ended_by_reconciliation_fails_its_model_unless_a_version_is_good(engine, member):
    with session_scope(engine) as session:
        model = draft_model(session, member)
        lifecycle.start_training(session, model, member.username)
        first = add_version(session, model, status=JobStatus.RUNNING)
        end_row(session, first, JobStatus.FAILED, "Ray job ended FAILED without reporting")
        assert model.status == ModelStatus.FAILED
        lifecycle.start_training(session, model, member.username)
        good = add_version(session, model, status=JobStatus.RUNNING)
        good.status = JobStatus.COMPLETED
        lifecycle.run_ended(session, good)
        lifecycle.start_training(session, model, member.username)
        third = add_version(session, model, status=JobStatus.RUNNING)
        end_row(session, third, JobStatus.CANCELLED, "stopped")
        assert model.status == ModelStatus.TRAINED  # v2 still serves
        failed = events(session, member.tenant_id, EventType.RUN_FAILED)
        assert [e.payload["version"] for e in failed] == ["v1", "v3"]


def test_versions_by_number_or_alias_and_describe(engine, member, outsider):
    with session_scope(engine) as session:
        model = draft_model(session, member, description=None)
        v1 = add_version(session, model)
        v2 = add_version(session, model)
        assert versions.resolve(session, model, "v2").id == v2.id
        assert versions.resolve(session, model, "1").id == v1.id
        with pytest.raises(NotFound):
            versions.resolve(session, model, "v9")
        alias = versions.set_alias(
            session=session, principal=member, model_id=model.id, alias="production", version="v1"
        )
        assert alias.train_id == v1.id
        versions.set_alias(
            session=session, principal=member, model_id=model.id, alias="production", version="2"
        )
        assert versions.resolve(session, model, "production").id == v2.id
        with pytest.raises(Invalid):
            versions.set_alias(session=session, principal=member, model_id=model.id, alias="v3", version="v1")
        with pytest.raises(NotFound):
            versions.set_alias(
                session=session, principal=outsider, model_id=model.id, alias="x", version="v1"
            )
        shown = service.public(session, model)
        assert shown.aliases == {"production": "v2"} and [v.version for v in shown.versions] == ["v2", "v1"]
        latest = service.public_many(session, [model], latest_only=True)[0]
        assert [v.version for v in latest.versions] == ["v2"]
        described = versions.describe(
            session=session, principal=member, model_id=model.id, version="production"
        )
        assert described.features == ["Tenure", "Plan"] and described.target == "Churn"
        assert described.performance == {"accuracy": 0.9}
        assert described.input_schema["properties"]["Tenure"] == {"type": "integer"}
        assert described.output_schema["properties"]["prediction"]["enum"] == ["false", "true"]
        versions.delete_alias(session=session, principal=member, model_id=model.id, alias="production")
        with pytest.raises(NotFound):
            versions.resolve(session, model, "production")


def test_training_a_model_needs_its_dataset_and_target(engine, member):
    with session_scope(engine) as session:
        model = draft_model(
            session, member, model_type="random_forest", training_config={"time_budget_s": 30}
        )
        with pytest.raises(Invalid, match="no dataset"):
            versions.train_request(model, ModelTrainRequest())
        with pytest.raises(Invalid, match="no target"):
            versions.train_request(model, ModelTrainRequest(dataset_id=1))
        model.target = "Churn"
        request = versions.train_request(model, ModelTrainRequest(dataset_id=7))
        assert request.algorithm == "RandomForest" and request.time_budget_s == 30
        assert [(c.column_name, c.attribute_name) for c in request.columns] == [("Churn", "Target")]
        assert request.predictor_name == model.predictor_name and request.problem_type == "Classification"


def test_a_training_jobs_progress_is_on_the_feed_coarsely_and_never_after_its_end(engine, member):
    with session_scope(engine) as session:
        model = draft_model(session, member)
        run_id = add_version(session, model, status=JobStatus.RUNNING).id
    report = runtime.progress(engine, TrainingRun, run_id)
    for stage, percent in (("training", 10), ("training", 12), ("training", 16), ("evaluating", 17)):
        report(stage, percent)
    with session_scope(engine) as session:
        end_row(session, session.get(TrainingRun, run_id), JobStatus.CANCELLED, "stopped")
    report("evaluating", 90)  # the ended row stays as it is: no event either
    with session_scope(engine) as session:
        progress = events(session, member.tenant_id, EventType.RUN_PROGRESS)
        assert [(e.payload["stage"], e.payload["percent"]) for e in progress] == [
            ("training", 10),
            ("training", 16),
            ("evaluating", 17),
        ]
        assert session.get(TrainingRun, run_id).stage == "cancelled"  # type: ignore[union-attr]
