"""The error contract: JSON bodies, the right status, never a 500 for bad input; OpenAPI complete."""

from __future__ import annotations

from fastapi.routing import APIRoute

from raylake.platform.app import create_app
from raylake.platform.deps import Allow
from tests.api.test_training_api import upload
from tests.datafiles import training_csv
from tests.factories import unique


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
            assert "content" in op["responses"][ok] or ok == "204", (path, method)  # 204: no body
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
    job_callbacks = {
        "/api/v1/train/result",
        "/api/v1/train/shap-result",
        "/api/v1/inference/batch-result",
        "/api/v1/models/surrogate-result",
        "/api/v1/models/drift-result",
        "/api/v1/models/{model_id}/versions/{version}/training-complete",
        "/api/v1/models/{model_id}/versions/{version}/training-failure",
    }
    for path, _, dependant in routes:
        allows = _allows(dependant)
        assert len(allows) == 1, f"{path} declares {len(allows)} permission checks"
        assert allows[0].public == (path in public), path
        assert allows[0].callback == (path in job_callbacks), path


# Lists bounded by what they describe rather than collections that grow: not paged.
NOT_PAGED = {"/api/v1/datalake/schemas", "/api/v1/datalake/tables/columns"}


def _list_routes(spec: dict) -> dict[str, set[str]]:
    """Every GET answering a JSON array or an object with a ``data`` array: its query parameters."""
    schemas = spec["components"]["schemas"]
    found = {}
    for path, ops in spec["paths"].items():
        op = ops.get("get")
        if op is None:
            continue
        ok = next(code for code in op["responses"] if code.startswith("2"))
        schema = op["responses"][ok].get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" in schema:
            listy = schemas[schema["$ref"].rsplit("/", 1)[1]].get("properties", {}).get("data", {})
            listy = listy.get("type") == "array"
        else:
            listy = schema.get("type") == "array"
        # A list below one object (a webhook's deliveries) is checked with that object's own tests.
        if listy and path not in NOT_PAGED and "{" not in path:
            found[path] = {p["name"] for p in op.get("parameters", [])}
    return found


def test_every_list_pages_and_says_its_total_deletes_and_file_details(api, tenant):
    """Every list takes bounded ``skip``/``limit`` (``skip=2**63`` was a 500) and says its total (a bare
    array in the header ``X-Total-Count``); deletes answer the reference's ``status_code``; file details
    carry ``hdf_file_path``."""
    _, admin = api.new_user(tenant, ["admin"])
    lists = _list_routes(api.client.get("/openapi.json").json())
    assert len(lists) >= 12 and {"/api/v1/train/list", "/api/v1/inference/predictions"} <= set(lists)
    assert all({"skip", "limit"} <= params for params in lists.values()), lists

    older, newer = (upload(api, admin, training_csv(20, seed=i)) for i in range(2))
    required = {
        "/api/v1/files/list": {"dataset_id": older},
        "/api/v1/datalake/schemas/tables": {"schema_name": "silver"},
    }
    for path in lists:
        headers = api.su if path == "/api/v1/tenants/" else admin
        for bad in ({"skip": 2**63}, {"skip": 2**31}, {"skip": -1}, {"limit": 0}, {"limit": 1001}):
            resp = api.client.get(path, params={**required.get(path, {}), **bad}, headers=headers)
            assert resp.status_code == 422 and resp.json()["error"], (path, bad, resp.text)
        resp = api.client.get(path, params={**required.get(path, {}), "limit": 1}, headers=headers)
        assert resp.status_code == 200, (path, resp.text)
        body = resp.json()
        if isinstance(body, list):
            items, total = body, int(resp.headers["X-Total-Count"])
        else:
            items, total = body["data"], body.get("total", body.get("count"))
        assert len(items) <= 1 and isinstance(total, int) and total >= len(items), (path, body)

    def page(path: str, **params):
        resp = api.client.get(path, params=params, headers=admin)
        assert resp.status_code == 200, resp.text
        return resp

    first, second = (page("/api/v1/dataset/list", skip=skip, limit=1).json() for skip in (0, 1))
    assert first["total"] == second["total"] == 2
    assert [first["data"][0]["id"], second["data"][0]["id"]] == [newer, older]
    validated = page("/api/v1/dataset/list_validated", skip=1, limit=5)
    assert validated.headers["X-Total-Count"] == "2" and [d["id"] for d in validated.json()] == [older]
    tables = page("/api/v1/datalake/schemas/tables", schema_name="silver", limit=1)
    assert tables.headers["X-Total-Count"] == "2" and len(tables.json()) == 1
    files = page("/api/v1/files/list", dataset_id=older).json()
    assert files["total"] == 1 and len(files["data"]) == 1

    file_id = files["data"][0]["id"]
    detail = page("/api/v1/files/get_file_by_id/", file_id=file_id).json()
    assert detail["hdf_file_path"] is None and detail["csv_file_path"]
    deleted = api.client.delete(f"/api/v1/files/delete/{file_id}", headers=admin)
    assert deleted.status_code == 200
    assert deleted.json() == {"status": 200, "status_code": 200, "message": "File deleted successfully"}
    deleted = api.client.delete(f"/api/v1/dataset/delete/{newer}", headers=admin)
    assert deleted.status_code == 200 and deleted.json()["status_code"] == 200


def test_upload_honours_iceberg_table_name(api, tenant):
    """The reference's ``iceberg_table_name`` names the dataset's tables (it was ignored): shown by the
    dataset and the datalake API, a 409 when the tenant already shows that name, a 422 when not an
    identifier."""
    _, admin = api.new_user(tenant, ["admin"])
    name = unique("forecast_p11_")

    def upload_named(table_name: str):
        return api.client.post(
            "/api/v1/dataset/upload",
            params={"dataset_name": unique("named-"), "usage": "t", "iceberg_table_name": table_name},
            files=[("files", ("data.csv", training_csv(20), "text/csv"))],
            headers=admin,
        )

    resp = upload_named(name)
    assert resp.status_code == 201 and resp.json()["iceberg_table_name"] == name, resp.text
    dataset_id = resp.json()["dataset_id"]
    detail = api.client.get(
        "/api/v1/dataset/get_dataset_by_id", params={"dataset_id": dataset_id}, headers=admin
    )
    assert detail.json()["iceberg_table_name"] == name and detail.json()["validated_path"] == f"silver.{name}"
    listed = api.client.get("/api/v1/dataset/list", headers=admin).json()["data"]
    assert [d["iceberg_table_name"] for d in listed if d["id"] == dataset_id] == [name]
    columns = api.client.get(
        "/api/v1/datalake/tables/columns", params={"schema_name": "silver", "table_name": name}, headers=admin
    )
    assert columns.status_code == 200 and "Churn" in {c["column_name"] for c in columns.json()}
    assert upload_named(name).status_code == 409
    bad = upload_named("Not A-Name")
    assert bad.status_code == 422 and "iceberg_table_name" in bad.json()["detail"]
