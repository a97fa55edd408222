"""One real local Ray (jobs and Serve) per test session; the API is reached over real HTTP.

The API tests run once per metadata-store backend: the Serve application is redeployed on the same
Ray instance with the other backend's settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import Engine

from raylake.platform.config import Settings
from raylake.platform.db import make_engine
from raylake.serve_apps.app_builder import APP_NAME, api_application, prepare
from tests.conftest import BACKENDS, make_settings
from tests.factories import PASSWORD, unique
from tests.ray_cluster import LocalRay


@dataclass
class Api:
    """An HTTP client for one deployed backend, with the helpers every API test needs."""

    client: httpx.Client
    settings: Settings
    engine: Engine
    _su: dict[str, str] = field(default_factory=dict)

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        resp = self.client.post(
            "/api/v1/login/access-token", data={"username": username, "password": password}
        )
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}

    @property
    def su(self) -> dict[str, str]:
        if not self._su:
            self._su.update(self.login(self.settings.first_superuser, "superuser-password-1"))
        return self._su

    def new_tenant(self) -> str:
        resp = self.client.post("/api/v1/tenants/", json={"name": unique("t-")}, headers=self.su)
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]

    def new_user(self, tenant_id: str, roles: list[str]) -> tuple[dict, dict[str, str]]:
        """A user with roles in a tenant, and its auth headers."""
        name = unique("u")
        body = {
            "tenant_id": tenant_id,
            "username": name,
            "email": f"{name}@example.com",
            "password": PASSWORD,
        }
        resp = self.client.post("/api/v1/users/create-user", json={**body, "roles": roles}, headers=self.su)
        assert resp.status_code == 201, resp.text
        return resp.json(), self.login(name)


@pytest.fixture(scope="session", params=BACKENDS)
def api(request, ray_cluster: LocalRay, pg_url, tmp_path_factory) -> Iterator[Api]:
    if request.param == "postgresql" and pg_url is None:
        pytest.skip("PostgreSQL is not reachable")
    data_dir = tmp_path_factory.mktemp(f"api-{request.param}")
    settings = prepare(
        make_settings(
            data_dir,
            pg_url if request.param == "postgresql" else "",
            ray_dashboard_url=ray_cluster.dashboard_url,
            ray_auth_token=ray_cluster.token,
            port=ray_cluster.serve_port,
            max_json_kb=1024,
            max_upload_mb=5,
            train_cpus=1,
            # datasets up to 300 rows are predicted in the model replica, larger ones by a Ray Data job
            batch_replica_max_rows=300,
            # drift checks of up to 350 rows run in the request, larger ones as a Ray job
            drift_job_rows=350,
        )
    )
    ray_cluster.deploy(api_application(settings), name=APP_NAME)
    with httpx.Client(base_url=ray_cluster.serve_url, timeout=60) as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if client.get("/api/v1/utils/health-check/").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        engine = make_engine(settings.sqlalchemy_url)
        yield Api(client=client, settings=settings, engine=engine)
        engine.dispose()


@pytest.fixture
def tenant(api: Api) -> str:
    return api.new_tenant()


def once_per_session(api: Api) -> None:
    """Skip on the PostgreSQL pass: for tests of Ray behaviour (killed processes, Serve deployments,
    searches, batch and statistics jobs, forecasting) that the metadata backend does not change: the
    PostgreSQL pass still runs a training job end to end (job progress, callbacks, results, SHAP), real-time
    predictions and every non-Ray endpoint, so the suite stays within its time budget."""
    if not api.settings.is_sqlite:
        pytest.skip("Ray/Serve behaviour, independent of the metadata backend: run on the SQLite pass")
