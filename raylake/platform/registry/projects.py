"""Projects: a tenant's groups of models. Every tenant has a ``default`` one, made with the tenant."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from raylake.platform.clock import utcnow
from raylake.platform.db import paged
from raylake.platform.errors import Conflict, NotFound
from raylake.platform.registry.models import DEFAULT_PROJECT, Predictor, Project
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.schemas.registry import ProjectCreate, ProjectPublic, ProjectUpdate


def default_project(session: Session, tenant_id: str, username: str = "system") -> Project:
    """The tenant's default project, made when missing."""
    project = session.exec(
        select(Project).where(Project.tenant_id == tenant_id, Project.name == DEFAULT_PROJECT)
    ).first()
    if project is None:
        project = Project(
            tenant_id=tenant_id,
            name=DEFAULT_PROJECT,
            description="The tenant's default project",
            created_by=username,
            updated_by=username,
        )
        session.add(project)
        session.flush()
    return project


def _name_free(session: Session, tenant_id: str, name: str, keep: int | None = None) -> None:
    clash = session.exec(
        select(Project.id).where(Project.tenant_id == tenant_id, func.lower(Project.name) == name.lower())
    ).first()
    if clash is not None and clash != keep:
        raise Conflict(f"project {name!r} already exists")


def create_project(*, session: Session, principal: Principal, data: ProjectCreate) -> Project:
    """A new project in the caller's tenant, its name unique there."""
    _name_free(session, principal.tenant_id, data.name)
    project = Project(
        tenant_id=principal.tenant_id,
        name=data.name,
        description=data.description,
        created_by=principal.username,
        updated_by=principal.username,
    )
    session.add(project)
    session.flush()
    return project


def get_project(*, session: Session, principal: Principal, project_id: int | str) -> Project:
    """A project the caller may see, by its id or its uid; NotFound otherwise."""
    if isinstance(project_id, int) or project_id.isdigit():
        return get_scoped(session, Project, int(project_id), principal, "Project")
    found = session.exec(
        scoped(select(Project), Project, principal).where(Project.uid == project_id.lower())
    ).first()
    if found is None:
        raise NotFound(f"Project {project_id} not found")
    return found


def list_projects(
    *, session: Session, principal: Principal, skip: int, limit: int
) -> tuple[list[Project], int]:
    """A page of the caller's projects, oldest first, and how many there are."""
    stmt = scoped(select(Project), Project, principal).order_by(col(Project.id))
    return paged(session, stmt, skip=skip, limit=limit)


def update_project(
    *, session: Session, principal: Principal, project_id: int, data: ProjectUpdate
) -> Project:
    """Rename or redescribe a project (the default project keeps its name)."""
    project = get_project(session=session, principal=principal, project_id=project_id)
    if data.name is not None and data.name != project.name:
        if project.name == DEFAULT_PROJECT:
            raise Conflict("the default project keeps its name")
        _name_free(session, project.tenant_id, data.name, keep=project.id)
        project.name = data.name
    if data.description is not None:
        project.description = data.description
    project.updated_by, project.updated_at = principal.username, utcnow()
    session.add(project)
    session.flush()
    return project


def model_count(session: Session, project_id: int) -> int:
    """How many registered models a project holds."""
    return int(
        session.exec(
            select(func.count()).select_from(Predictor).where(Predictor.project_id == project_id)
        ).one()
    )


def delete_project(*, session: Session, principal: Principal, project_id: int) -> None:
    """Remove an empty project (409 while it holds models; the default one is kept)."""
    project = get_project(session=session, principal=principal, project_id=project_id)
    if project.name == DEFAULT_PROJECT:
        raise Conflict("the default project cannot be deleted")
    held = model_count(session, project_id)
    if held:
        raise Conflict(f"project {project.name!r} holds {held} models: delete or move them first")
    session.delete(project)
    session.flush()


def public(session: Session, project: Project) -> ProjectPublic:
    """A project as the API shows it, with its model count."""
    assert project.id is not None
    return ProjectPublic(**project.model_dump(), models=model_count(session, project.id))
