"""The README walk-through (docs/walkthrough.sh) redone through the Python client against the test
platform, step by step in the script's order: a superuser makes a tenant and its admin, who then does
everything else (users and RBAC, data and the lake, training, inference, batch, the registry, monitoring,
models trained elsewhere, deployments, forecasting, tokens and password). No raw HTTP: only the client.

To stay within the suite's budget it trains once per kind (one classifier, one forecaster) and reuses the
classifier for inference, batch, the registry and monitoring: where the script trains v2 from the
registry, the alias names v1 (``Models.train`` forwards to ``POST /models/{id}/train``, which
tests/api/test_walkthrough.py runs through curl and the registry's API tests cover), and the script's
automatic search is left to tests/api/test_walkthrough.py and tests/api/test_training_api.py (through the
client it is the same ``train`` call with ``algorithm="auto"``)."""

from __future__ import annotations

import datetime
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import skops.io
from raylake_client import Client, Invalid, Unauthorized
from raylake_client.models import Model, UploadReport
from raylake_client.training import Run
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from tests.api.conftest import once_per_session
from tests.factories import unique

pytestmark = pytest.mark.ray

SUPERUSER_PW = "superuser-password-1"  # what the api fixture gives the first superuser (ADMIN_PW)
JANE_PW, JANE_NEW_PW = "plum-orbit-kettle-42", "amber-tundra-violin-58"
BOB_PW = "quiet-lantern-fig-17"
ROLES = {"CustomerID": "Id", "Churn": "Target"}
TELECOM_CSV = (
    "CustomerID,DataUsageGB,PlanType,Churn\n"
    "CUST-0001,10.5,Premium,False\nCUST-0002,,,True\nCUST-0003,oops,Basic,yes\n"
)
ROW = {"Tenure": 5, "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"}
EXTERNAL_ROW = {"Tenure": 5, "Monthly": 20.5, "Plan": "Basic"}


def churn_csv() -> str:
    """The script's churn table (the same seed and rows)."""
    random.seed(1)
    lines = ["CustomerID,Tenure,Monthly,Plan,Joined,Churn"]
    for i in range(500):
        tenure, plan = random.randint(1, 72), random.choice(["Basic", "Premium", "Gold"])
        churn = (tenure < 20 and plan == "Basic") or random.random() < 0.1
        joined = f"20{random.randint(18, 24)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}"
        lines.append(f"C{i},{tenure},{random.uniform(10, 120):.2f},{plan},{joined},{churn}")
    return "\n".join(lines) + "\n"


def sales_csv() -> str:
    """The script's daily sales of two stores with a promotion flag."""
    random.seed(2)
    lines = ["Store,Day,Sales,Promo"]
    for store, level in (("north", 120), ("south", 300)):
        for d in range(120):
            day = datetime.date(2024, 1, 1) + datetime.timedelta(days=d)
            promo = int(d % 9 == 0)
            sales = level * (1 + 0.3 * math.sin(2 * math.pi * day.weekday() / 7)) * (1.4 if promo else 1)
            lines.append(f"{store},{day},{sales + random.gauss(0, 4):.2f},{promo}")
    return "\n".join(lines) + "\n"


@dataclass
class Walk:
    """What the steps hand on, as the script's shell variables do."""

    url: str
    dir: Path
    su: Client
    jane_name: str = ""
    jane: Client | None = None
    churn_id: int = 0
    run: Run | None = None
    model: Model | None = None
    external: Model | None = None
    seen: dict[str, Any] = field(default_factory=dict)

    @property
    def client(self) -> Client:
        assert self.jane is not None, "an earlier step failed"
        return self.jane


@pytest.fixture(scope="module")
def walk(api, tmp_path_factory) -> Walk:
    once_per_session(api)  # the whole walk on the SQLite pass (the client's own tests cover both stores)
    url = str(api.client.base_url)
    su = Client(url, username=api.settings.first_superuser, password=SUPERUSER_PW)
    return Walk(url=url, dir=tmp_path_factory.mktemp("walkthrough"), su=su)


def _upload(client: Client, walk: Walk, name: str, text: str, **kwargs: Any) -> UploadReport:
    path = walk.dir / f"{name}.csv"
    path.write_text(text)
    return client.datasets.upload(path, name=name, **kwargs)


def test_log_in_health_and_who_am_i(api, walk: Walk):
    once_per_session(api)
    assert walk.su.health()["status"] == "ok"  # DB and Ray answer
    me = walk.su.whoami()
    assert me.username == api.settings.first_superuser and me.is_superuser
    assert walk.su.http.tokens is not None and walk.su.http.tokens.refresh_token  # the login's refresh token


def test_a_tenant_and_its_first_admin(walk: Walk):
    tenant = walk.su.tenants.create(unique("acme-"))
    assert tenant.is_active and tenant.id in {t.id for t in walk.su.tenants.list()}
    walk.jane_name = unique("janedoe")
    jane = walk.su.users.create(
        walk.jane_name,
        email=f"{walk.jane_name}@example.com",
        password=JANE_PW,
        roles=["admin"],
        tenant_id=tenant.id,
        first_name="jane",
        last_name="doe",
    )
    assert (jane.tenant_id, jane.roles, jane.first_name) == (tenant.id, ["admin"], "jane")
    walk.seen["tenant"] = tenant.id


def test_jane_works_inside_her_tenant_only(walk: Walk):
    walk.jane = Client(walk.url, username=walk.jane_name, password=JANE_PW)
    users = walk.client.users.page()
    assert users.total == 1 and [u.username for u in users.items] == [walk.jane_name]
    me = walk.client.me()  # tenant, permissions, expiry
    assert me.tenant_id == walk.seen["tenant"] and me.expires_at is not None
    assert "dataset:write" in me.permissions and "train:run" in me.permissions


def test_rbac_a_role_given_to_a_new_user(walk: Walk):
    client = walk.client
    role = client.rbac.create_role("analyst", ["dataset:read", "train:read"])
    assert sorted(role.permissions) == ["dataset:read", "train:read"]
    permission = client.rbac.create_permission("can_train_models")
    assert permission.tenant_id == walk.seen["tenant"]
    assert "analyst" in {r.name for r in client.rbac.roles()}
    assert "can_train_models" in {p.name for p in client.rbac.permissions()}
    bob_name = unique("bob")
    bob = client.users.create(bob_name, email=f"{bob_name}@example.com", password=BOB_PW)
    assert bob.tenant_id == walk.seen["tenant"]  # the caller's tenant
    assert "analyst" in client.rbac.assign(bob.id, ["analyst"]).roles
    assert "analyst" in client.users.get(bob.id).roles


def test_data_template_upload_preview_statistics_and_the_lake(walk: Walk):
    client = walk.client
    template = client.templates.create(
        "Telecom Customer Usage",
        [
            {"column_name": "CustomerID", "data_type": "String"},
            {"column_name": "DataUsageGB", "data_type": "Float", "default_value": "0.0"},
            {"column_name": "PlanType", "data_type": "String", "default_value": "Basic"},
            {"column_name": "Churn", "data_type": "Boolean"},
        ],
    )
    assert template.id in {t.id for t in client.templates.list()}
    upload = _upload(client, walk, "telecom_q3", TELECOM_CSV, template=template)
    # 2 of 3 rows usable ("67%"); error_report names row 3's "oops" in DataUsageGB
    assert (upload.valid_records, upload.total_records, upload.dataset_usability) == (2, 3, "67%")
    columns = upload.files[0].error_report["columns"]
    assert columns["DataUsageGB"]["sample_values"] == ["oops"]
    dataset_id, file_id, table = upload.dataset_id, upload.files[0].id, upload.iceberg_table_name
    assert dataset_id in {d.id for d in client.datasets.list()}

    rows = {r["CustomerID"]: r for r in client.datasets.preview(dataset_id, limit=10)}  # typed, defaults
    assert rows["CUST-0001"]["DataUsageGB"] == 10.5
    assert (rows["CUST-0002"]["DataUsageGB"], rows["CUST-0002"]["PlanType"]) == (0.0, "Basic")
    assert client.files.view(file_id)[0] == "CustomerID,DataUsageGB,PlanType,Churn"  # the raw file
    copy = client.files.download(file_id, walk.dir / "telecom-copy.csv")
    assert copy.read_text() == TELECOM_CSV

    started = client.datasets.generate_statistics(dataset_id)  # a Ray job
    assert started.dataset_id == dataset_id
    seen: list[str] = []
    stats = client.datasets.statistics(dataset_id, progress=lambda s: seen.append(s.status))
    assert stats.status == "succeeded" and stats.statistics and seen[-1] == "succeeded"

    assert "silver" in client.lake.schemas()
    assert table in client.lake.tables("silver")
    assert "DataUsageGB" in {c.column_name for c in client.lake.columns("silver", table)}
    meta = client.lake.metadata("silver", table)
    assert (meta.schema_name, meta.table, meta.row_count) == ("silver", table, 2)
    usage = client.lake.numeric_stats("silver", table, "DataUsageGB")
    assert usage.count == 2 and usage.max == 10.5
    assert client.lake.distinct_count("silver", table, "PlanType").distinct_count == 2


def test_training_a_predictor_with_progress(walk: Walk):
    client = walk.client
    walk.churn_id = _upload(client, walk, "churn", churn_csv()).dataset_id
    details = client.training.details(walk.churn_id, problem_type="Classification")
    assert "LightGBM" in details.algorithms and "Target" in details.attributes
    assert {"Tenure", "Churn"} <= {c["column_name"] for c in details.dataset_schema}
    run = client.train(
        walk.churn_id,
        predictor_name="churn_v1",
        domain="Churn",
        problem_type="Classification",
        algorithm="LightGBM",
        shap_enabled=True,
        columns=ROLES,
    )
    stages: list[tuple[str, int]] = []
    info = run.wait(progress=lambda r: stages.append((r.stage, r.percent)), timeout=600)
    assert info.train_status == "completed" and stages[-1][1] == 100
    walk.run = run
    summary = run.summary()  # accuracy, f1, roc_auc, confusion matrix
    assert {"accuracy", "f1_score", "roc_auc"} <= set(summary.model_summary) and summary.confusion_matrix
    assert "Tenure" in {c["column_name"] for c in run.schema()}  # the input schema
    importance = run.importance(timeout=600)  # SHAP runs after training: mean |SHAP| per column
    assert importance.status == "completed" and importance.feature_importance
    assert "Tenure" in importance.feature_importance
    assert run.id in {r.id for r in client.training.list()}


def test_inference_form_one_row_and_many_with_explanations(walk: Walk):
    client, run = walk.client, walk.run
    assert run is not None
    form = client.inference.form(run)
    assert form.target == "Churn" and {"Tenure", "Plan"} <= {h.column_name for h in form.headers}
    one = client.inference.predict_row(
        run,
        {"Tenure": "5", "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"},
        preprocess_id=run.info.preprocess_id,
        target="Churn",
    )
    assert one.target == "Churn" and one.prediction is not None and one.probabilities
    many = client.explain(run, [ROW, {"Tenure": 60, "Monthly": 99, "Plan": "Gold", "Joined": "2019-05-01"}])
    assert len(many) == 2 and all("prediction" in r and "shap_Tenure" in r for r in many)


def test_batch_prediction_to_a_gold_table_and_a_csv(walk: Walk):
    client, run = walk.client, walk.run
    assert run is not None
    result = client.batch(run, walk.churn_id, download=walk.dir / "predictions.csv", progress=False)
    assert result.status == "completed" and result.gold_table and result.no_of_records == 500
    header = (walk.dir / "predictions.csv").read_text().splitlines()[0]
    assert header.startswith("CustomerID") and "prediction" in header  # CustomerID,prediction,probability
    assert result.prediction_id in {p.prediction_id for p in client.inference.log(run)}  # the log


def test_a_dedicated_deployment_then_back_to_the_pool(walk: Walk):
    client, run = walk.client, walk.run
    assert run is not None
    deployed = client.inference.deploy(run, replicas=1)
    assert deployed.train_id == run.id and deployed.replicas == 1 and deployed.app_name
    assert "shared pool" in client.inference.undeploy(run)


def test_the_registry_alias_describe_and_infer(walk: Walk):
    client = walk.client
    found = client.models.page(search="churn_v1", latest_only=True)
    model = client.models.update(
        found.items[0], description="Who leaves next quarter", tags=["churn", "retention"]
    )
    assert (model.name, model.description, sorted(model.tags)) == (
        "churn_v1",
        "Who leaves next quarter",
        ["churn", "retention"],
    )
    # The script trains v2 here (Models.train); see the module's docstring: production names v1.
    alias = client.models.set_alias(model, "production", "v1")
    assert alias.version == "v1" and walk.run is not None and alias.train_id == walk.run.id
    versions = client.models.versions(model)
    assert [v.version for v in versions] == ["v1"] and versions[0].aliases == ["production"]
    describe = client.models.describe(model, "production")  # features, performance, JSON Schemas
    assert "Tenure" in describe.features and describe.target == "Churn" and describe.input_schema
    answer = client.models.infer(model, "production", ROW)
    assert "prediction" in answer
    walk.model = model


def test_monitoring_captures_feedback_and_drift(walk: Walk):
    client, model = walk.client, walk.model
    assert model is not None
    answer = client.models.infer(
        model,
        "production",
        {"CustomerID": "C-1001", "Tenure": 3, "Monthly": 80, "Plan": "Basic", "Joined": "2024-02-01"},
    )
    capture_id = answer["capture_id"]
    newest = client.models.predictions_page(model, limit=2)  # newest first: inputs, outputs, caller
    assert newest.items[0].capture_id == capture_id and newest.items[0].inputs["Tenure"] == 3
    assert newest.items[0].caller == walk.jane_name
    client.models.update(model, feedback={"metric": "accuracy", "max_drop": 0.1, "min_rows": 50})
    report = client.feedback(model, {capture_id: True})  # live accuracy, per day
    assert (report.received, report.matched, report.metric) == (1, 1, "accuracy") and report.versions
    drift = client.models.drift(model, window="24h")  # per-input scores; insufficient_data below min_rows
    # (the batch's 500 rows were captured too, so here the window usually holds enough)
    assert drift.version == "v1" and drift.rows is not None
    assert (drift.status == "insufficient_data") == (drift.rows < drift.min_rows)
    if drift.status != "insufficient_data":
        assert "Tenure" in {c["name"] for c in drift.columns}


def test_a_model_trained_elsewhere_served_explained_and_given_a_surrogate(walk: Walk):
    client = walk.client
    factory = client.models.factory(dataset_id=walk.churn_id, max_cardinality=20)
    plan = factory.columns["Plan"]  # per column: type, min, max, categories, bins
    assert sorted(plan["categories"]) == ["Basic", "Gold", "Premium"]
    assert factory.columns["Tenure"]["min"] >= 1 and factory.columns["Tenure"]["bins"]

    frame = pl.read_csv(walk.dir / "churn.csv").drop_nulls(["Monthly"]).to_pandas()
    pipeline = make_pipeline(
        ColumnTransformer(
            [("plan", OneHotEncoder(handle_unknown="ignore"), ["Plan"])], remainder="passthrough"
        ),
        RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0),
    ).fit(frame[["Tenure", "Monthly", "Plan"]], frame["Churn"])
    skops.io.dump(pipeline, walk.dir / "churn_pipeline.skops")

    external = client.models.create("churn_external", task="binary_classification", target="Churn")
    artifact = client.models.upload_artifact(external, walk.dir / "churn_pipeline.skops")
    assert artifact.format == "skops" and len(artifact.sha256) == 64 and artifact.size > 0
    version = client.models.register_version(
        external,
        artifact,
        class_order=["false", "true"],
        inputs={"Tenure": "Integer", "Monthly": "Float", "Plan": "String"},
    )  # loaded and probed first
    assert (version.version, version.status) == ("v1", "completed")
    assert "prediction" in client.models.infer(external, "v1", EXTERNAL_ROW)
    run_id = client.models.version(external, "v1").train_id
    kernel = client.inference.predict_row(run_id, EXTERNAL_ROW, explain=True)
    assert kernel.explanation_method == "kernel_shap" and kernel.explanation
    surrogate = client.models.fit_surrogate(external, walk.churn_id)  # a Ray job fits it
    assert surrogate.status == "completed" and surrogate.fidelity is not None  # agreement on held-out rows
    assert client.models.surrogate(external).fidelity == surrogate.fidelity
    tree = client.inference.predict_row(run_id, EXTERNAL_ROW, explain=True)
    assert tree.explanation_method == "surrogate_tree_shap"
    walk.external = external


def test_deployments_replicas_predictions_and_operations(walk: Walk):
    client, external = walk.client, walk.external
    assert external is not None
    with pytest.raises(Invalid) as refused:  # a placement no node can meet, refused up front
        client.deployments.create(external, placement={"resources": {"gpu_zone": 1}})
    assert "gpu_zone" in refused.value.detail
    deployment = client.deployments.create(external, version="v1", replicas=1)
    running = client.deployments.wait_running(deployment.id, timeout=300)
    assert running.ready_replicas >= 1 and running.target_replicas == 1  # ready/target replicas
    predicted = client.deployments.predict(deployment.id, [EXTERNAL_ROW], explain=True)
    assert len(predicted) == 1 and "prediction" in predicted[0]
    operations = list(client.deployments.operations(deployment.id))  # caller, status, latency, rows
    assert operations and operations[0].status_code == 200 and operations[0].rows == 1
    assert operations[0].caller == walk.jane_name
    client.deployments.delete(deployment.id)


def test_forecasting_with_a_backtest(walk: Walk):
    client = walk.client
    sales_id = _upload(client, walk, "sales", sales_csv()).dataset_id
    run = client.train(
        sales_id,
        predictor_name="sales_forecast",
        domain="Retail",
        problem_type="Forecasting",
        forecast_horizon=7,
        interval_level=0.9,
        columns={"Store": "Id", "Day": "Time", "Sales": "Target", "Promo": "Feature"},
    )
    info = run.wait(progress=False, timeout=600)
    metrics = info.metrics or {}
    assert metrics["model"] and metrics["mase"] is not None and metrics["interval_coverage"] is not None
    forecast = client.forecast(
        run,
        3,
        frequency="Day",
        unique_id="north",
        exogenous=[
            {"Day": "2024-04-30", "Promo": 1},
            {"Day": "2024-05-01", "Promo": 0},
            {"Day": "2024-05-02", "Promo": 0},
        ],
    )
    points = forecast.forecast  # [{date, value, lower, upper, confidence}]
    assert [p.date[:10] for p in points] == ["2024-04-30", "2024-05-01", "2024-05-02"]
    assert all(p.lower <= p.value <= p.upper and p.confidence == 0.9 for p in points)


def test_rotate_the_refresh_token_then_log_out(walk: Walk):
    client = walk.client
    client.me()
    assert client.http.tokens is not None
    old = client.http.tokens.refresh_token
    new = client.refresh_tokens()
    assert new.refresh_token and new.refresh_token != old
    client.logout()
    assert client.http.tokens is None
    # a fresh client (its own login) could reuse nothing of the ended session
    stale = Client(walk.url, tokens=new)
    with pytest.raises(Unauthorized):
        stale.refresh_tokens()


def test_change_your_own_password(walk: Walk):
    client = walk.client
    client.change_password(JANE_NEW_PW, current_password=JANE_PW)  # every login of hers ends
    assert client.me().username == walk.jane_name  # logged in again with the new password
    with pytest.raises(Unauthorized):
        Client(walk.url, username=walk.jane_name, password=JANE_PW).me()
