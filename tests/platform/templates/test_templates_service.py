"""Templates at the service level on both backends (no Ray): the contract's rules and tenant walls."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import select

from raylake.core.types import DataType, parse_value, resolve
from raylake.platform.db import session_scope
from raylake.platform.errors import Conflict, Invalid, NotFound
from raylake.platform.templates import service as templates
from raylake.platform.templates.models import TemplateColumn
from raylake.schemas.templates import TemplateColumnIn, TemplateCreate, TemplateUpdate
from tests.factories import create_tenant, create_user, superuser_principal, unique

TELECOM = [
    {"column_name": "CustomerID", "data_type": "String", "default_value": "CUST-0000"},
    {"column_name": "DataUsageGB", "data_type": "Float", "default_value": "0.0"},
]


@pytest.fixture
def admin(engine, settings):
    return create_user(engine, settings, tenant_id=create_tenant(engine), roles=["admin"])


def _create(engine, principal, columns=TELECOM, name=None, **extra):
    data = TemplateCreate(template_name=name or unique("Telecom "), template_schema=columns, **extra)
    with session_scope(engine) as session:
        return templates.create_template(session=session, principal=principal, data=data)


def _invalid(engine, principal, columns, name=None) -> str:
    with pytest.raises(Invalid) as caught, session_scope(engine) as session:
        templates.create_template(
            session=session,
            principal=principal,
            data=TemplateCreate(template_name=unique("t") if name is None else name, template_schema=columns),
        )
    return caught.value.detail


def test_create_get_list(engine, admin):
    created = _create(engine, admin)
    assert created.tenant_id == admin.tenant_id and created.no_of_columns == 2
    assert created.created_by == created.modified_by == admin.username
    assert created.created_at.tzinfo is not None and created.created_at == created.modified_at
    with session_scope(engine) as session:
        template = templates.get_template(session=session, principal=admin, template_id=created.id)
        public = templates.template_public(session=session, template=template)
        columns = templates.template_columns(session=session, template=template)
        listed, total = templates.list_templates(session=session, principal=admin, skip=0, limit=100)
    assert [c.model_dump() for c in public.template_schema] == TELECOM
    assert [(c.position, c.column_name) for c in columns] == [(0, "CustomerID"), (1, "DataUsageGB")]
    assert total == 1 and [(t.id, t.no_of_columns, t.template_name) for t in listed] == [
        (created.id, 2, created.template_name)
    ]


def test_empty_schema_and_types_canonical(engine, admin):
    assert _create(engine, admin, columns=[]).no_of_columns == 0
    columns = [
        {"column_name": " a ", "data_type": "STR"},
        {"column_name": "b", "data_type": "bigint", "default_value": "-42"},
        {"column_name": "c", "data_type": "Double", "default_value": "1e-3"},
        {"column_name": "d", "data_type": "bool", "default_value": "Yes"},
        {"column_name": "e", "data_type": "date", "default_value": "2025-09-18"},
        {"column_name": "f", "data_type": "TIMESTAMP", "default_value": "2025-09-18T10:00:00Z"},
        {"column_name": "g", "data_type": "number", "default_value": 0.5},
        {"column_name": "h", "data_type": "Boolean", "default_value": False},
    ]
    created = _create(engine, admin, columns=columns)
    assert [(c.column_name, c.data_type, c.default_value) for c in created.template_schema] == [
        ("a", "String", None),
        ("b", "Integer", "-42"),
        ("c", "Float", "1e-3"),
        ("d", "Boolean", "Yes"),
        ("e", "Date", "2025-09-18"),
        ("f", "DateTime", "2025-09-18T10:00:00Z"),
        ("g", "Float", "0.5"),
        ("h", "Boolean", "false"),
    ]


@pytest.mark.parametrize(
    ("column", "named"),
    [
        ({"column_name": "Age", "data_type": "Integer", "default_value": "abc"}, "'Age'"),
        ({"column_name": "Age", "data_type": "Integer", "default_value": "1.5"}, "'Age'"),
        ({"column_name": "Rate", "data_type": "Float", "default_value": "fast"}, "'Rate'"),
        ({"column_name": "Flag", "data_type": "Boolean", "default_value": "maybe"}, "'Flag'"),
        ({"column_name": "Day", "data_type": "Date", "default_value": "18/09/2025"}, "'Day'"),
        ({"column_name": "Day", "data_type": "Date", "default_value": "2025-02-30"}, "'Day'"),
        ({"column_name": "At", "data_type": "DateTime", "default_value": "yesterday"}, "'At'"),
        ({"column_name": "Blob", "data_type": "binary"}, "'Blob'"),
        ({"column_name": "Long", "data_type": "String", "default_value": "x" * 1025}, "'Long'"),
        ({"column_name": "", "data_type": "String"}, "template_schema[1].column_name"),
        ({"column_name": "   ", "data_type": "String"}, "template_schema[1].column_name"),
        ({"column_name": "x" * 257, "data_type": "String"}, "template_schema[1].column_name"),
        ({"column_name": "tab\there", "data_type": "String"}, "template_schema[1].column_name"),
        ({"column_name": "nul\x00", "data_type": "String"}, "template_schema[1].column_name"),
        ({"column_name": "customerid", "data_type": "String"}, "'customerid'"),
    ],
)
def test_invalid_columns_422_name_the_column(engine, admin, column, named):
    detail = _invalid(engine, admin, [TELECOM[0], column])
    assert named in detail and "template_schema[1]" in detail


def test_column_limits(engine, admin):
    at_limit = [{"column_name": f"c{i}", "data_type": "int"} for i in range(templates.MAX_COLUMNS)]
    assert _create(engine, admin, columns=at_limit).no_of_columns == templates.MAX_COLUMNS
    too_many = [*at_limit, {"column_name": "one_more", "data_type": "int"}]
    assert "at most 2000" in _invalid(engine, admin, too_many)
    assert _create(engine, admin, columns=[{"column_name": "x" * 256, "data_type": "text"}])


@pytest.mark.parametrize("name", ["", "   ", "x" * 129, "bad\nname"])
def test_invalid_template_name_422(engine, admin, name):
    assert "template_name" in _invalid(engine, admin, TELECOM, name=name)


def test_duplicate_name_409_case_insensitive_per_tenant(engine, settings, admin):
    name = unique("Dup ")
    _create(engine, admin, name=name)
    with pytest.raises(Conflict):
        _create(engine, admin, name=name.upper())
    other = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["admin"])
    assert _create(engine, other, name=name).tenant_id == other.tenant_id


def test_update_renames_and_replaces_schema(engine, settings, admin):
    created = _create(engine, admin)
    editor = create_user(engine, settings, tenant_id=admin.tenant_id, roles=["data_scientist"])
    new_schema = [
        TemplateColumnIn(column_name="CustomerID", data_type="String"),
        TemplateColumnIn(column_name="DataUsageGB", data_type="Float"),
        TemplateColumnIn(column_name="PlanType", data_type="String"),
    ]
    data = TemplateUpdate(template_name=created.template_name + " V2", template_schema=new_schema)
    with session_scope(engine) as session:
        updated = templates.update_template(
            session=session, principal=editor, template_id=created.id, data=data
        )
    assert updated.template_name.endswith(" V2") and updated.no_of_columns == 3
    assert [c.default_value for c in updated.template_schema] == [None, None, None]
    assert updated.modified_by == editor.username and updated.created_by == admin.username
    assert updated.modified_at > updated.created_at
    # template_schema omitted keeps the columns; a case-only rename of itself is no conflict
    with session_scope(engine) as session:
        renamed = templates.update_template(
            session=session,
            principal=admin,
            template_id=created.id,
            data=TemplateUpdate(template_name=updated.template_name.upper()),
        )
    assert renamed.template_name == updated.template_name.upper() and renamed.no_of_columns == 3
    # an invalid new schema changes nothing
    bad = TemplateUpdate(
        template_name="whatever",
        template_schema=[{"column_name": "n", "data_type": "int", "default_value": "x"}],
    )
    with pytest.raises(Invalid) as caught, session_scope(engine) as session:
        templates.update_template(session=session, principal=admin, template_id=created.id, data=bad)
    assert "'n'" in caught.value.detail
    with session_scope(engine) as session:
        template = templates.get_template(session=session, principal=admin, template_id=created.id)
        assert templates.template_public(session=session, template=template) == renamed


def test_update_to_taken_name_409(engine, admin):
    first, second = _create(engine, admin), _create(engine, admin)
    with pytest.raises(Conflict), session_scope(engine) as session:
        templates.update_template(
            session=session,
            principal=admin,
            template_id=second.id,
            data=TemplateUpdate(template_name=first.template_name.lower()),
        )


def test_delete_removes_columns(engine, admin):
    created = _create(engine, admin)
    with session_scope(engine) as session:
        templates.delete_template(session=session, principal=admin, template_id=created.id)
    with session_scope(engine) as session:
        left = session.exec(select(TemplateColumn).where(TemplateColumn.template_id == created.id)).all()
        assert left == []
    with pytest.raises(NotFound), session_scope(engine) as session:
        templates.get_template(session=session, principal=admin, template_id=created.id)
    with pytest.raises(NotFound), session_scope(engine) as session:
        templates.delete_template(session=session, principal=admin, template_id=created.id)


def test_other_tenants_template_is_404(engine, settings, admin):
    created = _create(engine, admin)
    stranger = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["admin"])
    update = TemplateUpdate(template_name="mine now")
    with pytest.raises(NotFound), session_scope(engine) as session:
        templates.get_template(session=session, principal=stranger, template_id=created.id)
    with pytest.raises(NotFound), session_scope(engine) as session:
        templates.update_template(session=session, principal=stranger, template_id=created.id, data=update)
    with pytest.raises(NotFound), session_scope(engine) as session:
        templates.delete_template(session=session, principal=stranger, template_id=created.id)
    with pytest.raises(NotFound):
        _create(engine, stranger, tenant_id=admin.tenant_id)
    with session_scope(engine) as session:
        listed, total = templates.list_templates(session=session, principal=stranger, skip=0, limit=100)
    assert (listed, total) == ([], 0)


def test_superuser_sees_and_creates_across_tenants(engine, settings, admin):
    su = superuser_principal(engine, settings)
    created = _create(engine, admin)
    with session_scope(engine) as session:
        assert templates.get_template(session=session, principal=su, template_id=created.id).id == created.id
        listed, _ = templates.list_templates(session=session, principal=su, skip=0, limit=10_000)
    assert created.id in {t.id for t in listed}
    assert _create(engine, su, tenant_id=admin.tenant_id).tenant_id == admin.tenant_id


def test_types_module():
    assert resolve(" Integer ") is DataType.INTEGER and resolve("TEXT") is DataType.STRING
    with pytest.raises(ValueError):
        resolve("blob")
    assert parse_value("int", " 7 ") == 7 and parse_value("String", " 7 ") == " 7 "
    assert parse_value("Float", "-.5") == -0.5 and parse_value("decimal", "3") == 3.0
    assert [parse_value("bool", v) for v in ("TRUE", "0", "yes", "No")] == [True, False, True, False]
    assert parse_value("date", "2025-09-18") == date(2025, 9, 18)
    assert parse_value("datetime", "2025-09-18T10:00:00+00:00") == datetime.fromisoformat(
        "2025-09-18T10:00:00+00:00"
    )
    for data_type, text in [("int", str(2**63)), ("int", "1_000"), ("float", "1e999"), ("date", "20250918")]:
        with pytest.raises(ValueError):
            parse_value(data_type, text)
