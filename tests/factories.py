"""Test data: unique names per call, so tests share one store without stepping on each other."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from raylake.core.vocabulary import JobStatus
from raylake.platform.auth.service import authenticate
from raylake.platform.config import Settings
from raylake.platform.datasets import service as datasets
from raylake.platform.datasets.ingest import Staged
from raylake.platform.datasets.models import Dataset, DatasetFile
from raylake.platform.db import session_scope
from raylake.platform.rbac import service as rbac
from raylake.platform.registry import service as registry
from raylake.platform.registry.models import Predictor
from raylake.platform.tenancy import Principal
from raylake.platform.tenants import service as tenants
from raylake.platform.training.models import TrainingRun
from raylake.platform.users import service as users
from raylake.platform.users.models import User
from raylake.schemas.registry import ModelCreate
from raylake.schemas.users import UserCreate
from tests.datafiles import write

PASSWORD = "correct-horse-battery"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def superuser_principal(engine: Engine, settings: Settings) -> Principal:
    with session_scope(engine) as session:
        admin = session.exec(select(User).where(User.username == settings.first_superuser)).one()
        assert admin.id is not None
        return Principal(
            user_id=admin.id, username=admin.username, tenant_id=admin.tenant_id, is_superuser=True
        )


def create_tenant(engine: Engine) -> str:
    with session_scope(engine) as session:
        return tenants.create_tenant(session=session, name=unique("tenant-")).id


def create_user(
    engine: Engine, settings: Settings, *, tenant_id: str, roles: list[str], password: str = PASSWORD
) -> Principal:
    """A user in a tenant with the given roles, returned as the Principal the API would build for them."""
    su = superuser_principal(engine, settings)
    name = unique("user")
    with session_scope(engine) as session:
        public = users.create_user(
            session=session,
            principal=su,
            data=UserCreate(
                tenant_id=tenant_id,
                username=name,
                email=f"{name}@example.com",
                password=password,
                roles=roles,
            ),
        )
        permissions = rbac.user_permissions(session=session, user_id=public.id)
    return Principal(user_id=public.id, username=name, tenant_id=tenant_id, permissions=permissions)


__all__ = ["PASSWORD", "authenticate", "create_tenant", "create_user", "superuser_principal", "unique"]


CHURN_ROLES = [
    {"name": "Tenure", "data_type": "Integer", "attribute": "Feature"},
    {"name": "Plan", "data_type": "String", "attribute": "Feature"},
    {"name": "Churn", "data_type": "Boolean", "attribute": "Target"},
]


def draft_model(session: Session, principal: Principal, **fields: Any) -> Predictor:
    """A registered model, a draft (a unique churn classifier unless ``fields`` say otherwise)."""
    body = {"name": unique("churn"), "task": "binary_classification", **fields}
    return registry.create_model(session=session, principal=principal, data=ModelCreate.model_validate(body))


def add_version(
    session: Session, model: Predictor, status: str = JobStatus.COMPLETED, **fields: Any
) -> TrainingRun:
    """A version's row as its training job leaves it (the job itself is the API tests' to run)."""
    version = len(session.exec(select(TrainingRun).where(TrainingRun.predictor_id == model.id)).all()) + 1
    completed = status == JobStatus.COMPLETED
    values: dict[str, Any] = {
        "problem_type": model.problem_type,
        "domain": model.domain,
        "dataset_name": "d",
        "columns": CHURN_ROLES,
        "algorithm": "LightGBM",
        "metrics": {"accuracy": 0.9, "labels": ["false", "true"]} if completed else None,
        "created_by": "someone",
        **fields,
    }
    run = TrainingRun(
        tenant_id=model.tenant_id,
        predictor_id=model.id,  # type: ignore[arg-type]
        version=version,
        status=status,
        **values,
    )
    session.add(run)
    session.flush()
    return run


def upload_dataset(
    engine: Engine, ctx: Any, principal: Principal, tmp_path: Path, content: bytes, **params: Any
) -> tuple[Dataset, list[DatasetFile]]:
    """A CSV uploaded as a new dataset (training data unless ``usage`` says otherwise), as the upload
    route would: the dataset and its file rows."""
    path = write(tmp_path, f"{unique('f')}.csv", content)
    staged = [Staged(path=path, file_name=path.name, size=len(content))]
    params = {"dataset_name": unique("ds-"), "template_id": None, "usage": "t", **params}
    with session_scope(engine) as session:
        return datasets.upload(session=session, ctx=ctx, principal=principal, staged=staged, **params)
