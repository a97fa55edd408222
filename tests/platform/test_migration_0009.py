"""Migration 0009 on both backends with data in place: files uploaded before it get their encoding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, text

from raylake.platform.db import _alembic_config, make_engine
from tests.backends import throwaway_postgres


@contextmanager
def fresh_engine(backend: str, tmp_path) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield engine
        engine.dispose()
        return
    with throwaway_postgres() as url:
        if url is None:
            pytest.skip("PostgreSQL is not reachable")
        engine = make_engine(url)
        yield engine
        engine.dispose()


def insert(conn: Connection, table: str, **values: object) -> None:
    names = ", ".join(values)
    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(f':{n}' for n in values)})"), values)


FILES = [  # id, error report -> the encoding 0009 records
    (1, {"format": "csv", "encoding": "cp1250"}, "cp1250"),
    (2, {"format": "csv", "encoding": "utf-8-sig"}, "utf-8-sig"),
    (3, {"format": "parquet", "encoding": "binary"}, None),
    (4, None, None),
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0009_backfills_file_encodings_and_downgrades(backend, tmp_path):
    with fresh_engine(backend, tmp_path) as engine:
        config = _alembic_config(engine)
        command.upgrade(config, "0008")
        now = "2026-01-01 00:00:00"
        with engine.begin() as conn:
            insert(conn, "tenants", id="t1", name="t1", is_active=True, created_at=now)
            insert(
                conn,
                "datasets",
                **dict(id=1, tenant_id="t1", dataset_name="d", usage="t", data_source="csv"),
                **dict(iceberg_table_name="d_1", column_specs="[]", is_valid=True, total_records=1),
                **dict(valid_records=1, created_by="u", modified_by="u", created_at=now, modified_at=now),
            )
            for file_id, report, _ in FILES:
                insert(
                    conn,
                    "dataset_files",
                    **dict(id=file_id, dataset_id=1, tenant_id="t1", file_name="f.csv", kind="upload"),
                    **dict(storage_key="k", size_bytes=1, total_fields=1, total_records=1, valid_records=1),
                    **dict(is_valid=True, error_report=None if report is None else json.dumps(report)),
                    **dict(created_by="u", created_at=now, modified_at=now),
                )
        command.upgrade(config, "0009")
        with engine.connect() as conn:
            got = dict(conn.execute(text("SELECT id, encoding FROM dataset_files ORDER BY id")).all())
        assert got == {file_id: encoding for file_id, _, encoding in FILES}
        command.downgrade(config, "0008")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM dataset_files")).scalar_one() == len(FILES)
        command.upgrade(config, "0009")
