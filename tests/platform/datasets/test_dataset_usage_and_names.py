"""What an upload's ``usage`` and ``iceberg_table_name`` change: prediction data may lack template
columns (the target above all); a chosen table name is validated, unique per tenant and shown everywhere."""

from __future__ import annotations

import pytest

from raylake.platform import lake
from raylake.platform.datalake import service as datalake
from raylake.platform.datasets import service as datasets
from raylake.platform.db import session_scope
from raylake.platform.errors import Conflict, Invalid
from tests.datafiles import churn_csv, tenant_footprint
from tests.factories import create_tenant, create_user, unique, upload_dataset


def test_prediction_data_may_lack_template_columns(engine, ctx, member, template_id, tmp_path):
    """The target (and any column without a default) may be absent from a prediction upload: reported
    as absent, not as errors, and left out of the dataset's columns; training data still needs it."""
    no_target = churn_csv(
        ["C1,10.5,Premium,2024-01-05", "C2,,Basic,2024-02-10"], header="CustomerID,DataUsageGB,Plan,Joined"
    )
    dataset, (row,) = upload_dataset(
        engine, ctx, member, tmp_path, no_target, template_id=template_id, usage="p"
    )
    assert dataset.is_valid and dataset.valid_records == 2
    assert row.error_report["absent_columns"] == ["Churn"] and "Churn" not in row.error_report["columns"]
    assert [c["name"] for c in dataset.column_specs] == ["CustomerID", "DataUsageGB", "Plan", "Joined"]
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    assert "Churn" not in {f.name for f in table.schema().fields}

    ids_only = churn_csv(["C3", "C4"], header="customerid")  # case-insensitive, like any upload
    dataset, (row,) = upload_dataset(
        engine, ctx, member, tmp_path, ids_only, template_id=template_id, usage="p"
    )
    assert row.error_report["absent_columns"] == ["Churn", "Joined"]
    assert row.error_report["missing_columns_filled"] == ["DataUsageGB", "Plan"]
    assert [c["name"] for c in dataset.column_specs] == ["CustomerID", "DataUsageGB", "Plan"]

    before = tenant_footprint(engine, ctx, member.tenant_id)
    with pytest.raises(Invalid, match="missing columns: Churn"):
        upload_dataset(engine, ctx, member, tmp_path, no_target, template_id=template_id, usage="t")
    with pytest.raises(Invalid, match="missing columns: CustomerID, Churn, Joined"):  # none of them
        upload_dataset(engine, ctx, member, tmp_path, b"Other\n1\n", template_id=template_id, usage="p")
    assert tenant_footprint(engine, ctx, member.tenant_id) == before

    full = upload_dataset(engine, ctx, member, tmp_path, churn_csv(), template_id=template_id, usage="p")[1][
        0
    ]
    assert full.error_report["absent_columns"] == []


def test_chosen_table_name_is_validated_unique_per_tenant_and_shown(engine, settings, ctx, member, tmp_path):
    name = unique("forecast_p11_")
    dataset, _ = upload_dataset(engine, ctx, member, tmp_path, churn_csv(), iceberg_table_name=name)
    assert datasets.table_name_of(dataset) == name and dataset.iceberg_table_name != name
    with session_scope(engine) as session:
        shown, total = datalake.list_tables(session=session, principal=member, schema_name="silver")
        assert shown == [name] and total == 1
        metadata = datalake.table_metadata(
            session=session, ctx=ctx, principal=member, schema_name="silver", table_name=name
        )
        assert metadata.table == name and metadata.row_count == 5
        (listed,), _ = datasets.list_datasets(session=session, principal=member, skip=0, limit=10)
        assert datasets.table_name_of(listed[0]) == name

    before = tenant_footprint(engine, ctx, member.tenant_id)
    with pytest.raises(Conflict, match="is taken"):
        upload_dataset(engine, ctx, member, tmp_path, churn_csv(), iceberg_table_name=name)
    other, _ = upload_dataset(
        engine, ctx, member, tmp_path, churn_csv()
    )  # its generated name is shown, so taken
    with pytest.raises(Conflict, match="is taken"):
        upload_dataset(
            engine, ctx, member, tmp_path, churn_csv(), iceberg_table_name=other.iceberg_table_name
        )
    for bad in ("Sales", "1abc", "a-b", "a b", "x" * 129, "", "a;drop", "ünï"):
        with pytest.raises(Invalid, match="lower-case identifier"):
            upload_dataset(engine, ctx, member, tmp_path, churn_csv(), iceberg_table_name=bad)
    assert tenant_footprint(engine, ctx, member.tenant_id)["datasets"] == before["datasets"] + 1  # other

    # Another tenant may choose the same name: its tables are its own, and neither sees the other's.
    stranger = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])
    theirs, _ = upload_dataset(
        engine, ctx, stranger, tmp_path, churn_csv(["C9,1,Basic,true,2024-01-01"]), iceberg_table_name=name
    )
    with session_scope(engine) as session:
        for principal, rows in ((member, 5), (stranger, 1)):
            metadata = datalake.table_metadata(
                session=session, ctx=ctx, principal=principal, schema_name="silver", table_name=name
            )
            assert metadata.row_count == rows
    assert theirs.iceberg_table_name != dataset.iceberg_table_name
