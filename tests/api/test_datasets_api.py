"""Datasets and files over HTTP through Serve: the reference's shapes, walls, caps, downloads, statistics."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from raylake.platform import lake
from tests.api.conftest import once_per_session
from tests.datafiles import CHURN_SCHEMA, churn_csv, tenant_footprint
from tests.factories import unique


@pytest.fixture
def scientist(api, tenant):
    return api.new_user(tenant, ["data_scientist"])[1]


@pytest.fixture
def template_id(api, scientist):
    resp = api.client.post(
        "/api/v1/template/",
        json={"template_name": unique("churn"), "template_schema": CHURN_SCHEMA},
        headers=scientist,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _upload(api, headers, files, **params):
    params.setdefault("dataset_name", unique("ds-"))
    params.setdefault("usage", "t")
    return api.client.post(
        "/api/v1/dataset/upload",
        params=params,
        files=[("files", (name, content, "text/csv")) for name, content in files],
        headers=headers,
    )


def test_upload_list_view_and_file_apis(api, scientist, template_id):
    resp = _upload(api, scientist, [("churn.csv", churn_csv())], template_id=template_id, usage="p")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["dataset_usage"] == "Prediction" and body["data_source"] == "csv"
    assert body["dataset_usability"] == "60%" and body["iceberg_table_name"].endswith(
        f"_{body['dataset_id']}"
    )
    (file,) = body["files"]
    assert {
        "dataset_id",
        "id",
        "file_name",
        "created_at",
        "modified_at",
        "total_fields",
        "total_records",
    } <= file.keys()
    dataset_id = body["dataset_id"]

    listed = api.client.get("/api/v1/dataset/list", headers=scientist).json()
    row = next(d for d in listed["data"] if d["id"] == dataset_id)
    assert row["file_count"] == 1 and row["template_id"] == template_id and row["template_name"]
    validated = api.client.get("/api/v1/dataset/list_validated", headers=scientist).json()
    assert dataset_id in {d["id"] for d in validated}

    detail = api.client.get(
        "/api/v1/dataset/get_dataset_by_id", params={"dataset_id": dataset_id}, headers=scientist
    )
    assert detail.json()["iceberg_table_name"] == body["iceberg_table_name"]
    page = api.client.get(
        "/api/v1/dataset/view", params={"dataset_id": dataset_id, "limit": 2, "offset": 1}, headers=scientist
    ).json()
    assert page["total"] == 3 and len(page["preview"]) == 2 and "CustomerID" in page["preview"][0]

    more = api.client.post(
        "/api/v1/files/add",
        params={"dataset_id": dataset_id},
        files=[("files", ("more.csv", churn_csv(["C7,1,Basic,true,2024-01-01"]), "text/csv"))],
        headers=scientist,
    )
    assert more.status_code == 201, more.text
    files = api.client.get("/api/v1/files/list", params={"dataset_id": dataset_id}, headers=scientist).json()
    assert files["total"] == 2
    new_id = more.json()["files"][0]["id"]
    view = api.client.get("/api/v1/files/view", params={"file_id": new_id}, headers=scientist).json()
    assert view["content_preview"][0].startswith("CustomerID,")
    details = api.client.get(
        "/api/v1/files/get_file_by_id/", params={"file_id": new_id}, headers=scientist
    ).json()
    assert details["encoding"] == "utf-8"
    by_path = api.client.get(
        "/api/v1/files/download/", params={"file_path": details["csv_file_path"]}, headers=scientist
    )
    assert by_path.status_code == 200 and by_path.content == churn_csv(["C7,1,Basic,true,2024-01-01"])
    by_id = api.client.get("/api/v1/files/download/", params={"file_id": new_id}, headers=scientist)
    assert by_id.content == by_path.content
    assert api.client.delete(f"/api/v1/files/delete/{new_id}", headers=scientist).json()["message"]
    assert (
        api.client.get("/api/v1/files/list", params={"dataset_id": dataset_id}, headers=scientist).json()[
            "total"
        ]
        == 1
    )

    deleted = api.client.delete(f"/api/v1/dataset/delete/{dataset_id}", headers=scientist)
    assert deleted.status_code == 200 and deleted.json()["message"] == "Dataset deleted successfully"
    assert (
        api.client.get(
            "/api/v1/dataset/view", params={"dataset_id": dataset_id}, headers=scientist
        ).status_code
        == 404
    )


def test_bad_uploads_leave_nothing(api, tenant, scientist, template_id):
    ctx = lake.open_lake(api.settings)
    cases = [
        ([("garbage.bin", os.urandom(4096).replace(b"\n", b"\x00") + b"\x00")], {}, 422),
        ([("empty.csv", b"")], {}, 422),
        ([("header.csv", b"CustomerID,DataUsageGB,Plan,Churn,Joined\n")], {}, 422),
        ([("bom.csv", b"\xef\xbb\xbf")], {}, 422),
        ([("magic.parquet", b"PAR1")], {}, 422),
        ([("nope.csv", churn_csv())], {"template_id": 2**31 - 1}, 404),
        ([("nope.csv", churn_csv())], {"usage": "x"}, 422),
        ([], {}, 422),
    ]
    for files, params, status in cases:
        resp = _upload(api, scientist, files, **{"template_id": template_id, **params})
        assert resp.status_code == status, (files[:1], resp.text)
        assert resp.json()["error"]
    assert tenant_footprint(api.engine, ctx, tenant) == {
        "datasets": 0,
        "files": 0,
        "tables": 0,
        "stored": 0,
        "staged": 0,
    }


def test_upload_over_the_cap_is_413(api, scientist, template_id):
    big = b"x" * (api.settings.max_upload_mb * 1024 * 1024 + 1024)
    resp = _upload(api, scientist, [("big.csv", big)], template_id=template_id)
    assert resp.status_code == 413


def test_dataset_name_taken_409_and_other_tenant_404(api, scientist, template_id):
    name = unique("taken-")
    assert (
        _upload(
            api, scientist, [("a.csv", churn_csv())], template_id=template_id, dataset_name=name
        ).status_code
        == 201
    )
    again = _upload(api, scientist, [("a.csv", churn_csv())], template_id=template_id, dataset_name=name)
    assert again.status_code == 409
    _, stranger = api.new_user(api.new_tenant(), ["data_scientist"])
    assert _upload(api, stranger, [("a.csv", churn_csv())], template_id=template_id).status_code == 404
    mine = api.client.get("/api/v1/dataset/list", headers=scientist).json()["data"][0]["id"]
    assert (
        api.client.get(
            "/api/v1/dataset/get_dataset_by_id", params={"dataset_id": mine}, headers=stranger
        ).status_code
        == 404
    )
    assert (
        api.client.get("/api/v1/files/list", params={"dataset_id": mine}, headers=stranger).status_code == 404
    )


def test_download_path_traversal_refused(api, tenant, scientist, template_id):
    body = _upload(api, scientist, [("secret.csv", churn_csv())], template_id=template_id).json()
    key = api.client.get(
        "/api/v1/files/get_file_by_id/", params={"file_id": body["files"][0]["id"]}, headers=scientist
    ).json()["csv_file_path"]
    _, stranger = api.new_user(api.new_tenant(), ["data_scientist"])
    store = Path(api.settings.data_dir) / "files"
    link = store / tenant / "link.csv"
    link.symlink_to(store / key)
    attempts = [
        "../../secret_key",
        "%2e%2e%2f%2e%2e%2fsecret_key",
        "%252e%252e%252f%252e%252e%252fsecret_key",
        "/etc/passwd",
        str(store / key),
        f"{tenant}/../../secret_key",
        "a\x00b",
        f"{tenant}/link.csv",
        "a" * 256,  # longer than a file name may be
    ]
    for attempt in attempts:
        resp = api.client.get("/api/v1/files/download/", params={"file_path": attempt}, headers=scientist)
        assert resp.status_code in (400, 404), (attempt, resp.status_code)
        assert resp.json()["error"] in ("BadRequest", "NotFound")
        assert b"C1" not in resp.content
    # another tenant asking for this tenant's path, with or without the tenant folder
    for attempt in (key, key.split("/", 1)[1]):
        resp = api.client.get("/api/v1/files/download/", params={"file_path": attempt}, headers=stranger)
        assert resp.status_code == 404, attempt


def test_statistics_job(api, scientist, template_id):
    once_per_session(api)
    dataset_id = _upload(api, scientist, [("stats.csv", churn_csv())], template_id=template_id).json()[
        "dataset_id"
    ]
    resp = api.client.post(
        "/api/v1/dataset/generate_statistics", params={"dataset_id": dataset_id}, headers=scientist
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["job_id"]
    deadline = time.monotonic() + 180
    while True:
        state = api.client.get(
            "/api/v1/dataset/statistics", params={"dataset_id": dataset_id}, headers=scientist
        )
        assert state.status_code == 200, state.text
        body = state.json()
        if body["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert body["status"] == "succeeded", body["error"]
    assert body["percent"] == 100
    stats = body["statistics"]["columns"]
    assert stats["DataUsageGB"]["count"] == 3 and stats["DataUsageGB"]["max"] == 10.5
    assert stats["DataUsageGB"]["histogram"]["counts"] and stats["Plan"]["top_values"][0]["value"] == "Basic"
