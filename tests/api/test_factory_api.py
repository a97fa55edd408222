"""The model factory and a model's columns over real HTTP: a dataset's schema and spec read, set on a
model with PATCH, its columns listed and read one by one; another tenant sees none of it."""

from __future__ import annotations

from tests.api.test_training_api import upload
from tests.datafiles import training_csv
from tests.factories import unique


def test_factory_then_the_models_schema_and_its_columns(api, tenant):
    client = api.client
    _, headers = api.new_user(tenant, ["data_scientist"])
    _, outsider = api.new_user(api.new_tenant(), ["data_scientist"])
    dataset_id = upload(api, headers, training_csv(60))

    made = client.post(
        "/api/v1/models/factory", json={"dataset_id": dataset_id, "sample_size": 40}, headers=headers
    )
    assert made.status_code == 200, made.text
    result = made.json()
    assert result["sample_rows"] == 40 and result["schema"]["schema_version"] == 1
    assert result["spec"]["targets"] == ["Churn"] and result["spec"]["metadata"] == ["CustomerID", "Joined"]
    plan = next(c for c in result["schema"]["columns"] if c["name"] == "Plan")
    assert set(plan) == {
        "id",
        "name",
        "data_type",
        "min",
        "max",
        "categories",
        "bins",
        "nullable",
        "replace_with_nulls",
        "n_dimensions",
    }
    assert (
        client.post("/api/v1/models/factory", json={"dataset_id": dataset_id}, headers=outsider).status_code
        == 404
    )
    assert client.post("/api/v1/models/factory", json={"sample_size": 10}, headers=headers).status_code == 422

    model = client.post(
        "/api/v1/models", json={"name": unique("churn"), "task": "binary_classification"}, headers=headers
    ).json()
    assert model["schema"] is None and model["spec"] is None
    patched = client.patch(
        f"/api/v1/models/{model['uid']}",
        json={"schema": result["schema"], "spec": result["spec"]},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["schema"] == result["schema"] and patched.json()["spec"] == result["spec"]
    listed = client.get("/api/v1/models", params={"filter": f"id:{model['id']}"}, headers=headers).json()
    assert listed["items"][0]["schema"] == result["schema"]

    columns = client.get(f"/api/v1/models/{model['id']}/columns", headers=headers).json()
    assert columns["total"] == 8 and columns["items"] == result["schema"]["columns"]
    assert client.get(f"/api/v1/models/{model['uid']}/columns/Plan", headers=headers).json() == plan
    missing = client.get(f"/api/v1/models/{model['id']}/columns/Nope", headers=headers)
    assert missing.status_code == 404 and "Nope" in missing.json()["detail"]
    assert client.get(f"/api/v1/models/{model['id']}/columns", headers=outsider).status_code == 404
    assert client.get(f"/api/v1/models/{model['id']}/columns/Plan", headers=outsider).status_code == 404
