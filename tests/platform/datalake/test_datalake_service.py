"""Datalake service on both backends, without Ray: real Iceberg tables, registry-only name resolution."""

from __future__ import annotations

import math
from datetime import date, datetime

import pyarrow as pa
import pytest

from raylake.platform import lake
from raylake.platform.datalake import service
from raylake.platform.datalake.models import LakeTable
from raylake.platform.db import session_scope
from raylake.platform.errors import Invalid, NotFound
from raylake.platform.tenancy import Principal
from tests.factories import create_tenant, create_user, superuser_principal, unique

COLUMNS = [
    ("customer_id", "String"),
    ("tenure", "Integer"),
    ("churn_probability", "Float"),
    ("will_churn", "Boolean"),
    ("signup_date", "Date"),
    ("prediction_date", "DateTime"),
]
ROWS = [
    {
        "customer_id": "c1",
        "tenure": 1,
        "churn_probability": 0.1,
        "will_churn": False,
        "signup_date": date(2024, 1, 1),
        "prediction_date": datetime(2025, 9, 10, 10, 0),
    },
    {
        "customer_id": "c2",
        "tenure": 3,
        "churn_probability": 0.5,
        "will_churn": True,
        "signup_date": date(2024, 2, 1),
        "prediction_date": datetime(2025, 9, 10, 11, 0),
    },
    {
        "customer_id": "c2",
        "tenure": 8,
        "churn_probability": float("nan"),
        "will_churn": None,
        "signup_date": None,
        "prediction_date": None,
    },
    {
        "customer_id": None,
        "tenure": None,
        "churn_probability": 0.9,
        "will_churn": True,
        "signup_date": None,
        "prediction_date": None,
    },
]
SQLISH = ["x'; DROP TABLE users;--", "../../etc", "silver.x", "' OR '1'='1", "*", "%", "users"]


def make_table(
    ctx,
    engine,
    tenant_id: str,
    *,
    namespace: str = "silver",
    columns=COLUMNS,
    rows=ROWS,
    owner: str = "alice",
) -> str:
    """A real Iceberg table with rows appended, registered to a tenant."""
    name = unique("churn_")
    table = lake.create(ctx.catalog, namespace, name, lake.schema_for(columns))
    if rows:
        table.append(pa.Table.from_pylist(rows, schema=table.schema().as_arrow()))
    with session_scope(engine) as session:
        session.add(LakeTable(tenant_id=tenant_id, namespace=namespace, name=name, created_by=owner))
    return name


@pytest.fixture
def caller(engine, settings) -> Principal:
    return create_user(engine, settings, tenant_id=create_tenant(engine), roles=["viewer"])


def call(engine, fn, **kwargs):
    with session_scope(engine) as session:
        return fn(session=session, **kwargs)


def test_list_schemas():
    assert service.list_schemas() == ["bronze", "silver", "gold", "default"]


def test_list_tables_is_tenant_scoped(ctx, engine, settings, caller):
    mine = sorted(make_table(ctx, engine, caller.tenant_id) for _ in range(2))
    gold = make_table(ctx, engine, caller.tenant_id, namespace="gold")
    theirs = make_table(ctx, engine, create_tenant(engine))
    assert call(engine, service.list_tables, principal=caller, schema_name="silver") == (mine, 2)
    assert call(engine, service.list_tables, principal=caller, schema_name="gold") == ([gold], 1)
    assert call(engine, service.list_tables, principal=caller, schema_name="bronze") == ([], 0)
    page = call(engine, service.list_tables, principal=caller, schema_name="silver", skip=1, limit=5)
    assert page == (mine[1:], 2)
    su = superuser_principal(engine, settings)
    everything, _ = call(engine, service.list_tables, principal=su, schema_name="silver")
    assert set(mine) | {theirs} <= set(everything)


@pytest.mark.parametrize("schema_name", ["platinum", "SILVER", "../../etc", "x'; DROP TABLE users;--", " "])
def test_unknown_schema_is_404(engine, caller, schema_name):
    with pytest.raises(NotFound, match="Schema"):
        call(engine, service.list_tables, principal=caller, schema_name=schema_name)


@pytest.mark.parametrize("bad", ["", "x" * 161, "silver\x00", "a\nb", "tab\tname", "del\x7f"])
def test_bad_names_are_invalid(ctx, engine, caller, bad):
    with pytest.raises(Invalid):
        call(engine, service.list_tables, principal=caller, schema_name=bad)
    name = make_table(ctx, engine, caller.tenant_id, rows=[])
    with pytest.raises(Invalid):
        call(engine, service.table_columns, ctx=ctx, principal=caller, schema_name="silver", table_name=bad)
    with pytest.raises(Invalid):
        call(
            engine,
            service.distinct_count,
            ctx=ctx,
            principal=caller,
            schema_name="silver",
            table_name=name,
            column_name=bad,
        )


def test_table_columns_sql_types(ctx, engine, caller):
    name = make_table(ctx, engine, caller.tenant_id)
    columns = call(
        engine, service.table_columns, ctx=ctx, principal=caller, schema_name="silver", table_name=name
    )
    assert [(c.column_name, c.data_type) for c in columns] == [
        ("customer_id", "varchar"),
        ("tenure", "bigint"),
        ("churn_probability", "double"),
        ("will_churn", "boolean"),
        ("signup_date", "date"),
        ("prediction_date", "timestamp"),
    ]


def test_table_metadata(ctx, engine, caller):
    name = make_table(ctx, engine, caller.tenant_id, namespace="gold", owner="airflow")
    meta = call(
        engine, service.table_metadata, ctx=ctx, principal=caller, schema_name="gold", table_name=name
    )
    table = lake.load(ctx.catalog, "gold", name)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    assert (meta.schema_, meta.table, meta.owner, meta.format) == ("gold", name, "airflow", "iceberg")
    assert meta.row_count == 4 and meta.snapshot_id == snapshot.snapshot_id
    assert meta.location == table.location() and meta.location.endswith(f"gold/{name}")
    assert meta.created_time.tzinfo is not None
    assert int(meta.last_access_time.timestamp() * 1000) == snapshot.timestamp_ms
    dumped = meta.model_dump(by_alias=True)
    assert dumped["schema"] == "gold" and "schema_" not in dumped


def test_table_metadata_without_snapshot(ctx, engine, caller):
    name = make_table(ctx, engine, caller.tenant_id, rows=[])
    meta = call(
        engine, service.table_metadata, ctx=ctx, principal=caller, schema_name="silver", table_name=name
    )
    assert meta.row_count == 0 and meta.snapshot_id is None
    assert meta.last_access_time == meta.created_time


def test_numeric_stats(ctx, engine, caller):
    name = make_table(ctx, engine, caller.tenant_id)
    args = {"ctx": ctx, "principal": caller, "schema_name": "silver", "table_name": name}
    tenure = call(engine, service.numeric_stats, column_name="tenure", **args)
    assert tenure.column == "tenure" and tenure.count == 3
    assert tenure.min == 1 and tenure.max == 8 and tenure.median == 3.0
    assert tenure.mean == pytest.approx(4.0)
    assert tenure.std_dev == pytest.approx(math.sqrt(13.0))
    # NaN counts as missing, so the JSON never carries NaN
    prob = call(engine, service.numeric_stats, column_name="churn_probability", **args)
    assert prob.count == 3 and prob.min == 0.1 and prob.max == 0.9
    assert prob.mean == pytest.approx(0.5) and prob.median == pytest.approx(0.5)
    assert prob.std_dev == pytest.approx(0.4)


@pytest.mark.parametrize("column", ["customer_id", "will_churn", "signup_date", "prediction_date"])
def test_numeric_stats_rejects_non_numeric(ctx, engine, caller, column):
    name = make_table(ctx, engine, caller.tenant_id)
    with pytest.raises(Invalid, match="not numeric"):
        call(
            engine,
            service.numeric_stats,
            ctx=ctx,
            principal=caller,
            schema_name="silver",
            table_name=name,
            column_name=column,
        )


def test_stats_of_empty_table(ctx, engine, caller):
    name = make_table(ctx, engine, caller.tenant_id, rows=[])
    args = {
        "ctx": ctx,
        "principal": caller,
        "schema_name": "silver",
        "table_name": name,
        "column_name": "tenure",
    }
    stats = call(engine, service.numeric_stats, **args)
    assert stats.count == 0 and stats.mean is None and stats.median is None and stats.max is None
    assert call(engine, service.distinct_count, **args).distinct_count == 0


def test_distinct_count(ctx, engine, caller):
    name = make_table(ctx, engine, caller.tenant_id)
    args = {"ctx": ctx, "principal": caller, "schema_name": "silver", "table_name": name}
    counts = {
        column: call(engine, service.distinct_count, column_name=column, **args).distinct_count
        for column, _ in COLUMNS
    }
    # nulls are not values (SQL COUNT(DISTINCT)); NaN is one
    assert counts == {
        "customer_id": 2,
        "tenure": 3,
        "churn_probability": 4,
        "will_churn": 2,
        "signup_date": 2,
        "prediction_date": 2,
    }


def test_column_names_are_literal(ctx, engine, caller):
    """Names polars would read as patterns select exactly that column, reading only it."""
    columns = [("*", "Integer"), ("^.*$", "Integer"), ("a", "Integer")]
    rows = [{"*": 1, "^.*$": 5, "a": 7}, {"*": 2, "^.*$": 5, "a": 8}, {"*": 3, "^.*$": 5, "a": 9}]
    name = make_table(ctx, engine, caller.tenant_id, columns=columns, rows=rows)
    args = {"ctx": ctx, "principal": caller, "schema_name": "silver", "table_name": name}
    assert call(engine, service.distinct_count, column_name="*", **args).distinct_count == 3
    assert call(engine, service.distinct_count, column_name="^.*$", **args).distinct_count == 1
    assert call(engine, service.numeric_stats, column_name="^.*$", **args).max == 5
    plan = service._column_frame(lake.load(ctx.catalog, "silver", name), "*").explain()
    assert "1/3 COLUMNS" in plan


def test_other_tenants_table_is_404_everywhere(ctx, engine, settings, caller):
    theirs = make_table(ctx, engine, create_tenant(engine))
    base = {"ctx": ctx, "principal": caller, "schema_name": "silver", "table_name": theirs}
    for fn in (service.table_columns, service.table_metadata):
        with pytest.raises(NotFound, match="Table not found"):
            call(engine, fn, **base)
    for fn in (service.numeric_stats, service.distinct_count):
        with pytest.raises(NotFound, match="Table not found"):
            call(engine, fn, column_name="tenure", **base)
    # the superuser reaches every tenant's table
    su = superuser_principal(engine, settings)
    stats = call(engine, service.numeric_stats, column_name="tenure", **{**base, "principal": su})
    assert stats.count == 3


def test_registered_in_other_namespace_is_404(ctx, engine, caller):
    name = make_table(ctx, engine, caller.tenant_id, namespace="gold")
    with pytest.raises(NotFound, match="Table not found"):
        call(engine, service.table_columns, ctx=ctx, principal=caller, schema_name="silver", table_name=name)


def test_unregistered_iceberg_table_is_404(ctx, engine, caller):
    """An Iceberg table nobody registered is invisible, even to a caller who knows its name."""
    name = unique("stray_")
    lake.create(ctx.catalog, "silver", name, lake.schema_for(COLUMNS))
    with pytest.raises(NotFound, match="Table not found"):
        call(engine, service.table_columns, ctx=ctx, principal=caller, schema_name="silver", table_name=name)


def test_registered_but_dropped_table_is_404(ctx, engine, caller):
    name = make_table(ctx, engine, caller.tenant_id)
    lake.drop(ctx.catalog, "silver", name)
    with pytest.raises(NotFound, match="Table not found"):
        call(engine, service.table_metadata, ctx=ctx, principal=caller, schema_name="silver", table_name=name)


@pytest.mark.parametrize("name", SQLISH)
def test_sql_looking_names_are_404(ctx, engine, caller, name):
    real = make_table(ctx, engine, caller.tenant_id)
    with pytest.raises(NotFound, match="Table not found"):
        call(engine, service.table_metadata, ctx=ctx, principal=caller, schema_name="silver", table_name=name)
    with pytest.raises(NotFound, match="Column") as err:
        call(
            engine,
            service.distinct_count,
            ctx=ctx,
            principal=caller,
            schema_name="silver",
            table_name=real,
            column_name=name,
        )
    assert name in str(err.value)
    with pytest.raises(NotFound, match="Column"):
        call(
            engine,
            service.numeric_stats,
            ctx=ctx,
            principal=caller,
            schema_name="silver",
            table_name=real,
            column_name=name,
        )


def test_column_name_is_case_sensitive(ctx, engine, caller):
    name = make_table(ctx, engine, caller.tenant_id)
    with pytest.raises(NotFound, match="TENURE"):
        call(
            engine,
            service.numeric_stats,
            ctx=ctx,
            principal=caller,
            schema_name="silver",
            table_name=name,
            column_name="TENURE",
        )
