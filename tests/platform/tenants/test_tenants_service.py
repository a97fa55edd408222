"""Deleting a tenant, a run, a prediction or a dataset removes everything it owns (real lake, no Ray)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqlmodel import select

from raylake.core.layout import forecast_table, model_prefix, prediction_table, predictions_prefix
from raylake.platform import lake
from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets import service as datasets
from raylake.platform.datasets.ingest import Staged
from raylake.platform.datasets.models import DatasetFile
from raylake.platform.db import session_scope
from raylake.platform.errors import Conflict, NotFound
from raylake.platform.inference import cleanup, forecasts
from raylake.platform.inference.models import Prediction
from raylake.platform.jobs import RayJobs
from raylake.platform.registry.models import ModelDeployment, Predictor
from raylake.platform.templates import service as templates
from raylake.platform.tenancy import Principal
from raylake.platform.tenants import service as tenants
from raylake.platform.training import service as training
from raylake.platform.training.models import PreprocessState
from raylake.schemas.templates import TemplateCreate
from tests.datafiles import CHURN_SCHEMA, churn_csv, write
from tests.factories import add_version, create_tenant, create_user, draft_model, superuser_principal, unique
from tests.inventory import inventory, still_there

NO_RAY = RayJobs(dashboard_url="http://127.0.0.1:9", token="unused")  # nothing here is still running


def _gold(ctx, name: str, rows: list[dict], schema: pa.Schema) -> None:
    table = ctx.catalog.create_table(lake.identifier("gold", name), schema=schema)
    table.append(pa.Table.from_pylist(rows, schema=schema))


def _world(engine, settings, ctx, tmp_path) -> tuple[Principal, int, int, int]:
    """A tenant as the API leaves it: users, a template, a dataset (silver, bronze, raw file), a completed
    run (artifacts, preprocessing state, a dedicated deployment row, a forecast table with one forecast's
    points) and a batch prediction (gold table, CSV, its file row). Returns (admin, dataset, run, batch)."""
    tenant_id = create_tenant(engine)
    admin = create_user(engine, settings, tenant_id=tenant_id, roles=["admin"])
    create_user(engine, settings, tenant_id=tenant_id, roles=["viewer"])
    data = TemplateCreate(template_name=unique("churn"), template_schema=CHURN_SCHEMA)
    content = churn_csv()
    staged = Staged(path=write(tmp_path, f"{unique('d')}.csv", content), file_name="d.csv", size=len(content))
    with session_scope(engine) as session:
        template_id = templates.create_template(session=session, principal=admin, data=data).id
        dataset, _ = datasets.upload(
            session=session,
            ctx=ctx,
            principal=admin,
            dataset_name=unique("d"),
            template_id=template_id,
            usage="t",
            staged=[staged],
        )
        model = draft_model(session, admin, task="forecasting")
        run = add_version(
            session,
            model,
            dataset_id=dataset.id,
            dataset_name=dataset.dataset_name,
            columns=[],
            algorithm="lightgbm",
            metrics=None,
            created_by="a",
        )
        state = PreprocessState(
            tenant_id=tenant_id,
            source_run_id=run.id,
            storage_key=f"{model_prefix(run)}/state.json",
            encoding="x",
        )
        session.add(state)
        session.flush()
        run.preprocess_id, run.artifact_key = state.id, model_prefix(run)
        session.add(
            ModelDeployment(
                tenant_id=tenant_id,
                model_id=model.id,
                train_id=run.id,
                version="v1",
                app_name=unique("app"),
                replicas=1,
                created_by="a",
            )  # type: ignore[arg-type]
        )
        ctx.store.put_bytes(f"{model_prefix(run)}/model.txt", b"model")
        ctx.store.put_bytes(state.storage_key, b"{}")
        forecast = Prediction(
            tenant_id=tenant_id,
            train_id=run.id,
            dataset_id=dataset.id,
            predictor_name=model.predictor_name,
            problem_type="Forecasting",
            domain_name="d",
            prediction_type="forecast",
            status="completed",
            gold_table=f"gold.{forecast_table(run)}",
            created_by="a",
        )
        batch = Prediction(
            tenant_id=tenant_id,
            train_id=run.id,
            dataset_id=dataset.id,
            predictor_name=model.predictor_name,
            problem_type="Forecasting",
            domain_name="d",
            prediction_type="batch",
            status="completed",
            created_by="a",
        )
        session.add_all([forecast, batch])
        session.flush()
        point = {"prediction_id": forecast.id, "unique_id": "s", "date": "2026-01-01", "value": 1.0}
        _gold(ctx, forecast_table(run), [point], forecasts.GOLD_SCHEMA)
        session.add(
            LakeTable(tenant_id=tenant_id, namespace="gold", name=forecast_table(run), created_by="a")
        )
        schema = pa.schema([("CustomerID", pa.string()), ("prediction", pa.float64())])
        _gold(ctx, prediction_table(batch), [{"CustomerID": "C1", "prediction": 1.0}], schema)
        session.add(
            LakeTable(tenant_id=tenant_id, namespace="gold", name=prediction_table(batch), created_by="batch")
        )
        key = f"{predictions_prefix(batch)}predictions.csv"
        ctx.store.put_bytes(key, b"CustomerID,prediction\nC1,1\n")
        file = DatasetFile(
            dataset_id=dataset.id,  # type: ignore[arg-type]
            tenant_id=tenant_id,
            file_name="p.csv",
            kind="prediction",
            storage_key=key,
            created_by="a",
        )
        session.add(file)
        session.flush()
        batch.file_id, batch.result_path, batch.gold_table = file.id, key, f"gold.{prediction_table(batch)}"
        session.add_all([run, batch])
        return admin, dataset.id, run.id, batch.id  # type: ignore[return-value]


def test_deleting_a_tenant_leaves_nothing_and_touches_no_other(engine, settings, ctx, tmp_path):
    admin, *_ = _world(engine, settings, ctx, tmp_path)
    other, *_ = _world(engine, settings, ctx, tmp_path)
    before = inventory(engine, ctx, admin.tenant_id)
    assert {"users", "roles", "templates", "datasets", "lake_tables", "training_runs", "predictions"} <= set(
        before.rows
    )
    # silver, bronze and two gold tables; the raw file, the model, its state and a CSV
    assert len(before.tables) == 4 and len(before.stored) == 4
    others = inventory(engine, ctx, other.tenant_id)

    with session_scope(engine) as session:
        tenants.delete_tenant(
            session=session,
            settings=settings,
            ctx=ctx,
            jobs=NO_RAY,
            principal=superuser_principal(engine, settings),
            tenant_id=admin.tenant_id,
        )

    assert inventory(engine, ctx, admin.tenant_id).is_empty()
    assert still_there(ctx, before) == []
    assert inventory(engine, ctx, other.tenant_id) == others


def test_the_default_and_your_own_tenant_cannot_be_deleted(engine, settings, ctx):
    su = superuser_principal(engine, settings)
    for tenant_id in (su.tenant_id, "no-such-tenant"):
        with (
            pytest.raises(NotFound if tenant_id == "no-such-tenant" else Conflict),
            session_scope(engine) as s,
        ):
            tenants.delete_tenant(
                session=s, settings=settings, ctx=ctx, jobs=NO_RAY, principal=su, tenant_id=tenant_id
            )
    tenant_id = create_tenant(engine)
    own = Principal(user_id=su.user_id, username=su.username, tenant_id=tenant_id, is_superuser=True)
    with pytest.raises(Conflict), session_scope(engine) as session:
        tenants.delete_tenant(
            session=session, settings=settings, ctx=ctx, jobs=NO_RAY, principal=own, tenant_id=tenant_id
        )


def test_deleting_a_run_a_prediction_and_a_dataset_removes_what_each_owns(engine, settings, ctx, tmp_path):
    admin, dataset_id, run_id, batch_id = _world(engine, settings, ctx, tmp_path)
    before = inventory(engine, ctx, admin.tenant_id)

    with session_scope(engine) as session:
        cleanup.delete(session=session, ctx=ctx, jobs=NO_RAY, principal=admin, prediction_id=batch_id)
    after = inventory(engine, ctx, admin.tenant_id)
    assert set(before.tables) - set(after.tables) == {f"gold.prediction_{batch_id}"}
    assert [k for k in before.stored if k not in after.stored] == [f"predictions/{batch_id}/predictions.csv"]
    assert after.rows["dataset_files"] == before.rows["dataset_files"] - 1
    assert sorted(still_there(ctx, before)) == sorted(after.tables)  # the dropped one is gone, files too

    with session_scope(engine) as session:
        training.delete(session=session, ctx=ctx, jobs=NO_RAY, principal=admin, train_id=run_id)
    after = inventory(engine, ctx, admin.tenant_id)
    assert sorted(after.tables) == sorted(t for t in before.tables if not t.startswith("gold."))
    assert sorted(still_there(ctx, before)) == sorted(after.tables)
    assert after.stored == [k for k in before.stored if not k.startswith(("models/", "predictions/"))]
    for table in ("training_runs", "preprocess_states", "model_deployments"):
        assert table not in after.rows
    with session_scope(engine) as session:  # the model outlives its last version, as a draft
        (model,) = session.exec(select(Predictor).where(Predictor.tenant_id == admin.tenant_id)).all()
        assert model.status == "draft"
    with session_scope(engine) as session:  # the forecast stays in the log, without the table it pointed at
        logged = session.exec(select(Prediction).where(Prediction.tenant_id == admin.tenant_id)).all()
        assert [(p.prediction_type, p.train_id, p.gold_table) for p in logged] == [("forecast", None, None)]

    with session_scope(engine) as session:
        datasets.delete_dataset(session=session, ctx=ctx, principal=admin, dataset_id=dataset_id)
    after = inventory(engine, ctx, admin.tenant_id)
    assert after.tables == {} and after.stored == [] and still_there(ctx, before) == []
    assert set(after.rows) == {
        *("tenants", "users", "roles", "permissions", "templates", "predictions"),
        *("projects", "predictors"),  # the default project and the model, a draft without versions
    }
