"""Templates: the reference's paths and payloads; names unique per tenant."""

from __future__ import annotations

from fastapi import APIRouter

from raylake.platform.deps import IdPath, PageDep, SessionDep, TemplateRead, TemplateWrite
from raylake.platform.templates import service
from raylake.schemas.templates import (
    TemplateCreate,
    TemplateCreated,
    TemplateDeleted,
    TemplatePublic,
    TemplatesPublic,
    TemplateUpdate,
)

router = APIRouter(prefix="/template", tags=["templates"])


@router.post("/", response_model=TemplateCreated, status_code=201)
def create_template(session: SessionDep, principal: TemplateWrite, data: TemplateCreate) -> TemplateCreated:
    """Create a template (columns with types and roles), its name unique in your tenant: 201 with its id."""
    created = service.create_template(session=session, principal=principal, data=data)
    return TemplateCreated(id=created.id)


@router.get("/list", response_model=TemplatesPublic)
def list_templates(
    session: SessionDep,
    principal: TemplateRead,
    page: PageDep,
) -> TemplatesPublic:
    """A page of your tenant's templates as summaries; and how many there are."""
    data, total = service.list_templates(
        session=session, principal=principal, skip=page.skip, limit=page.limit
    )
    return TemplatesPublic(total=total, data=data)


@router.get("/{template_id}", response_model=TemplatePublic)
def read_template(session: SessionDep, principal: TemplateRead, template_id: IdPath) -> TemplatePublic:
    """A template with its columns."""
    template = service.get_template(session=session, principal=principal, template_id=template_id)
    return service.template_public(session=session, template=template)


@router.put("/update/{template_id}", response_model=TemplatePublic)
def update_template(
    session: SessionDep, principal: TemplateWrite, template_id: IdPath, data: TemplateUpdate
) -> TemplatePublic:
    """Rename a template or replace its columns: the template as it now is."""
    return service.update_template(session=session, principal=principal, template_id=template_id, data=data)


@router.delete("/{template_id}", response_model=TemplateDeleted)
def delete_template(session: SessionDep, principal: TemplateWrite, template_id: IdPath) -> TemplateDeleted:
    """Delete a template and its columns (409 while datasets were validated against it)."""
    service.delete_template(session=session, principal=principal, template_id=template_id)
    return TemplateDeleted()
