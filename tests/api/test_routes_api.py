"""The route table over real HTTP: wrong methods are 405 everywhere, and OpenAPI's security matches the
permission each route declares."""

from __future__ import annotations

import re

from raylake.platform.app import create_app
from tests.api.test_errors_api import _allows, api_routes

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(paths: dict[str, set[str]], concrete: str) -> set[str]:
    """What the app serves on a concrete path: a literal path's own methods, else those of every
    parameterised path that matches it."""
    if concrete in paths:
        return paths[concrete]
    allowed: set[str] = set()
    for path, methods in paths.items():
        if "{" in path and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", path), concrete):
            allowed |= methods
    return allowed


def test_a_wrong_method_is_405_with_allow_on_every_path(api):
    paths: dict[str, set[str]] = {}
    for path, methods, _ in api_routes(create_app(api.settings)):
        paths.setdefault(path, set()).update(methods)
    checked = 0
    for path in paths:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        allowed = _allowed_methods(paths, concrete)
        for method in sorted(set(METHODS) - allowed):
            # as the superuser: a route that wrongly took the request would answer 422 (or worse), not 401
            resp = api.client.request(method, concrete, headers=api.su)
            assert resp.status_code == 405, (method, concrete, resp.status_code, resp.text)
            assert resp.json()["error"] == "MethodNotAllowed"
            assert set(resp.headers["Allow"].replace(" ", "").split(",")) <= allowed, (method, concrete)
            checked += 1
    assert checked > 150
    for method, path in (("DELETE", "/api/v1/template/list"), ("GET", "/api/v1/users/create-user")):
        resp = api.client.request(method, path, headers=api.su)
        assert resp.status_code == 405 and resp.headers["Allow"] in ("GET", "POST"), (method, path)


def test_openapi_security_only_on_routes_that_need_a_token(api):
    spec = api.client.get("/openapi.json").json()
    for path, methods, dependant in api_routes(create_app(api.settings)):
        (allow,) = _allows(dependant)
        for method in methods:
            security = spec["paths"][path][method.lower()].get("security")
            if allow.public or allow.callback:
                assert not security, (method, path)
            else:
                # a bearer access token or API key, or an API key in X-API-Key
                assert security == [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}], (method, path)
