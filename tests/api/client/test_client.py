"""The Python client (clients/python) against the real test platform: login and token refresh, typed
errors, uploads from a path and from frames, paging, the registry, and one training followed end to end
(progress bar, results, predictions, aliases, feedback, batch, events)."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from raylake_client import Client, Invalid, NotFound, Unauthorized
from raylake_client.models import Event

from tests.api.conftest import once_per_session
from tests.datafiles import CHURN_SCHEMA, churn_csv, training_csv
from tests.factories import PASSWORD, unique

pytestmark = pytest.mark.ray
ROLES = {"CustomerID": "Id", "Spend": "Ignore", "Score": "Ignore"}


@dataclass
class Tenant:
    id: str
    username: str
    client: Client


@pytest.fixture(scope="module")
def tenant(api) -> Tenant:
    tenant_id = api.new_tenant()
    user, _ = api.new_user(tenant_id, ["data_scientist"])
    client = Client(str(api.client.base_url), username=user["username"], password=PASSWORD)
    return Tenant(tenant_id, user["username"], client)


def test_login_refresh_and_typed_errors(api, tenant: Tenant):
    client = tenant.client
    me = client.me()
    assert (me.username, me.tenant_id) == (tenant.username, tenant.id) and "train:run" in me.permissions
    # An access token about to expire is refreshed first (the refresh token rotates).
    assert client.http.tokens is not None
    before = client.http.tokens.refresh_token
    client.http.tokens.expires_at = time.time()
    assert client.me().username == tenant.username
    assert client.http.tokens.refresh_token != before
    # One the server refuses (401) is renewed once and the request repeated.
    client.http.tokens.access_token = "not-a-token"
    assert client.me().username == tenant.username

    with pytest.raises(NotFound) as missing:
        client.templates.get(999_999)
    assert missing.value.status_code == 404 and missing.value.kind == "NotFound"
    assert "999999" in missing.value.detail or "not found" in missing.value.detail.lower()
    with pytest.raises(Invalid) as invalid:
        client.train(999_999, predictor_name=unique("p-"), target="Churn")
    assert invalid.value.status_code == 422 and "does not exist" in invalid.value.detail
    with pytest.raises(Invalid) as shape:
        client.http.json("POST", "/template/", json={"template_name": 5, "surprise": 1})
    assert "surprise" in shape.value.detail and shape.value.errors
    with pytest.raises(Unauthorized) as refused:
        Client(str(api.client.base_url), username=tenant.username, password="wrong-password-1").me()
    assert refused.value.status_code == 401 and refused.value.detail


def test_an_api_key_is_a_bearer_token(api, tenant: Tenant, monkeypatch):
    created = tenant.client.api_keys.create(unique("script-"), role="data_scientist")
    assert created.key.startswith("rlk_") and created.key.startswith(created.prefix)
    listed = {k.id: k for k in tenant.client.api_keys.list()}
    assert created.id in listed and "key" not in listed[created.id].model_dump()

    monkeypatch.setenv("RAYLAKE_URL", str(api.client.base_url))
    monkeypatch.setenv("RAYLAKE_API_KEY", created.key)
    keyed = Client()  # from the environment
    assert keyed.http.api_key == created.key and keyed.http.tokens is None
    assert keyed.me().tenant_id == tenant.id
    assert isinstance(keyed.templates.page().total, int)
    with keyed.events.stream(timeout=30) as stream:
        assert stream.tenant_id == tenant.id

    tenant.client.api_keys.revoke(created.id)
    deadline = time.monotonic() + api.settings.auth_cache_s + 10
    while True:
        try:
            keyed.me()
        except Unauthorized as exc:
            assert exc.status_code == 401
            break
        assert time.monotonic() < deadline, "a revoked key still works"
        time.sleep(0.5)


def test_upload_from_a_path_and_from_frames(tenant: Tenant, tmp_path: Path):
    client = tenant.client
    template = client.templates.create(unique("churn-"), CHURN_SCHEMA)
    assert [c.column_name for c in template.template_schema] == [c["column_name"] for c in CHURN_SCHEMA]

    path = tmp_path / "churn.csv"
    path.write_bytes(churn_csv())
    report = client.datasets.upload(path, template=template, name=unique("path-"))
    assert report.total_records == 5 and report.valid_records == 3 and report.dataset_usability == "60%"
    columns = report.files[0].error_report["columns"]
    assert columns["DataUsageGB"]["bad_values"] == 1 and columns["DataUsageGB"]["sample_values"] == ["oops"]

    frame = pl.read_csv(io.BytesIO(training_csv(40, seed=4)))
    from_polars = client.datasets.upload(frame, name=unique("polars-"))
    assert from_polars.is_valid and from_polars.total_records == 40 == from_polars.valid_records
    from_pandas = client.datasets.upload(frame.to_pandas(), name=unique("pandas-"), usage="p")
    assert from_pandas.total_records == 40 and from_pandas.usage == "p"
    rows = client.datasets.preview(from_polars.dataset_id, limit=3)
    assert len(rows) == 3 and set(frame.columns) <= set(rows[0])


def test_paging_iterators_walk_every_page(tenant: Tenant):
    client = tenant.client
    names = {unique("paged-") for _ in range(5)}
    for name in names:
        client.templates.create(name, {"A": "Integer"})
    first = client.templates.page(limit=2)
    assert len(first.items) == 2 and first.total >= 5
    listed = list(client.templates.list(page_size=2))
    assert names <= {t.template_name for t in listed} and len(listed) == first.total
    assert len({t.id for t in listed}) == len(listed)  # no page read twice


def test_registry_calls(tenant: Tenant):
    client = tenant.client
    created = [
        client.models.create(unique("reg-"), task="regression", description="first", tags=["a"])
        for _ in range(3)
    ]
    model = client.models.update(created[0], description="changed", tags=["a", "b"])
    assert (model.description, model.tags, model.status) == ("changed", ["a", "b"], "draft")
    assert client.models.get(model.uid).id == model.id  # by uid too
    listed = list(client.models.list(page_size=1, search="reg-"))
    assert {m.id for m in created} <= {m.id for m in listed}
    assert client.models.versions(model) == []
    with pytest.raises(NotFound, match="no version or alias"):
        client.models.version(model, "production")
    client.models.delete(created[2])
    with pytest.raises(NotFound):
        client.models.get(created[2].id)


# --- one training, followed end to end -------------------------------------------------------------


def _collect(stream, events: list[Event], until) -> None:
    for event in stream:
        events.append(event)
        if until(event):
            return


def test_train_wait_predict_and_use_the_model(api, tenant: Tenant, tmp_path: Path, capsys):
    once_per_session(api)
    client = tenant.client
    dataset = client.datasets.upload(pl.read_csv(io.BytesIO(training_csv(250, seed=3))), name=unique("c-"))
    events: list[Event] = []
    with client.events.stream(timeout=300) as stream:
        assert stream.tenant_id == tenant.id
        run = client.train(dataset, predictor_name=unique("churn-"), target="Churn", columns=ROLES)
        done = threading.Thread(
            target=_collect,
            args=(stream, events, lambda e: e.type == "run.completed" and e.data.get("train_id") == run.id),
        )
        done.start()
        info = run.wait(timeout=400)
        done.join(120)
    assert info.train_status == "completed" and info.percent == 100 and info.accuracy
    assert run.bar is not None and (run.bar.n, run.bar.total) == (100, 100)
    assert "completed" in capsys.readouterr().err  # the bar's last state: status and stage
    completed = [e for e in events if e.type == "run.completed"]
    assert completed and completed[-1].data["train_id"] == run.id and completed[-1].tenant_id == tenant.id

    summary = run.summary()
    assert summary.labels == ["false", "true"] and {"accuracy", "f1_score"} <= summary.model_summary.keys()
    importance = run.importance(timeout=300)
    assert importance.status == "completed" and set(importance.feature_importance) >= {"Tenure", "Plan"}

    # predict a frame, batched: the same frame type back, one prediction per row, in order
    frame = pl.read_csv(io.BytesIO(training_csv(7, seed=9))).drop("Churn", "Spend", "Score")
    frame = frame.with_columns(pl.col("Monthly").fill_null(50.0))  # no template default: required
    predicted = client.predict(run, frame, batch_size=3)
    assert isinstance(predicted, pl.DataFrame) and predicted.height == 7
    assert predicted["CustomerID"].to_list() == frame["CustomerID"].to_list()
    assert set(predicted["prediction"].to_list()) <= {True, False}
    assert {"probability_true", "probability_false", "capture_id"} <= set(predicted.columns)
    explained = client.explain(run.id, frame.to_pandas().head(2))
    assert isinstance(explained, pd.DataFrame) and "shap_Tenure" in explained.columns

    # the registry: the predictor is a model whose run is v1
    model = next(client.models.list(search=info.predictor_name))
    assert [v.train_id for v in client.models.versions(model)] == [run.id]
    alias = client.models.set_alias(model, "production", "v1")
    assert (alias.version, alias.train_id) == ("v1", run.id)
    described = client.models.describe(model, "production")
    assert described.target == "Churn" and "Tenure" in described.features
    one = client.models.infer(
        model, "production", {"Tenure": 5, "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"}
    )
    assert one["prediction"] in (True, False) and one["capture_id"]
    by_model = client.predict(
        model, [{"Tenure": 60, "Monthly": 99, "Plan": "Gold", "Joined": "2019-05-01"}], version="production"
    )
    assert len(by_model) == 1 and "prediction" in by_model[0]

    # feedback on the captured predictions
    labels = {capture_id: True for capture_id in predicted["capture_id"].to_list()[:3]}
    report = client.feedback(model, labels)
    assert report.received == 3 and report.matched + len(report.unmatched) == 3

    # a batch: submitted, followed and downloaded
    out = tmp_path / "predictions.csv"
    batch = client.batch(run, dataset.dataset_id, download=out, progress=False, timeout=300)
    assert batch.status == "completed" and batch.no_of_records == 250
    downloaded = pl.read_csv(out)
    assert downloaded.height == 250 and "prediction" in downloaded.columns


def test_submit_training_as_a_ray_job(api, tenant: Tenant):
    once_per_session(api)
    upload = pl.read_csv(io.BytesIO(training_csv(150, seed=12)))
    dataset = tenant.client.datasets.upload(upload, name=unique("nb-"))
    with pytest.raises(ValueError, match="API key"):  # the job authenticates with a key, not a password
        tenant.client.submit_training(dataset, target="Churn", predictor_name=unique("nb-"), via="ray")
    key = tenant.client.api_keys.create(unique("nb-"), role="data_scientist").key
    keyed = Client(str(api.client.base_url), api_key=key)
    run = keyed.submit_training(
        dataset,
        target="Churn",
        predictor_name=unique("nb-"),
        via="ray",
        ray_address=api.settings.ray_dashboard_url,
        ray_token=api.settings.ray_token(),
        algorithm="LightGBM",
    )
    assert run.info.ray_job_id and run.info.ray_job_id.startswith("raysubmit_")
    info = run.wait(progress=False, timeout=600)
    assert info.train_status == "completed" and info.ray_job_id == run.info.ray_job_id
    assert f"handed to Ray job {info.ray_job_id}" in run.logs()
