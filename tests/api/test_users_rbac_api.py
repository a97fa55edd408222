"""Users, tenants and RBAC over HTTP: tenant walls, permissions, no escalation."""

from __future__ import annotations

from tests.factories import PASSWORD, unique


def _user_body(**extra):
    name = unique("u")
    return {"username": name, "email": f"{name}@example.com", "password": PASSWORD, **extra}


def test_tenant_admin_creates_and_lists_users(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    resp = api.client.post("/api/v1/users/create-user", json=_user_body(first_name="Jane"), headers=admin)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["tenant_id"] == tenant and created["roles"] == ["viewer"]
    page = api.client.get("/api/v1/users/read-users/", params={"limit": 1}, headers=admin).json()
    assert page["count"] == 2 and len(page["data"]) == 1
    one = api.client.get(f"/api/v1/users/{created['id']}", headers=admin)
    assert one.status_code == 200 and one.json()["first_name"] == "Jane"


def test_duplicate_username_or_email_409(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    body = _user_body()
    assert api.client.post("/api/v1/users/create-user", json=body, headers=admin).status_code == 201
    again = api.client.post("/api/v1/users/create-user", json=body, headers=admin)
    assert again.status_code == 409 and again.json()["error"] == "Conflict"
    same_email = {**_user_body(), "email": body["email"]}
    assert api.client.post("/api/v1/users/create-user", json=same_email, headers=admin).status_code == 409


def test_create_body_cannot_escalate(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    other = api.new_tenant()
    resp = api.client.post("/api/v1/users/create-user", json=_user_body(tenant_id=other), headers=admin)
    assert resp.status_code == 404
    resp = api.client.post("/api/v1/users/create-user", json=_user_body(is_superuser=True), headers=admin)
    assert resp.status_code == 422 and "is_superuser" in resp.json()["detail"]


def test_other_tenants_user_is_404(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    stranger, _ = api.new_user(api.new_tenant(), ["viewer"])
    assert api.client.get(f"/api/v1/users/{stranger['id']}", headers=admin).status_code == 404
    listed = api.client.get("/api/v1/users/read-users/", headers=admin).json()["data"]
    assert stranger["id"] not in {u["id"] for u in listed}
    # a superuser acts across tenants
    assert api.client.get(f"/api/v1/users/{stranger['id']}", headers=api.su).status_code == 200


def test_missing_permission_403(api, tenant):
    _, viewer = api.new_user(tenant, ["viewer"])
    resp = api.client.post("/api/v1/users/create-user", json=_user_body(), headers=viewer)
    assert resp.status_code == 403 and "user:admin" in resp.json()["detail"]
    assert api.client.get("/api/v1/users/read-users/", headers=viewer).status_code == 403
    assert api.client.post("/api/v1/rbac/roles/", json={"name": "x"}, headers=viewer).status_code == 403


def test_tenants_superuser_only(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    assert api.client.get("/api/v1/tenants/", headers=admin).status_code == 403
    assert api.client.post("/api/v1/tenants/", json={"name": unique("t")}, headers=admin).status_code == 403
    # oldest first, so the newest tenant (this test's) is on the last page, however many the session made
    total = api.client.get("/api/v1/tenants/", params={"limit": 1}, headers=api.su).json()["count"]
    listed = api.client.get("/api/v1/tenants/", params={"skip": total - 1}, headers=api.su)
    assert listed.status_code == 200 and [t["id"] for t in listed.json()["data"]] == [tenant]
    name = unique("dup")
    assert api.client.post("/api/v1/tenants/", json={"name": name}, headers=api.su).status_code == 201
    assert api.client.post("/api/v1/tenants/", json={"name": name}, headers=api.su).status_code == 409


def test_rbac_roles_permissions_assignment(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    user, user_headers = api.new_user(tenant, ["viewer"])
    perm = api.client.post(
        "/api/v1/rbac/permissions/", json={"name": "can_train_models", "tenant_id": tenant}, headers=admin
    )
    assert perm.status_code == 201 and perm.json()["tenant_id"] == tenant
    role = api.client.post(
        "/api/v1/rbac/roles/",
        json={"name": "trainer", "tenant_id": tenant, "permissions": ["train:read"]},
        headers=admin,
    )
    assert role.status_code == 201, role.text
    role_id = role.json()["id"]
    attached = api.client.post(
        f"/api/v1/rbac/roles/{role_id}/permissions",
        json={"permissions": ["train:run", "user:read"]},
        headers=admin,
    )
    assert attached.json()["permissions"] == ["train:read", "train:run", "user:read"]
    assert api.client.get("/api/v1/users/read-users/", headers=user_headers).status_code == 403
    assigned = api.client.post(
        f"/api/v1/rbac/users/{user['id']}/roles", json={"roles": ["trainer"]}, headers=admin
    )
    assert assigned.status_code == 200 and "trainer" in assigned.json()["roles"]
    assert api.client.get("/api/v1/users/read-users/", headers=user_headers).status_code == 200
    removed = api.client.delete(f"/api/v1/rbac/users/{user['id']}/roles/trainer", headers=admin)
    assert removed.status_code == 200 and "trainer" not in removed.json()["roles"]
    assert api.client.get("/api/v1/users/read-users/", headers=user_headers).status_code == 403
    names = {r["name"] for r in api.client.get("/api/v1/rbac/roles/", headers=admin).json()["data"]}
    assert {"admin", "data_scientist", "viewer", "trainer"} <= names
    perms = {p["name"] for p in api.client.get("/api/v1/rbac/permissions/", headers=admin).json()["data"]}
    assert {"can_train_models", "template:write", "inference:run"} <= perms
    dup = api.client.post("/api/v1/rbac/roles/", json={"name": "trainer"}, headers=admin)
    assert dup.status_code == 409


def test_rbac_cross_tenant_is_404(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    other = api.new_tenant()
    stranger, _ = api.new_user(other, ["viewer"])
    assert (
        api.client.post(
            "/api/v1/rbac/roles/", json={"name": "r", "tenant_id": other}, headers=admin
        ).status_code
        == 404
    )
    resp = api.client.post(
        f"/api/v1/rbac/users/{stranger['id']}/roles", json={"roles": ["admin"]}, headers=admin
    )
    assert resp.status_code == 404
