"""Tenants: created by superusers, each seeded with the permission catalogue and default roles; deleted
by superusers with everything they hold."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from raylake.core.layout import forecast_table, prediction_table
from raylake.core.vocabulary import FINAL
from raylake.platform import lake
from raylake.platform import models as _all_tables  # noqa: F401  (the delete walks every table)
from raylake.platform.config import Settings
from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets.models import Dataset
from raylake.platform.errors import Conflict, NotFound
from raylake.platform.inference import service as inference
from raylake.platform.inference.loading import tenant_prefix
from raylake.platform.inference.models import Prediction
from raylake.platform.jobs import RayJobs
from raylake.platform.lake import Lake
from raylake.platform.ray_jobs.service import USAGES
from raylake.platform.rbac import service as rbac
from raylake.platform.registry import projects
from raylake.platform.registry.models import ModelDeployment
from raylake.platform.tenancy import Principal
from raylake.platform.tenants.models import Tenant
from raylake.platform.training.models import TrainingRun


def create_tenant(*, session: Session, name: str) -> Tenant:
    """A new tenant with its built-in roles and default project; Conflict for a taken name."""
    if session.exec(select(Tenant).where(func.lower(Tenant.name) == name.lower())).first():
        raise Conflict(f"Tenant {name!r} already exists")
    tenant = Tenant(name=name)
    session.add(tenant)
    session.flush()
    rbac.seed_tenant(session=session, tenant_id=tenant.id)
    projects.default_project(session, tenant.id)
    return tenant


def list_tenants(*, session: Session, skip: int, limit: int) -> tuple[list[Tenant], int]:
    """A page of tenants, oldest first, and how many there are."""
    total = session.exec(select(func.count()).select_from(Tenant)).one()
    return list(
        session.exec(select(Tenant).order_by(col(Tenant.created_at)).offset(skip).limit(limit))
    ), total


def get_by_name(*, session: Session, name: str) -> Tenant | None:
    """The tenant with exactly this name, if any."""
    return session.exec(select(Tenant).where(Tenant.name == name)).first()


def get_tenant(*, session: Session, tenant_id: str) -> Tenant | None:
    """The tenant with this id, if any."""
    return session.get(Tenant, tenant_id)


def _lake_tables(session: Session, tenant_id: str) -> set[tuple[str, str]]:
    """Every Iceberg table the tenant's rows name: owned ones, and those a row implies (in case an
    ownership row was never written, e.g. a forecast table created by a request that then failed)."""
    tables = set(
        session.exec(
            select(LakeTable.namespace, LakeTable.name).where(LakeTable.tenant_id == tenant_id)
        ).all()
    )
    for name in session.exec(select(Dataset.iceberg_table_name).where(Dataset.tenant_id == tenant_id)).all():
        if name:
            tables |= {("silver", name), ("bronze", name)}
    for run in session.exec(select(TrainingRun).where(TrainingRun.tenant_id == tenant_id)).all():
        tables.add(("gold", forecast_table(run)))
    for prediction in session.exec(
        select(Prediction).where(Prediction.tenant_id == tenant_id, Prediction.prediction_type == "batch")
    ).all():
        tables.add(("gold", prediction_table(prediction)))
    return tables


def delete_tenant(
    *,
    session: Session,
    settings: Settings,
    ctx: Lake,
    jobs: RayJobs,
    principal: Principal,
    tenant_id: str,
    gateway: inference.Gateway | None = None,
) -> None:
    """Remove a tenant and everything it holds: its running Ray jobs are stopped and its dedicated
    deployments deleted first; then every row of it, its lake tables and its folder of the file store;
    once committed, every replica forgets its models and callers. The default tenant and the caller's
    own are refused (409): the platform and the caller both need theirs."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"Tenant {tenant_id} not found")
    if tenant.name == settings.default_tenant or tenant.id == principal.tenant_id:
        raise Conflict(f"Tenant {tenant.name!r} cannot be deleted: it is the default tenant or your own")
    for model in USAGES.values():
        for row in session.exec(select(model).where(model.tenant_id == tenant_id)).all():
            if row.ray_job_id and row.status not in FINAL:
                jobs.stop(row.ray_job_id)
    for deployment in session.exec(
        select(ModelDeployment).where(ModelDeployment.tenant_id == tenant_id)
    ).all():
        if gateway is not None:
            gateway.undeploy(deployment.app_name)
    tables = _lake_tables(session, tenant_id)
    for table in reversed(SQLModel.metadata.sorted_tables):  # children first; theirs cascade
        if "tenant_id" in table.c and table.name != Tenant.__tablename__:
            session.exec(table.delete().where(table.c.tenant_id == tenant_id))
    session.delete(tenant)
    session.flush()
    for namespace, name in sorted(tables):
        lake.drop(ctx.catalog, namespace, name)
    ctx.store.delete_prefix(tenant_id)
    inference.forget_after_commit(session, gateway, tenant_prefix(tenant_id), principals=True)
