"""Templates over HTTP: the reference's paths and payload shapes, permissions, tenant walls, 422s."""

from __future__ import annotations

from datetime import datetime

from tests.factories import unique

TELECOM = [
    {"column_name": "CustomerID", "data_type": "String", "default_value": "CUST-0000"},
    {"column_name": "DataUsageGB", "data_type": "Float", "default_value": "0.0"},
]
SUMMARY_FIELDS = {
    "template_name",
    "id",
    "tenant_id",
    "no_of_columns",
    "created_by",
    "created_at",
    "modified_at",
    "modified_by",
}


def _create(api, headers, columns=TELECOM, name=None):
    resp = api.client.post(
        "/api/v1/template/",
        json={"template_name": name or unique("Telecom "), "template_schema": columns},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_reference_payloads(api, tenant):
    admin_user, admin = api.new_user(tenant, ["admin"])
    name = unique("Telecom Customer Usage ")
    created = _create(api, admin, name=name)
    assert created == {"status": 201, "message": "Template created successfully.", "id": created["id"]}
    tid = created["id"]

    listed = api.client.get("/api/v1/template/list", headers=admin).json()
    assert listed["total"] == 1 and set(listed["data"][0]) == SUMMARY_FIELDS
    row = listed["data"][0]
    assert row["id"] == tid and row["template_name"] == name and row["tenant_id"] == tenant
    assert row["no_of_columns"] == 2 and row["created_by"] == row["modified_by"] == admin_user["username"]
    assert datetime.fromisoformat(row["created_at"]).tzinfo is not None

    one = api.client.get(f"/api/v1/template/{tid}", headers=admin).json()
    assert set(one) == SUMMARY_FIELDS | {"template_schema"} and one["template_schema"] == TELECOM

    v2 = [
        {"column_name": "CustomerID", "data_type": "String"},
        {"column_name": "DataUsageGB", "data_type": "float"},
        {"column_name": "PlanType", "data_type": "String"},
    ]
    updated = api.client.put(
        f"/api/v1/template/update/{tid}",
        json={"template_name": name + " V2", "template_schema": v2},
        headers=admin,
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["template_name"] == name + " V2" and body["no_of_columns"] == 3
    assert body["template_schema"] == [
        {"column_name": "CustomerID", "data_type": "String", "default_value": None},
        {"column_name": "DataUsageGB", "data_type": "Float", "default_value": None},
        {"column_name": "PlanType", "data_type": "String", "default_value": None},
    ]

    deleted = api.client.delete(f"/api/v1/template/{tid}", headers=admin)
    assert deleted.status_code == 200
    assert deleted.json() == {"status_code": 200, "message": "Template deleted successfully"}
    assert api.client.get(f"/api/v1/template/{tid}", headers=admin).status_code == 404
    assert api.client.get("/api/v1/template/list", headers=admin).json() == {"total": 0, "data": []}


def test_viewer_reads_but_cannot_write(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    _, viewer = api.new_user(tenant, ["viewer"])
    tid = _create(api, admin)["id"]
    assert api.client.get(f"/api/v1/template/{tid}", headers=viewer).status_code == 200
    assert api.client.get("/api/v1/template/list", headers=viewer).json()["total"] == 1
    writes = [
        api.client.post("/api/v1/template/", json={"template_name": "x"}, headers=viewer),
        api.client.put(f"/api/v1/template/update/{tid}", json={"template_name": "x"}, headers=viewer),
        api.client.delete(f"/api/v1/template/{tid}", headers=viewer),
    ]
    for resp in writes:
        assert resp.status_code == 403 and "template:write" in resp.json()["detail"], resp.text
    assert api.client.get("/api/v1/template/list").status_code == 401


def test_other_tenants_template_is_404(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    _, stranger = api.new_user(api.new_tenant(), ["admin"])
    tid = _create(api, admin)["id"]
    assert api.client.get(f"/api/v1/template/{tid}", headers=stranger).status_code == 404
    put = api.client.put(f"/api/v1/template/update/{tid}", json={"template_name": "mine"}, headers=stranger)
    assert put.status_code == 404
    assert api.client.delete(f"/api/v1/template/{tid}", headers=stranger).status_code == 404
    assert api.client.get("/api/v1/template/list", headers=stranger).json()["total"] == 0
    # a superuser acts across tenants
    assert api.client.get(f"/api/v1/template/{tid}", headers=api.su).status_code == 200
    assert api.client.get(f"/api/v1/template/{tid}", headers=admin).status_code == 200


def test_duplicate_name_409(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    name = unique("Dup ")
    _create(api, admin, name=name)
    again = api.client.post("/api/v1/template/", json={"template_name": name.upper()}, headers=admin)
    assert again.status_code == 409 and again.json()["error"] == "Conflict"


def test_invalid_input_422_names_the_field(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    cases = [
        ([{"column_name": "Age", "data_type": "Integer", "default_value": "abc"}], "'Age'"),
        ([{"column_name": "Blob", "data_type": "binary"}], "'Blob'"),
        ([{"column_name": "a", "data_type": "int"}, {"column_name": "A", "data_type": "int"}], "'A'"),
        ([{"column_name": "", "data_type": "int"}], "template_schema[0].column_name"),
        ([{"column_name": "x", "data_type": "int"}] * 2_001, "at most 2000"),
    ]
    for columns, named in cases:
        resp = api.client.post(
            "/api/v1/template/",
            json={"template_name": unique("t"), "template_schema": columns},
            headers=admin,
        )
        assert resp.status_code == 422 and named in resp.json()["detail"], resp.text
    no_type = api.client.post(
        "/api/v1/template/",
        json={"template_name": unique("t"), "template_schema": [{"column_name": "a"}]},
        headers=admin,
    )
    assert no_type.status_code == 422 and "template_schema.0.data_type" in no_type.json()["detail"]
    long_name = api.client.post("/api/v1/template/", json={"template_name": "x" * 129}, headers=admin)
    assert long_name.status_code == 422 and "template_name" in long_name.json()["detail"]
    assert api.client.get("/api/v1/template/list", headers=admin).json()["total"] == 0
    assert api.client.get("/api/v1/template/99999999999", headers=admin).status_code == 422
