"""API keys over real HTTP: made by a user (shown once), accepted as a bearer token and as X-API-Key
with only the permissions they hold, listed without the key, revoked with a 401 at once on the replica
that revoked it; a key cannot make keys; another tenant's key is a 404."""

from __future__ import annotations


def test_api_keys_end_to_end(api):
    tenant = api.new_tenant()
    _, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["admin"])
    client = api.client
    made = client.post(
        "/api/v1/api-keys", json={"name": "nightly", "permissions": ["train:read"]}, headers=headers
    )
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["key"].startswith("rlk_") and key["permissions"] == ["train:read"]

    for auth in ({"Authorization": f"Bearer {key['key']}"}, {"X-API-Key": key["key"]}):
        assert client.get("/api/v1/train/list", headers=auth).status_code == 200
        refused = client.get("/api/v1/template/list", headers=auth)  # template:read is not the key's
        assert refused.status_code == 403 and "template:read" in refused.json()["detail"]
    bearer = {"Authorization": f"Bearer {key['key']}"}
    who = client.get("/api/v1/validate-token", headers=bearer).json()
    assert who["permissions"] == ["train:read"] and who["expires_at"] is None
    child = client.post(
        "/api/v1/api-keys", json={"name": "child", "permissions": ["train:read"]}, headers=bearer
    )
    assert child.status_code == 403
    greedy = client.post("/api/v1/api-keys", json={"name": "g", "role": "admin"}, headers=headers)
    assert greedy.status_code == 403

    listed = client.get("/api/v1/api-keys", headers=headers).json()
    assert listed["total"] == 1 and listed["items"][0]["prefix"] == key["key"][:12]
    assert "key" not in listed["items"][0] and listed["items"][0]["last_used_at"] is not None
    assert client.delete(f"/api/v1/api-keys/{key['id']}", headers=outsider).status_code == 404
    assert client.delete(f"/api/v1/api-keys/{key['id']}", headers=headers).status_code == 200
    assert client.get("/api/v1/train/list", headers=bearer).status_code == 401
    assert client.post("/api/v1/api-keys", json={"name": "x"}, headers=headers).status_code == 422
