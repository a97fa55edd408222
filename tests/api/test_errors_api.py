"""The error contract: JSON bodies, the right status, never a 500 for bad input; OpenAPI complete."""

from __future__ import annotations

from fastapi.routing import APIRoute

from raylake.platform.app import create_app
from raylake.platform.deps import Allow


def test_health_check(api):
    resp = api.client.get("/api/v1/utils/health-check/")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "message": "Service is healthy.", "database": "ok", "ray": "ok"}


def test_health_check_503_when_ray_does_not_answer(api):
    from fastapi.testclient import TestClient

    broken = api.settings.model_copy(update={"ray_dashboard_url": "http://127.0.0.1:9"})
    with TestClient(create_app(broken)) as client:
        resp = client.get("/api/v1/utils/health-check/")
    assert resp.status_code == 503 and resp.json()["ray"] == "unavailable"


def test_oversized_json_body_413(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    big = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    resp = api.client.post(
        "/api/v1/rbac/roles/", content=big, headers={**admin, "Content-Type": "application/json"}
    )
    assert resp.status_code == 413 and resp.json()["error"] == "PayloadTooLarge"


def test_oversized_chunked_body_413(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])

    def chunks():
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * (512 * 1024)
        yield b'"}'

    resp = api.client.post(
        "/api/v1/rbac/roles/", content=chunks(), headers={**admin, "Content-Type": "application/json"}
    )
    assert resp.status_code == 413


def test_bad_input_is_never_500(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    cases = [
        (
            "post",
            "/api/v1/users/create-user",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        ),
        ("post", "/api/v1/users/create-user", {"json": [1, 2, 3]}),
        (
            "post",
            "/api/v1/users/create-user",
            {"json": {"username": "a", "email": "not-an-email", "password": "x"}},
        ),
        ("get", "/api/v1/users/99999999999999999999999", {}),
        ("get", "/api/v1/users/read-users/", {"params": {"limit": -1}}),
        ("post", "/api/v1/rbac/roles/", {"json": {"name": "../../etc"}}),
        ("post", "/api/v1/rbac/roles/", {"json": {"name": "ok", "permissions": ["no:such"]}}),
        ("post", "/api/v1/rbac/roles/999999/permissions", {"json": {"permissions": []}}),
        ("post", "/api/v1/login/access-token", {"data": {"username": "only"}}),
        ("post", "/api/v1/refresh", {}),
        ("get", "/api/v1/no/such/route", {}),
        ("delete", "/api/v1/users/read-users/", {}),
    ]
    for method, path, kwargs in cases:
        kwargs.setdefault("headers", {})
        kwargs["headers"] = {**admin, **kwargs["headers"]}
        resp = getattr(api.client, method)(path, **kwargs)
        assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.text)
        body = resp.json()
        assert body["error"] and "detail" in body, (path, body)
        assert "Traceback" not in resp.text


def test_validation_422_names_the_field(api, tenant):
    _, admin = api.new_user(tenant, ["admin"])
    resp = api.client.post(
        "/api/v1/users/create-user",
        json={"username": "abc", "email": "bad", "password": "long-enough"},
        headers=admin,
    )
    assert resp.status_code == 422
    assert "email" in resp.json()["detail"]
    assert resp.json()["errors"][0]["field"] == "email"


def api_routes(app) -> list[tuple[str, set[str], object]]:
    """(full path, methods, dependant) of every API route, through included routers.

    FastAPI 0.16x keeps included routers as one `_IncludedRouter` entry whose route contexts carry the
    full path and the merged dependencies; older versions flatten them into `APIRoute`s.
    """
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append((route.path, set(route.methods), route.dependant))
        elif hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                if isinstance(ctx.original_route, APIRoute):
                    found.append((ctx.path, set(ctx.original_route.methods), ctx.dependant))
    return found


def test_openapi_lists_every_route_with_response_models(api):
    spec = api.client.get("/openapi.json").json()
    routes = api_routes(create_app(api.settings))
    assert len(routes) >= 40
    for path, methods, _ in routes:
        for method in methods:
            op = spec["paths"][path][method.lower()]
            ok = next(code for code in op["responses"] if code.startswith("2"))
            assert "content" in op["responses"][ok], (path, method)
    assert api.client.get("/docs").status_code == 200


def _allows(dependant) -> list[Allow]:
    found = [dependant.call] if isinstance(dependant.call, Allow) else []
    for sub in dependant.dependencies:
        found += _allows(sub)
    return found


def test_every_route_declares_a_permission(api):
    routes = api_routes(create_app(api.settings))
    assert len(routes) >= 40
    public = {
        "/api/v1/login/access-token",
        "/api/v1/refresh",
        "/api/v1/logout",
        "/api/v1/utils/health-check/",
    }
    job_callbacks = {"/api/v1/train/result", "/api/v1/train/shap-result", "/api/v1/inference/batch-result"}
    for path, _, dependant in routes:
        allows = _allows(dependant)
        assert len(allows) == 1, f"{path} declares {len(allows)} permission checks"
        assert allows[0].public == (path in public), path
        assert allows[0].callback == (path in job_callbacks), path
