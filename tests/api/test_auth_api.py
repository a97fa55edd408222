"""Login, refresh, logout, reset and token validation over real HTTP through Ray Serve."""

from __future__ import annotations

import base64
import json
import time

from sqlmodel import col, select

from raylake.platform.auth import throttle
from raylake.platform.auth.models import LoginFailure
from raylake.platform.db import session_scope
from tests.factories import PASSWORD, unique


def test_login_and_test_token(api, tenant):
    user, headers = api.new_user(tenant, ["viewer"])
    resp = api.client.post("/api/v1/login/test-token", headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["username"] == user["username"] and body["tenant_id"] == tenant
    assert {"id", "first_name", "last_name", "email", "is_active"} <= body.keys()
    assert "hashed_password" not in resp.text


def test_same_401_for_wrong_password_and_unknown_user(api, tenant):
    user, _ = api.new_user(tenant, ["viewer"])
    wrong = api.client.post(
        "/api/v1/login/access-token", data={"username": user["username"], "password": "nope-nope"}
    )
    ghost = api.client.post(
        "/api/v1/login/access-token", data={"username": unique("ghost"), "password": "nope-nope"}
    )
    assert wrong.status_code == ghost.status_code == 401
    assert wrong.json() == ghost.json()


def test_account_lockout_429(api, tenant):
    user, _ = api.new_user(tenant, ["viewer"])
    for _ in range(api.settings.login_max_failures):
        resp = api.client.post(
            "/api/v1/login/access-token", data={"username": user["username"], "password": "x"}
        )
        assert resp.status_code == 401
    resp = api.client.post(
        "/api/v1/login/access-token", data={"username": user["username"], "password": PASSWORD}
    )
    assert resp.status_code == 429 and "Retry-After" in resp.headers


def test_a_forwarded_for_header_is_not_the_client_address(api, tenant):
    """Rotating X-Forwarded-For does not escape the limit on this account from this address, and naming
    another address neither counts against nor locks out that address."""
    user, _ = api.new_user(tenant, ["viewer"])
    name = user["username"]
    for i in range(api.settings.login_max_failures):
        resp = api.client.post(
            "/api/v1/login/access-token",
            data={"username": name, "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
        )
        assert resp.status_code == 401
    resp = api.client.post(
        "/api/v1/login/access-token",
        data={"username": name, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.200"},
    )
    assert resp.status_code == 429
    with session_scope(api.engine) as session:
        keys = set(session.exec(select(LoginFailure.key).where(col(LoginFailure.key).contains(name))))
        named = set(
            session.exec(select(LoginFailure.key).where(col(LoginFailure.key).contains("203.0.113.")))
        )
    assert named == set()
    (pair,) = keys - {throttle.account_key(name)}
    seen = pair.rpartition("|")[2]  # the address the API counted: the test's own connection
    assert pair == throttle.pair_key(name, seen) and seen in ("127.0.0.1", "::1")


def _tokens(api, username):
    resp = api.client.post("/api/v1/login/access-token", data={"username": username, "password": PASSWORD})
    assert resp.status_code == 200
    return resp.json()


def test_refresh_rotation_and_reuse(api, tenant):
    user, _ = api.new_user(tenant, ["viewer"])
    first = _tokens(api, user["username"])
    # the reference's query parameter
    second = api.client.post("/api/v1/refresh", params={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["token_type"] == "bearer" and second["access_token"] != first["access_token"]
    # a JSON body works too; re-using the rotated first token revokes the family
    reuse = api.client.post("/api/v1/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert (
        api.client.post("/api/v1/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401
    )
    me = api.client.get(
        "/api/v1/validate-token", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert me.status_code == 401


def test_logout_revokes(api, tenant):
    user, _ = api.new_user(tenant, ["viewer"])
    tokens = _tokens(api, user["username"])
    resp = api.client.post("/api/v1/logout", params={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 200 and resp.json()["message"] == "User successfully logged out"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert api.client.get("/api/v1/validate-token", headers=headers).status_code == 401


def test_validate_token(api, tenant):
    user, headers = api.new_user(tenant, ["data_scientist"])
    resp = api.client.get("/api/v1/validate-token", headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["valid"] is True and body["user_id"] == user["id"] and "train:run" in body["permissions"]


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_forged_and_malformed_tokens_401(api, tenant):
    _, headers = api.new_user(tenant, ["viewer"])
    token = headers["Authorization"].split()[1]
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_claims = {**claims, "tid": api.new_tenant()}
    cases = {
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "tampered": f"{header}.{_b64(forged_claims)}.{sig}",
        "bad-signature": f"{header}.{payload}.{sig[::-1]}",
        "garbage": "abc",
        "expired": f"{header}.{_b64({**claims, 'exp': 1})}.{sig}",
    }
    for name, bad in cases.items():
        resp = api.client.get("/api/v1/validate-token", headers={"Authorization": f"Bearer {bad}"})
        assert resp.status_code == 401, name
        assert resp.json()["error"] == "Unauthorized"
    assert api.client.get("/api/v1/validate-token").status_code == 401


def test_reset_password_query_and_body(api, tenant):
    user, headers = api.new_user(tenant, ["viewer"])
    # a user resets their own password with the current one, as a JSON body
    resp = api.client.post(
        "/api/v1/reset-password",
        json={"user_name": user["username"], "new_password": "second-password", "current_password": PASSWORD},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    # a superuser uses the reference's query parameters
    resp = api.client.post(
        "/api/v1/reset-password",
        params={"user_name": user["username"], "new_password": "third-password"},
        headers=api.su,
    )
    assert resp.status_code == 200 and resp.json()["message"] == "Password has been reset successfully"
    assert (
        api.client.post(
            "/api/v1/login/access-token", data={"username": user["username"], "password": "third-password"}
        ).status_code
        == 200
    )


def test_reset_password_of_someone_else_forbidden(api, tenant):
    victim, _ = api.new_user(tenant, ["viewer"])
    _, attacker = api.new_user(tenant, ["admin"])
    resp = api.client.post(
        "/api/v1/reset-password",
        json={
            "user_name": victim["username"],
            "new_password": "pwned-password",
            "current_password": PASSWORD,
        },
        headers=attacker,
    )
    assert resp.status_code == 403


def test_reset_password_short_is_422_naming_field(api, tenant):
    user, headers = api.new_user(tenant, ["viewer"])
    resp = api.client.post(
        "/api/v1/reset-password",
        params={"user_name": user["username"], "new_password": "short"},
        headers=headers,
    )
    assert resp.status_code == 422
    assert "new_password" in resp.json()["detail"]
    assert "short" not in resp.text  # inputs (passwords) are never echoed


def test_passwords_and_secrets_never_logged(api, tenant, ray_cluster):
    user, _ = api.new_user(tenant, ["viewer"])
    secret_password = unique("Very-Secret-Password-")
    resp = api.client.post(
        "/api/v1/reset-password",
        params={"user_name": user["username"], "new_password": secret_password},
        headers=api.su,
    )
    assert resp.status_code == 200
    login = api.client.post(
        "/api/v1/login/access-token", data={"username": user["username"], "password": secret_password}
    )
    refresh_token = login.json()["refresh_token"]
    api.client.post("/api/v1/refresh", params={"refresh_token": refresh_token})
    time.sleep(2)  # let replicas flush their log files
    needles = [secret_password, refresh_token, api.settings.secret(), api.settings.ray_token()]
    files = ray_cluster.log_files()
    assert any("serve" in str(p) for p in files)
    for path in files:
        text = path.read_text(errors="ignore")
        for needle in needles:
            assert needle not in text, f"a secret leaked into {path}"
