"""Shared fixtures: both metadata-store backends, and one real local Ray (jobs, Tune, Serve) per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

import tests.ray_cluster  # noqa: F401  (sets Ray's auth environment before ray is imported)
from raylake.platform.config import Settings
from raylake.platform.db import make_engine
from raylake.serve_apps.app_builder import prepare
from tests.backends import throwaway_postgres
from tests.ray_cluster import LocalRay

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalRay]:
    """The session's one real local Ray (jobs, Tune and Serve), started on first use."""
    cluster = LocalRay()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    with throwaway_postgres() as url:
        yield url


def make_settings(data_dir, database_url: str = "", **overrides) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        first_superuser_password="superuser-password-1",
        login_max_failures_per_client=10_000,
        _env_file=None,
        **{"train_standby": 0, **overrides},  # every run starts its own job, but in test_standby.py
    )


@pytest.fixture(scope="session", params=BACKENDS)
def store(request, tmp_path_factory, pg_url) -> Iterator[tuple[Settings, Engine]]:
    """A migrated, seeded metadata store on each backend (shared by the session; tests use unique names)."""
    if request.param == "postgresql" and pg_url is None:
        pytest.skip("PostgreSQL is not reachable")
    data_dir = tmp_path_factory.mktemp(f"store-{request.param}")
    settings = prepare(make_settings(data_dir, pg_url if request.param == "postgresql" else ""))
    engine = make_engine(settings.sqlalchemy_url)
    yield settings, engine
    engine.dispose()


@pytest.fixture
def settings(store) -> Settings:
    return store[0]


@pytest.fixture
def engine(store) -> Engine:
    return store[1]
