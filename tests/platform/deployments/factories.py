"""Rows for the deployments' service tests: a trained model with versions, and a deployment's row as
``service.create`` leaves it (Serve itself is the API tests')."""

from __future__ import annotations

from sqlmodel import Session

from raylake.core.vocabulary import JobStatus, ModelStatus
from raylake.platform.registry.models import ModelDeployment, Predictor
from raylake.platform.tenancy import Principal
from raylake.platform.training.models import TrainingRun
from tests.factories import add_version, draft_model, unique


def trained(session: Session, principal: Principal) -> tuple[Predictor, list[TrainingRun]]:
    """A trained model: v1 and v2 completed, v3 failed."""
    model = draft_model(session, principal)
    model.status = ModelStatus.TRAINED
    runs = [
        add_version(session, model),
        add_version(session, model),
        add_version(session, model, JobStatus.FAILED),
    ]
    return model, runs


def deployed(session: Session, model: Predictor, run: TrainingRun) -> ModelDeployment:
    """A deployment's row as ``service.create`` leaves it (Serve is the API tests')."""
    row = ModelDeployment(
        tenant_id=model.tenant_id,
        model_id=model.id,  # type: ignore[arg-type]
        train_id=run.id,  # type: ignore[arg-type]
        version=f"v{run.version}",
        app_name=unique("app-"),
        created_by="someone",
    )
    session.add(row)
    session.flush()
    return row
