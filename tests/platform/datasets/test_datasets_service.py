"""Upload, validation, Iceberg storage and file operations at the service level (real lake, no Ray)."""

from __future__ import annotations

import threading

import polars as pl
import pytest

from raylake.platform import lake
from raylake.platform.datasets import service as datasets
from raylake.platform.datasets.ingest import Staged
from raylake.platform.db import session_scope
from raylake.platform.errors import Conflict, Invalid, NotFound
from raylake.platform.files import service as files
from raylake.platform.templates import service as templates
from tests.datafiles import churn_csv, tenant_footprint, write
from tests.factories import create_tenant, create_user, unique


def _staged(tmp_path, name, content) -> Staged:
    path = write(tmp_path, name, content)
    return Staged(path=path, file_name=name, size=len(content))


def _upload(engine, ctx, member, staged, template_id=None, name=None, usage="t"):
    with session_scope(engine) as session:
        dataset, rows = datasets.upload(
            session=session,
            ctx=ctx,
            principal=member,
            dataset_name=name or unique("ds-"),
            template_id=template_id,
            usage=usage,
            staged=staged if isinstance(staged, list) else [staged],
        )
    return dataset, rows


def _silver(ctx, dataset) -> pl.DataFrame:
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    return pl.scan_iceberg(table, snapshot_id=dataset.snapshot_id).collect()


def test_upload_validates_types_defaults_and_reports(engine, ctx, member, template_id, tmp_path):
    dataset, (row,) = _upload(engine, ctx, member, _staged(tmp_path, "churn.csv", churn_csv()), template_id)
    assert dataset.is_valid and dataset.total_records == 5 and dataset.valid_records == 3
    assert datasets.usability(dataset) == "60%"
    report = row.error_report
    assert row.total_fields == 5 and row.total_records == 5
    assert report["columns"]["DataUsageGB"] == {
        "data_type": "Float",
        "bad_values": 1,
        "defaults_filled": 1,
        "first_bad_rows": [4],
        "sample_values": ["oops"],
    }
    assert report["columns"]["Churn"]["first_bad_rows"] == [5]
    assert report["columns"]["Joined"]["sample_values"] == ["2024-13-01"]
    silver = _silver(ctx, dataset)
    assert silver.schema["DataUsageGB"] == pl.Float64 and silver.schema["Churn"] == pl.Boolean
    assert sorted(silver["CustomerID"].to_list()) == ["C1", "C2", "C3"]
    assert silver.filter(pl.col("CustomerID") == "C3")["DataUsageGB"].item() == 0.0  # the template default
    bronze = lake.load(ctx.catalog, "bronze", dataset.iceberg_table_name).scan().to_polars()
    assert bronze.height == 5 and bronze.schema["DataUsageGB"] == pl.String
    assert dataset.snapshot_id == lake.snapshot_id(
        lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    )
    assert ctx.store.size(row.storage_key) == len(churn_csv())


def test_upload_without_template_infers_schema(engine, ctx, member, tmp_path):
    content = b"id;score;when;label\n1;0.5;2024-01-01;a\n2;1.5;2024-01-02;b\n"
    dataset, (row,) = _upload(engine, ctx, member, _staged(tmp_path, "semi.csv", content))
    assert row.error_report["delimiter"] == ";"
    assert [(c["name"], c["data_type"]) for c in dataset.column_specs] == [
        ("id", "Integer"),
        ("score", "Float"),
        ("when", "Date"),
        ("label", "String"),
    ]
    assert _silver(ctx, dataset).height == 2


def test_bom_crlf_quoted_newlines_and_cp1252(engine, ctx, member, template_id, tmp_path):
    rows = ['C1,1.5,"Prem\r\nium",true,2024-01-05', "C2,2,Basic,false,2024-02-10"]
    bom = b"\xef\xbb\xbf" + churn_csv(rows, newline="\r\n")
    latin = churn_csv(["C3,3,Café,true,2024-01-05"]).decode().encode("cp1252")
    dataset, (first, second) = _upload(
        engine,
        ctx,
        member,
        [_staged(tmp_path, "bom.csv", bom), _staged(tmp_path, "latin.csv", latin)],
        template_id,
    )
    assert first.valid_records == 2 and second.valid_records == 1
    assert second.error_report["encoding"] == second.encoding == "cp1252"
    plans = set(_silver(ctx, dataset)["Plan"].to_list())
    assert plans == {"Prem\r\nium", "Basic", "Café"}


EIGHT_BIT = {
    "cp1250": [
        ("Łódź", "Zażółć gęślą jaźń"),
        ("Kraków", "Świętokrzyskie źródło"),
        ("Plzeň", "Příliš žluťoučký kůň úpěl ďábelské ódy"),
    ],
    "koi8_r": [
        ("Москва", "Съешь же ещё этих мягких французских булок"),
        ("Санкт-Петербург", "да выпей же чаю"),
    ],
}


@pytest.mark.parametrize("encoding", sorted(EIGHT_BIT))
def test_eight_bit_encodings_are_detected_and_recorded(engine, ctx, member, tmp_path, encoding):
    """Text in a code page other than Windows-1252 lands as its own letters, and the file says which."""
    from raylake.platform.datasets.views import file_public

    pairs = EIGHT_BIT[encoding]
    content = "\n".join(["Id,City,Note", *(f"{i},{c},{n}" for i, (c, n) in enumerate(pairs))]) + "\n"
    dataset, (row,) = _upload(engine, ctx, member, _staged(tmp_path, "text.csv", content.encode(encoding)))
    assert row.encoding == encoding and row.error_report["encoding"] == encoding
    assert file_public(row).encoding == encoding
    silver = _silver(ctx, dataset).sort("Id")
    assert silver.select("City", "Note").rows() == pairs


def test_utf8_files_record_their_encoding(engine, ctx, member, tmp_path):
    plain = _staged(tmp_path, "plain.csv", "Id,City\n1,Łódź\n".encode())
    bom = _staged(tmp_path, "bom.csv", "\ufeffId,City\n2,Москва\n".encode())
    dataset, (first, second) = _upload(engine, ctx, member, [plain, bom])
    assert (first.encoding, second.encoding) == ("utf-8", "utf-8-sig")
    assert sorted(_silver(ctx, dataset)["City"].to_list()) == ["Łódź", "Москва"]


def test_parquet_upload(engine, ctx, member, template_id, tmp_path):
    frame = pl.DataFrame(
        {
            "CustomerID": ["P1", "P2"],
            "DataUsageGB": [1.0, 2.0],
            "Plan": ["Basic", "Premium"],
            "Churn": [True, False],
            "Joined": ["2024-01-01", "2024-01-02"],
        }
    )
    path = tmp_path / "data.parquet"
    frame.write_parquet(path)
    dataset, (row,) = _upload(
        engine,
        ctx,
        member,
        Staged(path=path, file_name="data.parquet", size=path.stat().st_size),
        template_id,
    )
    assert dataset.data_source == "parquet" and row.valid_records == 2


BAD_FILES = {
    "binary": b"\x00\x01\x02\xff\xfe" * 200,
    "empty": b"",
    "header-only": b"CustomerID,DataUsageGB,Plan,Churn,Joined\n",
    "wrong-delimiter": churn_csv().replace(b",", b":"),  # not a delimiter we sniff: one wide column
    "wide-header": (",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n").encode(),
    "bad-bytes": b"CustomerID,Plan\n\x81\x8d\x8f\x90\x9d,\x81\n",
    "ragged": churn_csv(["C1,1,Basic,true,2024-01-01,extra,fields"]),
    "duplicated-columns": churn_csv(header="CustomerID,DataUsageGB,Plan,Churn,churn"),
    "bom-only": b"\xef\xbb\xbf",
    "utf16-bom-only": b"\xff\xfe",
    # too little KOI8-R text to tell its code page (it was once misread as Windows-1252)
    "undetectable-encoding": churn_csv(["C1,1,Москва,true,2024-01-01"]).decode().encode("koi8_r"),
}


def _parquet_bytes(columns: list[str] | None = None) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    names = columns or ["CustomerID", "DataUsageGB", "Plan", "Churn", "Joined"]
    table = pa.Table.from_arrays([pa.array(["x", "y"]) for _ in names], names=names)
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _bad_footer() -> bytes:
    good = _parquet_bytes()
    footer = int.from_bytes(good[-8:-4], "little")
    return good[: -8 - footer] + b"\x07" * footer + good[-8:]  # right length and magic, garbage metadata


BAD_PARQUET = {
    "magic-only": b"PAR1",
    "junk": b"PAR1" + b"\x00junk" * 50,
    "truncated": _parquet_bytes()[:300],
    "bad-footer": _bad_footer(),
    "duplicate-columns": _parquet_bytes(["CustomerID", "Plan", "Plan"]),
}
BAD_FILES |= {f"parquet-{kind}": content for kind, content in BAD_PARQUET.items()}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_are_422_and_leave_nothing(engine, ctx, member, template_id, tmp_path, kind):
    with pytest.raises(Invalid):
        _upload(engine, ctx, member, _staged(tmp_path, f"{kind}.csv", BAD_FILES[kind]), template_id)
    assert tenant_footprint(engine, ctx, member.tenant_id) == {
        "datasets": 0,
        "files": 0,
        "tables": 0,
        "stored": 0,
        "staged": 0,
    }


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_added_are_422_and_change_nothing(engine, ctx, member, template_id, tmp_path, kind):
    dataset, _ = _upload(engine, ctx, member, _staged(tmp_path, "base.csv", churn_csv()), template_id)
    before = tenant_footprint(engine, ctx, member.tenant_id)
    with pytest.raises(Invalid), session_scope(engine) as session:
        files.add_files(
            session=session,
            ctx=ctx,
            principal=member,
            dataset_id=dataset.id,
            staged=[_staged(tmp_path, f"{kind}.bin", BAD_FILES[kind])],
        )
    assert tenant_footprint(engine, ctx, member.tenant_id) == before
    with session_scope(engine) as session:
        again = datasets.get_dataset(session=session, principal=member, dataset_id=dataset.id)
    assert again.snapshot_id == dataset.snapshot_id and again.total_records == dataset.total_records


def test_concurrent_uploads_of_one_name_one_wins_the_rest_conflict(
    engine, ctx, member, template_id, tmp_path
):
    """Eight uploads race past the name check: one dataset lands, seven are 409s that leave nothing."""
    name = unique("race-")
    outcomes: list[object] = []
    start = threading.Barrier(8)

    def upload(i: int) -> None:
        staged = _staged(tmp_path, f"race{i}.csv", churn_csv())
        start.wait()
        try:
            _upload(engine, lake.open_lake(ctx.settings), member, staged, template_id, name=name)
            outcomes.append("created")
        except Exception as exc:  # collected and asserted below
            outcomes.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("created") == 1, outcomes
    assert all(isinstance(o, Conflict) for o in outcomes if o != "created"), outcomes
    assert tenant_footprint(engine, ctx, member.tenant_id) == {
        "datasets": 1,
        "files": 1,
        "tables": 2,
        "stored": 1,
        "staged": 0,
    }


def test_a_long_file_path_is_not_found(engine, ctx, member, template_id, tmp_path):
    """Path segments longer than the file system allows (256 characters) are a 404, not an OSError."""
    _upload(engine, ctx, member, _staged(tmp_path, "long.csv", churn_csv()), template_id)
    for path in ("a" * 256, f"{member.tenant_id}/{'b' * 300}", "c/" * 50 + "d" * 256):
        with pytest.raises(NotFound), session_scope(engine) as session:
            files.resolve_download(session=session, ctx=ctx, principal=member, file_path=path, file_id=None)


def test_name_taken_unknown_and_foreign_template(engine, settings, ctx, member, template_id, tmp_path):
    name = unique("dup-")
    _upload(engine, ctx, member, _staged(tmp_path, "a.csv", churn_csv()), template_id, name=name)
    with pytest.raises(Conflict):
        _upload(engine, ctx, member, _staged(tmp_path, "b.csv", churn_csv()), template_id, name=name.upper())
    with pytest.raises(NotFound):
        _upload(engine, ctx, member, _staged(tmp_path, "c.csv", churn_csv()), 2**31 - 1)
    stranger = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])
    with pytest.raises(NotFound):
        _upload(engine, ctx, stranger, _staged(tmp_path, "d.csv", churn_csv()), template_id)
    with pytest.raises(NotFound), session_scope(engine) as session:
        datasets.get_dataset(session=session, principal=stranger, dataset_id=1)


def test_add_delete_files_and_versions(engine, ctx, member, template_id, tmp_path):
    dataset, _ = _upload(engine, ctx, member, _staged(tmp_path, "one.csv", churn_csv()), template_id)
    first_snapshot = dataset.snapshot_id
    with session_scope(engine) as session:
        dataset, (added,) = files.add_files(
            session=session,
            ctx=ctx,
            principal=member,
            dataset_id=dataset.id,
            staged=[_staged(tmp_path, "two.csv", churn_csv(["C9,9,Basic,true,2024-05-05"]))],
        )
    assert dataset.snapshot_id != first_snapshot and dataset.valid_records == 4
    assert _silver(ctx, dataset).height == 4
    with session_scope(engine) as session:
        files.delete_file(session=session, ctx=ctx, principal=member, file_id=added.id)
    with session_scope(engine) as session:
        dataset = datasets.get_dataset(session=session, principal=member, dataset_id=dataset.id)
        history = [v["change"] for v in datasets.versions(session=session, dataset=dataset)]
    assert history == ["upload", "files/add", "files/delete"]
    assert "C9" not in _silver(ctx, dataset)["CustomerID"].to_list()
    assert lake.load(ctx.catalog, "bronze", dataset.iceberg_table_name).scan().to_polars().height == 5
    # the first version is still readable: time travel by snapshot id
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    assert pl.scan_iceberg(table, snapshot_id=first_snapshot).collect().height == 3


def test_concurrent_appends_both_land(engine, ctx, member, template_id, tmp_path):
    dataset, _ = _upload(engine, ctx, member, _staged(tmp_path, "base.csv", churn_csv()), template_id)
    errors: list[Exception] = []

    def add(i: int) -> None:
        try:
            with session_scope(engine) as session:
                files.add_files(
                    session=session,
                    ctx=lake.open_lake(ctx.settings),
                    principal=member,
                    dataset_id=dataset.id,
                    staged=[_staged(tmp_path, f"c{i}.csv", churn_csv([f"X{i},1,Basic,true,2024-01-01"]))],
                )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with session_scope(engine) as session:
        dataset = datasets.get_dataset(session=session, principal=member, dataset_id=dataset.id)
    ids = set(_silver(ctx, dataset)["CustomerID"].to_list())
    assert {"X0", "X1"} <= ids


def test_delete_dataset_drops_tables_and_files(engine, ctx, member, template_id, tmp_path):
    dataset, _ = _upload(engine, ctx, member, _staged(tmp_path, "gone.csv", churn_csv()), template_id)
    with session_scope(engine) as session:
        datasets.delete_dataset(session=session, ctx=ctx, principal=member, dataset_id=dataset.id)
    assert tenant_footprint(engine, ctx, member.tenant_id) == {
        "datasets": 0,
        "files": 0,
        "tables": 0,
        "stored": 0,
        "staged": 0,
    }
    assert not ctx.catalog.table_exists(f"silver.{dataset.iceberg_table_name}")


def test_template_in_use_cannot_be_deleted(engine, ctx, member, template_id, tmp_path):
    dataset, _ = _upload(engine, ctx, member, _staged(tmp_path, "uses.csv", churn_csv()), template_id)
    with pytest.raises(Conflict) as exc, session_scope(engine) as session:
        templates.delete_template(session=session, principal=member, template_id=template_id)
    assert dataset.dataset_name in exc.value.detail
    with session_scope(engine) as session:
        datasets.delete_dataset(session=session, ctx=ctx, principal=member, dataset_id=dataset.id)
    with session_scope(engine) as session:
        templates.delete_template(session=session, principal=member, template_id=template_id)


def test_silver_table_is_readable_by_duckdb(engine, ctx, member, template_id, tmp_path):
    """docs/templates-and-datasets.md's one-liner: any Iceberg reader sees the same rows (DuckDB here)."""
    dataset, _ = _upload(engine, ctx, member, _staged(tmp_path, "duck.csv", churn_csv()), template_id)
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    con = table.scan().to_duckdb("churn")
    assert con.sql('select count(*), sum("DataUsageGB") from churn').fetchall() == [(3, 12.75)]


def test_datetime_parsing_accepts_iso_variants():
    """ISO 8601 with T or space, fractions, Z or offsets (to UTC), minutes only, or a bare date."""
    from datetime import datetime

    from raylake.platform.datasets.validation import parse_expr

    values = ["2024-01-23T00:19:14.000", "2024-01-01T10:00:00Z", "2024-01-01 10:00", "2024-01-01"]
    values += ["2024-01-01T10:00:00+02:00", "2024-01-01 10:00:00.5", "nope", None]
    values += ["2024-01-01T10:00+02:00", "2024-01-01T10:00:00+02", "2024-01-01T03:30:00-0430"]
    parsed = pl.DataFrame({"s": values}).lazy().select(parse_expr("DateTime", pl.col("s"))).collect()
    assert parsed.to_series().to_list() == [
        datetime(2024, 1, 23, 0, 19, 14),
        datetime(2024, 1, 1, 10, 0),
        datetime(2024, 1, 1, 10, 0),
        datetime(2024, 1, 1, 0, 0),
        datetime(2024, 1, 1, 8, 0),
        datetime(2024, 1, 1, 10, 0, 0, 500000),
        None,
        None,
        datetime(2024, 1, 1, 8, 0),
        datetime(2024, 1, 1, 8, 0),
        datetime(2024, 1, 1, 8, 0),
    ]
