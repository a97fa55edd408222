"""The model factory's service on both backends: a dataset's and a file's sample profiled, the result stored
on a model, and a model's columns from its schema or from its latest completed version."""

from __future__ import annotations

import io

import polars as pl
import pytest
from pydantic import ValidationError

from raylake.core.vocabulary import JobStatus
from raylake.platform.db import session_scope
from raylake.platform.errors import Invalid, NotFound
from raylake.platform.registry import factory, service
from raylake.platform.tenancy import Principal
from raylake.schemas.factory import FactoryRequest
from raylake.schemas.registry import ModelUpdate
from tests.datafiles import churn_csv, training_csv
from tests.factories import add_version, create_tenant, create_user, draft_model, upload_dataset

SCHEMA = {
    "columns": [
        {"name": "Tenure", "data_type": "int", "min": 1, "max": 72},
        {"name": "Plan", "data_type": "String", "categories": ["Basic", "Gold"]},
        {"name": "Churn", "data_type": "Boolean"},
        {"name": "Joined at", "data_type": "Date"},
    ]
}


@pytest.fixture
def outsider(engine, settings) -> Principal:
    return create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])


def generate(engine, ctx, principal, **body):
    with session_scope(engine) as session:
        request = FactoryRequest.model_validate(body)
        return factory.generate(session=session, ctx=ctx, principal=principal, request=request)


def test_a_datasets_sample_is_profiled_and_stored_on_a_model(engine, ctx, member, outsider, tmp_path):
    dataset, _ = upload_dataset(engine, ctx, member, tmp_path, training_csv(300))
    with session_scope(engine) as session:
        model = draft_model(session, member)
    result = generate(engine, ctx, member, dataset_id=dataset.id, sample_size=50, model_id=model.uid)
    assert result.sample_rows == 50 and result.model_id == model.id and result.dataset_id == dataset.id
    columns = {c.name: c for c in result.columns_schema.columns}
    assert list(columns) == ["CustomerID", "Tenure", "Monthly", "Plan", "Joined", "Score", "Churn", "Spend"]
    tenure, plan = columns["Tenure"], columns["Plan"]
    assert tenure.data_type == "Integer" and 1 <= tenure.min <= tenure.max <= 72 and len(tenure.bins) > 2
    assert set(plan.categories) == {"Basic", "Premium", "Gold"} and plan.id == "Plan"
    assert columns["Churn"].categories is not None and columns["Joined"].data_type == "Date"
    spec = result.spec
    assert spec.targets == ["Churn"] and spec.metadata == ["CustomerID", "Joined"]
    assert spec.inputs == ["Tenure", "Monthly", "Plan", "Score", "Spend"]
    assert spec.outputs == ["prediction", "probability_false", "probability_true"]
    capped = generate(engine, ctx, member, dataset_id=dataset.id, max_cardinality=2)
    assert (
        capped.sample_rows == 300
        and next(c for c in capped.columns_schema.columns if c.name == "Plan").categories is None
    )

    with session_scope(engine) as session:
        shown = service.public(
            session, service.get_model(session=session, principal=member, model_id=model.id)
        )
        assert shown.columns_schema == result.columns_schema and shown.spec == spec
        listed = factory.model_columns(session=session, principal=member, model_id=model.id)
        assert [c.name for c in listed] == list(columns)
        one = factory.model_column(
            session=session, principal=member, model_id=str(model.id), column_id="Plan"
        )
        assert one == plan
        with pytest.raises(NotFound, match="'Nope' not found"):
            factory.model_column(session=session, principal=member, model_id=model.id, column_id="Nope")
        with pytest.raises(NotFound):
            factory.model_columns(session=session, principal=outsider, model_id=model.id)
    # another tenant's dataset and model are not there
    with pytest.raises(NotFound):
        generate(engine, ctx, outsider, dataset_id=dataset.id)
    theirs = upload_dataset(engine, ctx, outsider, tmp_path, training_csv(30))[0]
    with pytest.raises(NotFound):
        generate(engine, ctx, outsider, dataset_id=theirs.id, model_id=model.id)


def test_a_files_sample_is_read_as_uploaded(engine, ctx, member, outsider, tmp_path, template_id):
    text = "id;amount;grade\n" + "".join(
        f"{i};{'NA' if i % 4 == 0 else i * 2.5};{'-' if i % 5 == 0 else 'AB'[i % 2]}\n" for i in range(1, 41)
    )
    _, (plain,) = upload_dataset(engine, ctx, member, tmp_path, text.encode())
    _, (utf16,) = upload_dataset(engine, ctx, member, tmp_path, text.encode("utf-16"))
    assert utf16.encoding == "utf-16"  # read from the store and re-encoded, only the sample's rows
    parquet = io.BytesIO()
    pl.DataFrame({"id": [1, 2, 3], "when": ["2024-01-01", "2024-01-02", "x"]}).write_parquet(parquet)
    _, (columnar,) = upload_dataset(engine, ctx, member, tmp_path, parquet.getvalue())

    for file in (plain, utf16):
        result = generate(engine, ctx, member, file_id=file.id, sample_size=20)
        columns = {c.name: c for c in result.columns_schema.columns}
        assert result.sample_rows == 20 and result.file_id == file.id and result.model_id is None
        assert columns["amount"].data_type == "Float" and columns["amount"].replace_with_nulls == ["NA"]
        assert columns["amount"].nullable and columns["grade"].categories == ["A", "B"]
        assert columns["grade"].replace_with_nulls == ["-"] and result.spec.metadata == ["id"]
    columns = generate(engine, ctx, member, file_id=columnar.id).columns_schema.columns
    assert [(c.name, c.data_type) for c in columns] == [("id", "Integer"), ("when", "String")]

    with pytest.raises(NotFound):
        generate(engine, ctx, outsider, file_id=plain.id)
    ctx.store.put_bytes(columnar.storage_key, b"PAR1 not really")
    with pytest.raises(Invalid, match="cannot be read"):
        generate(engine, ctx, member, file_id=columnar.id)
    invalid, _ = upload_dataset(
        engine, ctx, member, tmp_path, churn_csv(["C1,1.5,Basic,maybe,2024-01-05"]), template_id=template_id
    )
    assert not invalid.is_valid
    with pytest.raises(Invalid, match="no validated rows"):
        generate(engine, ctx, member, dataset_id=invalid.id)
    with pytest.raises(ValidationError, match="exactly one of dataset_id and file_id"):
        FactoryRequest.model_validate({"dataset_id": 1, "file_id": 2})
    with pytest.raises(ValidationError, match="exactly one"):
        FactoryRequest.model_validate({})


def test_a_trained_model_has_its_latest_completed_versions_columns(engine, member):
    with session_scope(engine) as session:
        model = draft_model(session, member)
        assert factory.model_columns(session=session, principal=member, model_id=model.id) == []
        add_version(session, model)
        add_version(session, model, status=JobStatus.FAILED, columns=[])
        columns = factory.model_columns(session=session, principal=member, model_id=model.uid)
        assert [(c.id, c.data_type, c.categories, c.nullable) for c in columns] == [
            ("Tenure", "Integer", None, True),
            ("Plan", "String", None, True),
            ("Churn", "Boolean", ["false", "true"], False),  # a classifier's target: its labels
        ]


def test_a_models_schema_and_spec_are_checked_against_each_other(engine, member):
    spec = {"inputs": ["Tenure", "Plan"], "targets": ["Churn"], "metadata": ["Joined at"], "outputs": ["p"]}
    with session_scope(engine) as session:
        model = draft_model(session, member, schema=SCHEMA, spec=spec)
        shown = service.public(session, model)
        assert shown.columns_schema is not None and shown.spec is not None
        assert [(c.id, c.data_type) for c in shown.columns_schema.columns] == [
            ("Tenure", "Integer"),  # "int" is Integer's alias
            ("Plan", "String"),
            ("Churn", "Boolean"),
            ("Joined_at", "Date"),  # ids are URL-safe
        ]
        assert shown.model_dump(mode="json")["schema"]["columns"][0]["max"] == 72
        one = factory.model_column(
            session=session, principal=member, model_id=model.id, column_id="Joined at"
        )
        assert one.id == "Joined_at"  # found by its name too
        with pytest.raises(Invalid, match="lacks: Spend"):
            draft_model(session, member, schema=SCHEMA, spec={**spec, "inputs": ["Spend"]})
        fewer = {"columns": SCHEMA["columns"][:2]}
        with pytest.raises(Invalid, match="lacks: Churn, Joined at"):  # against the spec it has
            service.update_model(
                session=session,
                principal=member,
                model_id=model.id,
                data=ModelUpdate.model_validate({"schema": fewer}),
            )
        changed = service.update_model(
            session=session,
            principal=member,
            model_id=model.id,
            data=ModelUpdate.model_validate(
                {"schema": fewer, "spec": {"inputs": ["Plan"], "targets": ["Tenure"]}}
            ),
        )
        assert [c["name"] for c in changed.columns_schema["columns"]] == ["Tenure", "Plan"]
    with pytest.raises(ValidationError, match="column names must be unique"):
        ModelUpdate.model_validate({"schema": {"columns": [SCHEMA["columns"][0]] * 2}})
    with pytest.raises(ValidationError, match="unknown data_type"):
        ModelUpdate.model_validate({"schema": {"columns": [{"name": "a", "data_type": "blob"}]}})
    with pytest.raises(ValidationError, match="once"):
        ModelUpdate.model_validate({"spec": {"inputs": ["a"], "targets": ["a"]}})
