"""Datalake over HTTP: payload shapes, tenant walls (404), the datalake:read permission, hostile names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pyarrow as pa
import pytest

from raylake.platform import lake
from raylake.platform.datalake.models import LakeTable
from raylake.platform.db import make_engine, session_scope
from tests.factories import unique

API = "/api/v1/datalake"
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
        "customer_id": f"c{i % 3}",
        "tenure": i,
        "churn_probability": i / 10,
        "will_churn": i % 2 == 0,
        "signup_date": date(2024, 1, i),
        "prediction_date": datetime(2025, 9, 10, i),
    }
    for i in range(1, 6)
]
HOSTILE = ["x'; DROP TABLE users;--", "../../etc", "../../etc/passwd", "silver.users", "*", "%25", "a/b\\c"]


class Tables:
    """Creates Iceberg tables in the deployed app's lake and registers them to tenants."""

    def __init__(self, api) -> None:
        self.ctx = lake.open_lake(api.settings)
        self.engine = make_engine(api.settings.sqlalchemy_url)

    def make(self, tenant_id: str, *, namespace: str = "silver", rows=ROWS) -> str:
        name = unique("churn_")
        table = lake.create(self.ctx.catalog, namespace, name, lake.schema_for(COLUMNS))
        if rows:
            table.append(pa.Table.from_pylist(rows, schema=table.schema().as_arrow()))
        with session_scope(self.engine) as session:
            session.add(LakeTable(tenant_id=tenant_id, namespace=namespace, name=name, created_by="airflow"))
        return name


@pytest.fixture
def tables(api) -> Iterator[Tables]:
    made = Tables(api)
    yield made
    made.engine.dispose()


@pytest.fixture
def reader(api, tenant) -> dict[str, str]:
    return api.new_user(tenant, ["viewer"])[1]


def get(api, path: str, headers, **params):
    return api.client.get(f"{API}{path}", params=params, headers=headers)


def test_schemas(api, reader):
    resp = get(api, "/schemas", reader)
    assert resp.status_code == 200 and resp.json() == ["bronze", "silver", "gold", "default"]


def test_tables_listing_is_tenant_scoped(api, tenant, tables, reader):
    mine = sorted([tables.make(tenant), tables.make(tenant)])
    gold = tables.make(tenant, namespace="gold")
    theirs = tables.make(api.new_tenant())
    assert get(api, "/schemas/tables", reader, schema_name="silver").json() == mine
    assert get(api, "/schemas/tables", reader, schema_name="gold").json() == [gold]
    assert get(api, "/schemas/tables", reader, schema_name="bronze").json() == []
    everything = get(api, "/schemas/tables", api.su, schema_name="silver").json()
    assert set(mine) | {theirs} <= set(everything)
    unknown = get(api, "/schemas/tables", reader, schema_name="platinum")
    assert unknown.status_code == 404 and unknown.json()["error"] == "NotFound"
    assert get(api, "/schemas/tables", reader).status_code == 422


def test_columns_payload(api, tenant, tables, reader):
    name = tables.make(tenant)
    resp = get(api, "/tables/columns", reader, schema_name="silver", table_name=name)
    assert resp.status_code == 200, resp.text
    assert resp.json() == [
        {"column_name": "customer_id", "data_type": "varchar"},
        {"column_name": "tenure", "data_type": "bigint"},
        {"column_name": "churn_probability", "data_type": "double"},
        {"column_name": "will_churn", "data_type": "boolean"},
        {"column_name": "signup_date", "data_type": "date"},
        {"column_name": "prediction_date", "data_type": "timestamp"},
    ]


def test_table_metadata_payload(api, tenant, tables, reader):
    name = tables.make(tenant, namespace="gold")
    resp = get(api, "/table_metadata", reader, schema_name="gold", table_name=name)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {
        "schema",
        "table",
        "owner",
        "created_time",
        "last_access_time",
        "location",
        "format",
        "row_count",
        "snapshot_id",
    }
    snapshot = lake.load(tables.ctx.catalog, "gold", name).current_snapshot()
    assert snapshot is not None
    assert (body["schema"], body["table"], body["owner"], body["format"]) == (
        "gold",
        name,
        "airflow",
        "iceberg",
    )
    assert body["row_count"] == 5 and body["snapshot_id"] == snapshot.snapshot_id
    assert body["location"].endswith(f"gold/{name}")
    datetime.fromisoformat(body["created_time"])
    last_access = datetime.fromisoformat(body["last_access_time"])
    assert round(last_access.timestamp() * 1000) == snapshot.timestamp_ms


def test_numeric_stats_payload_and_spellings(api, tenant, tables, reader):
    name = tables.make(tenant)
    resp = get(api, "/numeric_stats", reader, schema_name="silver", table_name=name, column_name="tenure")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"column", "count", "mean", "std_dev", "min", "max", "median"}
    assert body["column"] == "tenure" and body["count"] == 5
    assert (body["min"], body["max"], body["mean"], body["median"]) == (1, 5, 3.0, 3.0)
    assert body["std_dev"] == pytest.approx(1.5811388)
    short = get(api, "/numeric_stats", reader, schema="silver", table=name, column="churn_probability")
    assert short.status_code == 200 and short.json()["max"] == pytest.approx(0.5)


def test_numeric_stats_of_a_string_column_is_422(api, tenant, tables, reader):
    name = tables.make(tenant)
    for column in ("customer_id", "will_churn", "prediction_date"):
        resp = get(api, "/numeric_stats", reader, schema_name="silver", table_name=name, column_name=column)
        assert resp.status_code == 422 and resp.json()["error"] == "Invalid", resp.text
        assert "not numeric" in resp.json()["detail"]


def test_distinct_count_payload_and_spellings(api, tenant, tables, reader):
    name = tables.make(tenant)
    resp = get(api, "/distinct-count", reader, schema="silver", table=name, column="customer_id")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"column": "customer_id", "distinct_count": 3}
    long = get(
        api, "/distinct-count", reader, schema_name="silver", table_name=name, column_name="will_churn"
    )
    assert long.json() == {"column": "will_churn", "distinct_count": 2}
    missing = get(api, "/distinct-count", reader, schema="silver", table=name)
    assert missing.status_code == 422 and "column" in missing.json()["detail"]
    clash = get(
        api, "/distinct-count", reader, schema="silver", schema_name="gold", table=name, column="tenure"
    )
    assert clash.status_code == 422


def test_unknown_column_is_404_naming_it(api, tenant, tables, reader):
    name = tables.make(tenant)
    for path in ("/numeric_stats", "/distinct-count"):
        resp = get(api, path, reader, schema_name="silver", table_name=name, column_name="no_such_col")
        assert resp.status_code == 404 and "no_such_col" in resp.json()["detail"]


def test_other_tenants_table_is_404(api, tenant, tables, reader):
    theirs = tables.make(api.new_tenant())
    params = {"schema_name": "silver", "table_name": theirs}
    for path in ("/tables/columns", "/table_metadata"):
        resp = get(api, path, reader, **params)
        assert resp.status_code == 404 and resp.json()["detail"] == "Table not found"
    for path in ("/numeric_stats", "/distinct-count"):
        resp = get(api, path, reader, column_name="tenure", **params)
        assert resp.status_code == 404 and resp.json()["detail"] == "Table not found"
    # the superuser acts across tenants
    assert get(api, "/table_metadata", api.su, **params).status_code == 200


def test_datalake_read_is_required(api, tenant, tables):
    name = tables.make(tenant)
    _, admin = api.new_user(tenant, ["admin"])
    role = api.client.post(
        "/api/v1/rbac/roles/", json={"name": "no_lake", "permissions": ["dataset:read"]}, headers=admin
    )
    assert role.status_code == 201, role.text
    _, headers = api.new_user(tenant, ["no_lake"])
    params = {"schema_name": "silver", "table_name": name, "column_name": "tenure"}
    for path in ("/schemas", "/schemas/tables", "/tables/columns", "/table_metadata", "/numeric_stats"):
        resp = get(api, path, headers, **params)
        assert resp.status_code == 403 and "datalake:read" in resp.json()["detail"], (path, resp.text)
        assert get(api, path, {}, **params).status_code == 401
    resp = get(api, "/distinct-count", headers, schema="silver", table=name, column="tenure")
    assert resp.status_code == 403


def test_hostile_input_is_never_500(api, tenant, tables, reader):
    name = tables.make(tenant)
    for bad in [*HOSTILE, "x" * 161, "bad\x00name", "new\nline", "\x7f", ""]:
        calls = [
            ("/schemas/tables", {"schema_name": bad}),
            ("/tables/columns", {"schema_name": bad, "table_name": name}),
            ("/tables/columns", {"schema_name": "silver", "table_name": bad}),
            ("/table_metadata", {"schema_name": "silver", "table_name": bad}),
            ("/numeric_stats", {"schema_name": "silver", "table_name": name, "column_name": bad}),
            ("/numeric_stats", {"schema_name": "silver", "table_name": bad, "column_name": "tenure"}),
            ("/distinct-count", {"schema": "silver", "table": name, "column": bad}),
            ("/distinct-count", {"schema": bad, "table": name, "column": "tenure"}),
        ]
        for path, params in calls:
            resp = get(api, path, reader, **params)
            assert resp.status_code in (404, 422), (path, params, resp.status_code, resp.text)
            assert resp.json()["error"] in ("NotFound", "Invalid")
    long = get(api, "/table_metadata", reader, schema_name="silver", table_name="x" * 161)
    assert long.status_code == 422
    sqlish = get(api, "/table_metadata", reader, schema_name="silver", table_name="x'; DROP TABLE users;--")
    assert sqlish.status_code == 404 and sqlish.json()["detail"] == "Table not found"
    # the tables and the users are still there
    assert get(api, "/tables/columns", reader, schema_name="silver", table_name=name).status_code == 200
    assert api.client.get("/api/v1/users/read-users/", headers=api.su).status_code == 200
