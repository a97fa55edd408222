"""Migration 0017 on both backends: the api_keys table is the model's own, and goes again on downgrade."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from raylake.platform.apikeys.models import ApiKey
from raylake.platform.db import _alembic_config
from tests.platform.test_migration_0009 import fresh_engine


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0017_adds_api_keys_and_downgrades(backend, tmp_path):
    with fresh_engine(backend, tmp_path) as engine:
        config = _alembic_config(engine)
        command.upgrade(config, "0017")
        found = inspect(engine)
        assert {c["name"] for c in found.get_columns("api_keys")} == {
            c.name for c in ApiKey.__table__.columns
        }
        assert any(u["column_names"] == ["key_hash"] for u in found.get_unique_constraints("api_keys"))
        command.downgrade(config, "0016")
        assert "api_keys" not in inspect(engine).get_table_names()
        command.upgrade(config, "head")
