"""The model registry's tables moved to ``platform/registry/`` unchanged: same names and columns as the
migrations create (no migration came with the move)."""

from __future__ import annotations

from sqlalchemy import inspect

from raylake.platform import models
from raylake.platform.registry.models import ModelDeployment, Predictor


def test_registry_tables_match_the_migrated_schema(engine) -> None:
    assert models.Predictor is Predictor and models.ModelDeployment is ModelDeployment
    found = inspect(engine)
    for table in (Predictor.__table__, ModelDeployment.__table__):
        migrated = {column["name"] for column in found.get_columns(table.name)}
        assert migrated == {column.name for column in table.columns}
    assert (Predictor.__tablename__, ModelDeployment.__tablename__) == ("predictors", "model_deployments")
