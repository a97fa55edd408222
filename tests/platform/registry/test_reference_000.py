"""Reference document 000's names on the registry's services, without Ray: ``ontology_id``, the two
metric names, ``storage_config_ids`` and the worker reports' ``performance_metrics``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from raylake.core.layout import model_prefix
from raylake.core.vocabulary import JobStatus
from raylake.platform import callbacks as tokens
from raylake.platform.db import session_scope
from raylake.platform.errors import Invalid, Unauthorized
from raylake.platform.registry import callbacks, service, versions
from raylake.platform.templates.models import Template
from raylake.platform.training.models import TrainingRun
from raylake.schemas.registry import (
    ModelCreate,
    ModelTrainRequest,
    ModelUpdate,
    VersionComplete,
    VersionFailure,
)
from tests.factories import add_version, draft_model, unique


def _template(session: Session, tenant_id: str) -> int:
    name = unique("ontology")
    row = Template(
        tenant_id=tenant_id, template_name=name, name_key=name.lower(), created_by="me", modified_by="me"
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def test_ontology_id_is_the_template(engine, member):
    with session_scope(engine) as session:
        tid = _template(session, member.tenant_id)
        model = draft_model(session, member, ontology_id=tid, model_type="neural_network")
        shown = service.public(session, model)
        assert shown.template_id == shown.ontology_id == tid and shown.status == "draft"
        assert service.public(session, draft_model(session, member, template_id=tid)).ontology_id == tid
    with pytest.raises(ValidationError, match="other name"):
        ModelCreate.model_validate({"name": "m", "task": "regression", "ontology_id": 1, "template_id": 2})
    same = ModelCreate.model_validate({"name": "m", "task": "regression", "ontology_id": 2, "template_id": 2})
    assert same.template_id == 2


def test_performance_and_training_metrics_are_the_metrics_parts(engine, member):
    with session_scope(engine) as session:
        model = draft_model(session, member)
        add_version(session, model, metrics={"accuracy": 0.8})
        shown = service.public(session, model)
        assert shown.performance_metrics == {"accuracy": 0.8} and shown.training_metrics is None

        def patch(**fields) -> service.ModelPublic:
            changed = service.update_model(
                session=session, principal=member, model_id=model.id, data=ModelUpdate(**fields)
            )
            return service.public(session, changed)

        # the latest version's performance kept when only the training part is sent
        got = patch(training_metrics={"loss": 0.3})
        assert got.performance_metrics == {"accuracy": 0.8} and got.training_metrics == {"loss": 0.3}
        got = patch(performance_metrics={"accuracy": 0.95, "training": "ignored"})
        assert got.performance_metrics == {"accuracy": 0.95} and got.training_metrics == {"loss": 0.3}
        assert got.metrics == {"accuracy": 0.95, "training": {"loss": 0.3}}
        got = patch(metrics={"r2": 0.5})  # the native name replaces them all
        assert got.performance_metrics == {"r2": 0.5} and got.training_metrics is None
    with pytest.raises(ValidationError, match="not both"):
        ModelUpdate(metrics={}, training_metrics={})


def test_storage_config_ids_name_the_one_training_dataset(engine, member):
    with session_scope(engine) as session:
        model = draft_model(session, member, target="Churn", dataset_id=None)
        request = versions.train_request(
            model, ModelTrainRequest(storage_config_ids=[7], training_config={"time_budget_s": 42})
        )
        assert request.dataset_id == 7 and request.time_budget_s == 42
        assert versions.training_dataset(ModelTrainRequest(storage_config_ids=[7, 7], dataset_id=7)) == 7
        for body, says in (
            (ModelTrainRequest(storage_config_ids=[]), "synthetic"),
            (ModelTrainRequest(storage_config_ids=[7, 8]), "one dataset"),
            (ModelTrainRequest(storage_config_ids=[7], dataset_id=8), "different datasets"),
        ):
            with pytest.raises(Invalid, match=says):
                versions.train_request(model, body)


def test_a_workers_reports_with_the_documents_names_need_the_runs_secret(engine, settings, member):
    secret, secret_hash = tokens.new_secret()
    with session_scope(engine) as session:
        model = draft_model(session, member)
        run = add_version(
            session, model, JobStatus.RUNNING, callback_secret_hash=secret_hash, shap_enabled=False
        )
        model_id, run_id, prefix = model.id, run.id, model_prefix(run)
    done = VersionComplete(
        artifact_path=f"{prefix}/model",
        performance_metrics={"accuracy": 0.9},
        training_metrics={"loss": 0.1},
        preprocess={"storage_key": f"{prefix}/pre", "encoding": "ordinal"},
    )
    with session_scope(engine) as session, pytest.raises(Unauthorized):
        callbacks.report(
            session=session,
            settings=settings,
            jobs=None,
            token="guess",
            model_id=model_id,
            version="v1",
            body=done,
        )
    with session_scope(engine) as session:
        callbacks.report(
            session=session,
            settings=settings,
            jobs=None,
            token=secret,
            model_id=model_id,
            version="v1",
            body=done,
        )
    with session_scope(engine) as session:
        stored = session.get(TrainingRun, run_id)
        assert stored is not None and stored.status == JobStatus.COMPLETED
        assert stored.artifact_key == f"{prefix}/model"
        assert stored.metrics == {"accuracy": 0.9, "training": {"loss": 0.1}}
        shown = service.public(
            session, service.get_model(session=session, principal=member, model_id=model_id)
        )
        assert shown.performance_metrics == {"accuracy": 0.9} and shown.training_metrics == {"loss": 0.1}
        again = service.get_model(session=session, principal=member, model_id=model_id)
        failing_id = add_version(session, again, JobStatus.RUNNING, callback_secret_hash=secret_hash).id
    with session_scope(engine) as session:
        callbacks.report(
            session=session,
            settings=settings,
            jobs=None,
            token=secret,
            model_id=model_id,
            version="v2",
            body=VersionFailure(reason="out of memory"),
        )
    with session_scope(engine) as session:
        ended = session.get(TrainingRun, failing_id)
        assert ended is not None and ended.status == JobStatus.FAILED and ended.error == "out of memory"
    with pytest.raises(ValidationError, match="other name"):
        VersionComplete(metrics={"a": 1}, performance_metrics={"a": 2})
