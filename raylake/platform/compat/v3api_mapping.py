"""The mapping of reference document 001 (model REST API v3) onto raylake: models, users, columns and
list queries in the document's words, native requests built from its fields."""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from raylake.core.types import DataType
from raylake.core.vocabulary import JobStatus
from raylake.platform.compat.v3api_schemas import (
    V3_TYPES,
    ArtifactFile,
    ArtifactStatus,
    ColumnV3,
    ModelSummaryV3,
    ModelV3,
    Normal,
    Ref,
    SchemaV3,
    UserRef,
    V3Status,
)
from raylake.platform.errors import Invalid
from raylake.platform.registry import artifacts, projects, service
from raylake.platform.registry.models import Predictor
from raylake.platform.tenancy import Principal
from raylake.platform.tenants import service as tenants
from raylake.platform.users import service as users
from raylake.platform.users.models import User
from raylake.schemas.factory import ModelColumn
from raylake.schemas.registry import ModelPublic

META = "v3api"  # the model metadata key holding the document's fields raylake has no column for
# The document's field names that ``filter`` and ``ordering`` take, and raylake's names for them.
FILTER_FIELDS = {
    "id": "uid",
    "name": "name",
    "status": "status",
    "task": "task",
    "owner": "owner",
    "owner_id": "owner",
    "created_by": "created_by",
    "updated_by": "updated_by",
}
ORDER_FIELDS = {
    "name": "name",
    "status": "status",
    "task": "task",
    "owner": "owner",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
N = TypeVar("N", bound=BaseModel)


def native(cls: type[N], **fields: Any) -> N:
    """A native request built from the document's fields (422 saying why it does not fit)."""
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise Invalid(f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))) from None


def extra(model: Predictor) -> dict[str, Any]:
    """The document's fields stored on a model (its metadata's ``v3api``)."""
    return dict(model.model_metadata.get(META) or {})


def columns_v3(columns: list[ModelColumn]) -> list[ColumnV3]:
    """raylake's columns with the document's type names (a String listing categories: ``category``)."""
    return [
        ColumnV3(
            **c.model_dump(exclude={"data_type", "nullable"}),
            data_type="category"
            if c.data_type == DataType.STRING and c.categories is not None
            else V3_TYPES[c.data_type],
        )
        for c in columns
    ]


def _user(name: str, found: dict[str, User]) -> UserRef:
    user = found.get(name)
    if user is None:
        return UserRef(id=name, full_name=name, email=None)
    full = " ".join(part for part in (user.first_name, user.last_name) if part) or user.username
    return UserRef(id=user.username, full_name=full, email=user.email)


def shown(
    session: Session,
    principal: Principal,
    models: list[Predictor],
    *,
    latest_only: bool = False,
    detail: bool = False,
) -> list[ModelSummaryV3]:
    """Models in the document's shape, with their organization, project and users named."""
    publics = service.public_many(session, models, latest_only=latest_only)
    project_of = {
        pid: projects.get_project(session=session, principal=principal, project_id=pid)
        for pid in {m.project_id for m in models}
    }
    tenant_of = {
        tid: tenants.get_tenant(session=session, tenant_id=tid) for tid in {m.tenant_id for m in models}
    }
    names = sorted({name for m in models for name in (m.owner, m.created_by, m.updated_by)})
    found = users.by_username(session=session, principal=principal, usernames=names)
    out: list[ModelSummaryV3] = []
    for model, public in zip(models, publics, strict=True):
        stored, project, tenant = extra(model), project_of[model.project_id], tenant_of[model.tenant_id]
        fields: dict[str, Any] = dict(
            id=model.uid,
            name=public.name,
            version=stored.get("version") or (public.versions[0].version if public.versions else "v1"),
            status=V3Status.of(public.status),
            organization=Ref(id=model.tenant_id, name=tenant.name if tenant else model.tenant_id),
            project=Ref(id=project.uid, name=project.name),
            input_type=stored.get("input_type") or "structured",
            task=public.task.value,
            description=public.description,
            owner=_user(public.owner, found),
            deployment_date=stored.get("deployment_date"),
            artifact_status=ArtifactStatus.USER_UPLOADED
            if any(v.status == JobStatus.COMPLETED for v in public.versions)
            else ArtifactStatus.NO_MODEL,
            algorithm=stored.get("algorithm") or (public.versions[0].algorithm if public.versions else None),
            framework=stored.get("framework"),
            created_by=_user(public.created_by, found),
            updated_by=_user(public.updated_by, found),
            created_at=public.created_at,
            updated_at=public.updated_at,
        )
        if not detail:
            out.append(ModelSummaryV3(**fields))
            continue
        files, _ = artifacts.list_artifacts(session=session, principal=principal, model_id=model.uid)
        out.append(
            ModelV3(
                **fields,
                task_params=stored.get("task_params"),
                columns_schema=_schema(public),
                spec=public.spec,
                event_id_col=stored.get("event_id_col"),
                event_ts_col=stored.get("event_ts_col"),
                event_ts_format=stored.get("event_ts_format"),
                xai_params=stored.get("xai_params"),
                artifact_files=[
                    ArtifactFile(name=f.filename, size=f.size, modified=f.created_at) for f in files
                ],
            )
        )
    return out


def _schema(public: ModelPublic) -> SchemaV3 | None:
    if public.columns_schema is None:
        return None
    return SchemaV3(schema_version=1, columns=columns_v3(public.columns_schema.columns))


def one(session: Session, principal: Principal, model: Predictor) -> Normal[ModelV3]:
    """One model's details in the document's envelope."""
    found = shown(session, principal, [model], detail=True)[0]
    assert isinstance(found, ModelV3)
    return Normal[ModelV3](data=found)


def _rules(raw: str) -> list[tuple[str, str]]:
    """``filter`` as (field, value) pairs: the document's JSON query (rules joined by AND, each
    ``equal``), or one ``field:value``."""
    if not raw.lstrip().startswith("{"):
        field, sep, value = raw.partition(":")
        if not sep:
            raise Invalid("filter is a JSON query or field:value")
        return [(field.strip(), value)]
    try:
        query = json.loads(raw)
        if str(query.get("condition", "AND")).upper() != "AND":
            raise Invalid("filter rules are joined by AND")
        pairs = []
        for rule in query["rules"]:
            if rule.get("operator", "equal") != "equal":
                raise Invalid(f"filter operator {rule.get('operator')!r} is not supported: use equal")
            pairs.append((str(rule["field"]), str(rule["value"])))
        return pairs
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Invalid(
            'filter is {"condition": "AND", "rules": [{"field", "operator": "equal", "value"}]}'
        ) from None


def filters(raw: str | None) -> list[str]:
    """The document's ``filter`` as raylake's ``field:value`` filters."""
    out = []
    for field, value in _rules(raw) if raw else []:
        if field not in FILTER_FIELDS:
            raise Invalid(f"cannot filter by {field!r}; valid: {', '.join(FILTER_FIELDS)}")
        if field == "status":
            try:
                value = V3Status(value).native.value
            except ValueError:
                raise Invalid(f"status is one of {', '.join(V3Status)}") from None
        if field == "id":
            try:
                value = str(UUID(value))
            except ValueError:
                raise Invalid(f"a model id is a UUID, not {value!r}") from None
        out.append(f"{FILTER_FIELDS[field]}:{value}")
    return out


def ordering(raw: str | None) -> str | None:
    """The document's ``ordering`` (``-created_at,name``) in raylake's field names."""
    terms = []
    for part in (raw or "").split(","):
        name = part.strip().lstrip("-+")
        if not name:
            continue
        if name not in ORDER_FIELDS:
            raise Invalid(f"cannot order by {name!r}; valid: {', '.join(ORDER_FIELDS)}")
        terms.append(("-" if part.strip().startswith("-") else "") + ORDER_FIELDS[name])
    return ",".join(terms) or None


def page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    """A PAGINATED envelope's ``data``: the items and where they stand in the whole."""
    return dict(
        items=items,
        page_size=limit,
        total=total,
        item_count=len(items),
        page_count=math.ceil(total / limit),
        page_index=offset // limit + 1,
        offset=offset,
    )
