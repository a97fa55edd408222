"""Templates: a tenant's named column contracts (name, data type, optional default per column).

Every check a client can fail is a 422 naming the field and, for columns, the column; the type rules
live in ``core/types.py`` so the dataset validator applies exactly the same ones.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from raylake.core import types
from raylake.platform.clock import utcnow
from raylake.platform.datasets.models import Dataset
from raylake.platform.errors import Conflict, Invalid
from raylake.platform.templates.models import Template, TemplateColumn
from raylake.platform.tenancy import Principal, get_scoped, scoped, target_tenant
from raylake.schemas.templates import (
    TemplateColumnIn,
    TemplateColumnPublic,
    TemplateCreate,
    TemplatePublic,
    TemplateSummary,
    TemplateUpdate,
)

MAX_TEMPLATE_NAME = 128
MAX_COLUMNS = 2_000
MAX_COLUMN_NAME = 256
MAX_DEFAULT_VALUE = 1_024


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _clean_template_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= MAX_TEMPLATE_NAME:
        raise Invalid(f"template_name must be 1-{MAX_TEMPLATE_NAME} characters")
    if _has_control_characters(cleaned):
        raise Invalid("template_name must not contain control characters")
    return cleaned


def _name_key(name: str) -> str:
    return name.casefold()


def _validated_columns(columns: list[TemplateColumnIn]) -> list[TemplateColumnPublic]:
    """The columns cleaned (names stripped, types canonical), or Invalid naming the first offending
    column by position and name."""
    if len(columns) > MAX_COLUMNS:
        raise Invalid(f"template_schema has {len(columns)} columns; at most {MAX_COLUMNS} are allowed")
    seen: dict[str, str] = {}
    rows = []
    for position, column in enumerate(columns):
        where = f"template_schema[{position}]"
        name = column.column_name.strip()
        if not name:
            raise Invalid(f"{where}.column_name must not be empty")
        if len(name) > MAX_COLUMN_NAME:
            raise Invalid(f"{where}.column_name {_short(name)} is longer than {MAX_COLUMN_NAME} characters")
        if _has_control_characters(name):
            raise Invalid(f"{where}.column_name {_short(name)} contains control characters")
        where = f"{where} (column {_short(name)})"
        key = _name_key(name)
        if key in seen:
            raise Invalid(f"{where}: column_name duplicates {_short(seen[key])} (column names ignore case)")
        seen[key] = name
        try:
            data_type = types.resolve(column.data_type)
        except ValueError as exc:
            raise Invalid(f"{where}: {exc}") from None
        default = column.default_value
        if default is not None:
            if len(default) > MAX_DEFAULT_VALUE:
                raise Invalid(f"{where}: default_value is longer than {MAX_DEFAULT_VALUE} characters")
            try:
                types.parse_value(data_type, default)
            except ValueError as exc:
                raise Invalid(f"{where}: default_value {exc}") from None
        rows.append(TemplateColumnPublic(column_name=name, data_type=data_type.value, default_value=default))
    return rows


def _ensure_name_free(session: Session, *, tenant_id: str, name: str, exclude_id: int | None = None) -> None:
    stmt = select(Template).where(Template.tenant_id == tenant_id, Template.name_key == _name_key(name))
    if exclude_id is not None:
        stmt = stmt.where(Template.id != exclude_id)
    if session.exec(stmt).first() is not None:
        raise Conflict(f"A template named {name!r} already exists")


def _flush_template(session: Session, template: Template) -> None:
    """Flush, turning a lost race on the (tenant, name) constraint into the same 409 as the check."""
    session.add(template)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"A template named {template.template_name!r} already exists") from None


def _replace_columns(session: Session, template: Template, columns: list[TemplateColumnPublic]) -> None:
    assert template.id is not None
    session.exec(delete(TemplateColumn).where(col(TemplateColumn.template_id) == template.id))
    session.add_all(
        TemplateColumn(template_id=template.id, position=position, **column.model_dump())
        for position, column in enumerate(columns)
    )
    session.flush()


def template_columns(*, session: Session, template: Template) -> list[TemplateColumn]:
    """A template's columns in order. Takes the row from ``get_template``, so it is tenant-checked."""
    return list(
        session.exec(
            select(TemplateColumn)
            .where(TemplateColumn.template_id == template.id)
            .order_by(col(TemplateColumn.position))
        )
    )


def _column_counts(session: Session, template_ids: list[int]) -> dict[int, int]:
    rows = session.exec(
        select(TemplateColumn.template_id, func.count())
        .where(col(TemplateColumn.template_id).in_(template_ids))
        .group_by(col(TemplateColumn.template_id))
    )
    return dict(rows.all())


def _summary(template: Template, no_of_columns: int) -> TemplateSummary:
    return TemplateSummary(**template.model_dump(exclude={"name_key"}), no_of_columns=no_of_columns)


def template_public(*, session: Session, template: Template) -> TemplatePublic:
    """A template as the API shows it, with its columns."""
    columns = template_columns(session=session, template=template)
    return TemplatePublic(
        **_summary(template, len(columns)).model_dump(),
        template_schema=[TemplateColumnPublic.model_validate(c, from_attributes=True) for c in columns],
    )


def create_template(*, session: Session, principal: Principal, data: TemplateCreate) -> TemplatePublic:
    """A new template with validated columns, its name unique in the tenant."""
    tenant_id = target_tenant(session, principal, data.tenant_id)
    name = _clean_template_name(data.template_name)
    columns = _validated_columns(data.template_schema)
    _ensure_name_free(session, tenant_id=tenant_id, name=name)
    now = utcnow()
    template = Template(
        tenant_id=tenant_id,
        template_name=name,
        name_key=_name_key(name),
        created_by=principal.username,
        created_at=now,
        modified_by=principal.username,
        modified_at=now,
    )
    _flush_template(session, template)
    _replace_columns(session, template, columns)
    return template_public(session=session, template=template)


def list_templates(
    *, session: Session, principal: Principal, skip: int, limit: int
) -> tuple[list[TemplateSummary], int]:
    """A page of the caller's templates as summaries, and how many there are."""
    total = session.exec(scoped(select(func.count()).select_from(Template), Template, principal)).one()
    templates = list(
        session.exec(
            scoped(select(Template), Template, principal).order_by(col(Template.id)).offset(skip).limit(limit)
        )
    )
    counts = _column_counts(session, [t.id for t in templates if t.id is not None])
    return [_summary(t, counts.get(t.id or 0, 0)) for t in templates], total


def get_template(*, session: Session, principal: Principal, template_id: int) -> Template:
    """A template the caller may see; NotFound otherwise."""
    return get_scoped(session, Template, template_id, principal, "Template")


def update_template(
    *, session: Session, principal: Principal, template_id: int, data: TemplateUpdate
) -> TemplatePublic:
    """Rename a template or replace its columns; the template as it now is."""
    template = get_template(session=session, principal=principal, template_id=template_id)
    name = _clean_template_name(data.template_name)
    columns = None if data.template_schema is None else _validated_columns(data.template_schema)
    _ensure_name_free(session, tenant_id=template.tenant_id, name=name, exclude_id=template.id)
    template.template_name = name
    template.name_key = _name_key(name)
    template.modified_by = principal.username
    template.modified_at = utcnow()
    _flush_template(session, template)
    if columns is not None:
        _replace_columns(session, template, columns)
    return template_public(session=session, template=template)


def ensure_not_in_use(*, session: Session, template: Template) -> None:
    """Refuse to delete a template that datasets were validated against (409 naming them)."""
    names = sorted(session.exec(select(Dataset.dataset_name).where(Dataset.template_id == template.id)))
    if names:
        shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        raise Conflict(f"Template is used by datasets: {shown}")


def delete_template(*, session: Session, principal: Principal, template_id: int) -> None:
    """Remove a template no dataset uses, with its columns."""
    template = get_template(session=session, principal=principal, template_id=template_id)
    ensure_not_in_use(session=session, template=template)
    session.delete(template)  # its template_columns go with it (ON DELETE CASCADE)
    session.flush()
