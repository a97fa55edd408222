"""The one settings object.

Everything configurable comes from ``RAYLAKE_*`` environment variables (or a ``.env`` file). Code that runs on
Ray workers never reads the environment itself: the driver resolves a ``Settings`` once and passes it along.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"
SUPERUSER_PASSWORD_FILE = "first_superuser_password"
RAY_TOKEN_FILE = "ray_auth_token"
# Settings that are secrets (a database URL may hold a password): kept out of every Ray process's
# environment (ray_env.ray_environment) and out of jobs' runtime_env, but for the store URL they need.
SECRET_SETTINGS = ("secret_key", "ray_auth_token", "first_superuser_password", "database_url")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAYLAKE_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path(".raylake")
    database_url: str = ""
    secret_key: SecretStr | None = None
    access_token_minutes: int = Field(30, ge=1, le=24 * 60)
    refresh_token_days: int = Field(7, ge=1, le=90)
    max_upload_mb: int = Field(512, ge=1)
    max_json_kb: int = Field(1024, ge=1)
    # Iceberg warehouse: a local path or pyarrow filesystem URL; default <data dir>/warehouse.
    lake_warehouse: str = ""
    # File store root: a local path or pyarrow filesystem URL; default <data dir>/files.
    file_store: str = ""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Where Ray jobs reach the API for their result callbacks; default http://<host>:<port>.
    callback_url: str = ""
    api_replicas: int = Field(1, ge=1)
    # Serve's per-request access log in the API and model replicas' log files. Off by default: it cost
    # about 15% of the real-time throughput (bench/RESULTS.md); errors are logged either way.
    serve_access_log: bool = False
    # "haproxy": Serve's HAProxy ingress straight to replicas (measured fastest, bench/RESULTS.md);
    # "proxy": Serve's classic proxy actor (no extra listeners, slower).
    serve_ingress: Literal["haproxy", "proxy"] = "haproxy"
    haproxy_stats_port: int = Field(8404, ge=1, le=65535)
    haproxy_metrics_port: int = Field(9101, ge=1, le=65535)
    # Replicas listen on [base, base+49] (HTTP) and [base+50, base+99] (gRPC) behind HAProxy.
    serve_replica_port_base: int = Field(30000, ge=1024, le=65435)

    ray_address: str = "127.0.0.1:6380"
    ray_dashboard_url: str = "http://127.0.0.1:8265"
    # The dashboard agent's HTTP port (it runs submitted jobs); distinct per cluster on one machine.
    ray_agent_port: int = Field(52365, ge=1, le=65535)
    ray_num_cpus: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    ray_auth_token: SecretStr | None = None
    # A job's row its job has not started this long after submission (the cluster is unreachable, the
    # job waits for CPUs or hangs before it starts) is ended `failed` with the reason when next read;
    # Ray's own limit for a job pending start is the same 15 minutes.
    job_start_timeout_s: float = Field(900.0, gt=0)
    # CPUs a training job reserves and uses (threads; concurrent trials of an "auto" search).
    train_cpus: int = Field(default_factory=lambda: min(os.cpu_count() or 2, 8), ge=1)

    # Inference: the shared, multiplexed model pool (autoscaling bounds, LRU size per replica), the cap
    # on rows per real-time call (413 above), how long the API waits for a replica, and how often the
    # real-time prediction log is flushed.
    inference_min_replicas: int = Field(1, ge=1)
    inference_max_replicas: int = Field(2, ge=1)
    inference_models_per_replica: int = Field(32, ge=1)
    inference_max_instances: int = Field(1000, ge=1)
    inference_timeout_s: float = Field(30.0, gt=0)
    prediction_log_flush_s: float = Field(1.0, gt=0)
    # Prediction capture (platform/monitoring): each API replica appends its buffered predictions to the
    # lake every `capture_flush_s` seconds or as soon as `capture_max_rows` rows wait; a crash loses at
    # most that much per replica.
    capture_flush_s: float = Field(2.0, gt=0)
    capture_max_rows: int = Field(5000, ge=1)
    # How often (at most) a replica compacts the past days of a capture table it appends to; 0: never.
    capture_compact_s: float = Field(3600.0, ge=0)
    # Batch predictions of up to this many rows run inside the model's replica (no Ray job to start;
    # the replica holds the rows in memory, about 0.3 GB per million rows of 12 columns); larger ones
    # run as a Ray Data job. 0 sends every batch to a Ray job.
    batch_replica_max_rows: int = Field(2_000_000, ge=0)
    # How long an API replica trusts a verified access token before checking the store again (see
    # auth/principals.py: changes made through another replica take up to this long); 0 turns it off.
    auth_cache_s: float = Field(5.0, ge=0)
    # How long an API replica reuses a model's description for real-time calls (inference/cache.py).
    inference_cache_s: float = Field(5.0, ge=0)
    # Forecasting: the longest horizon a predictor trains for or a forecast asks for, in steps; where a
    # forecasting job's model fits run: "threads" in the job's process on the `train_cpus` it reserves
    # (one node, no worker start-up), or "tasks": one-CPU Ray tasks spread over a multi-node cluster.
    forecast_max_steps: int = Field(500, ge=1)
    forecast_fits: Literal["threads", "tasks"] = "threads"
    # Training jobs kept started and waiting for a run (platform/standby.py): a run handed to one skips
    # Ray's job start and the imports (about 10 s on a 2-core VM); 0: every run starts its own job. A
    # standby nobody hands a run to exits after `standby_idle_s`; the next run starts a new one.
    train_standby: int = Field(1, ge=0, le=8)
    standby_idle_s: float = Field(3600.0, gt=0)

    first_superuser: str = "admin"
    first_superuser_email: str = "admin@example.com"
    first_superuser_password: SecretStr | None = None
    default_tenant: str = "default"

    # Failed logins per window (auth/throttle.py): per account and client pair, per client, and, for
    # guesses from many addresses, an account-wide backoff doubling from 1 s up to a cap.
    login_max_failures: int = Field(5, ge=1)
    login_max_failures_per_client: int = Field(20, ge=1)
    login_window_seconds: int = Field(300, ge=1)
    login_account_backoff_after: int = Field(50, ge=1)
    login_account_backoff_max_seconds: int = Field(60, ge=1)

    # The events feed (platform/events): the hosts webhooks may target, a comma list of names or
    # name:port (empty: no webhooks at all, so a tenant cannot make the server call internal addresses);
    # attempts per delivery, the first retry's delay (doubling after each failure), each POST's timeout,
    # and how long events and their settled deliveries are kept.
    webhook_allowed_hosts: str = ""
    webhook_max_attempts: int = Field(5, ge=1, le=20)
    webhook_backoff_s: float = Field(2.0, gt=0)
    webhook_timeout_s: float = Field(5.0, gt=0, le=60)
    events_retention_days: int = Field(7, ge=1)

    # Drift checks (platform/monitoring): how often each model with drift enabled is checked (one API
    # replica claims each check; 0: no scheduled checks), and above how many rows a check runs as a Ray
    # job instead of in the request.
    drift_interval_s: float = Field(3600.0, ge=0)
    drift_job_rows: int = Field(200_000, ge=0)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL: ``database_url``, else a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'raylake.db'}"

    @property
    def api_url(self) -> str:
        """Where Ray jobs reach this API for their callbacks: ``callback_url``, else this host and port."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return (self.callback_url or f"http://{host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is SQLite (which takes its own pragmas and locking)."""
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def ray_token_path(self) -> Path:
        """The 0600 file in the data directory that keeps a generated Ray auth token."""
        return self.data_dir / RAY_TOKEN_FILE

    @property
    def superuser_password_path(self) -> Path:
        """The 0600 file in the data directory that keeps a generated first-superuser password."""
        return self.data_dir / SUPERUSER_PASSWORD_FILE

    def ray_token(self) -> str:
        """The Ray cluster's auth token (Ray's token authentication stays on)."""
        if self.ray_auth_token is None:
            raise RuntimeError("settings were not resolved: call resolve_settings() first")
        return self.ray_auth_token.get_secret_value()

    def secret(self) -> str:
        """The key that signs tokens and job callback secrets."""
        if self.secret_key is None:
            raise RuntimeError("settings were not resolved: call resolve_settings() first")
        return self.secret_key.get_secret_value()


def _read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """A secret generated once and kept 0600, so restarts keep tokens valid without anyone choosing one."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def resolve_settings(settings: Settings | None = None) -> Settings:
    """Settings with the data dir created and the secret key filled in (from env, else from its file)."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.secret_key is None:
        settings.secret_key = SecretStr(_read_or_create_secret(settings.data_dir / SECRET_KEY_FILE))
    elif settings.environment == "production" and len(settings.secret()) < 32:
        raise ValueError("RAYLAKE_SECRET_KEY must be at least 32 characters in production")
    if settings.ray_auth_token is None:
        settings.ray_auth_token = SecretStr(_read_or_create_secret(settings.ray_token_path))
    return settings


def first_superuser_password(settings: Settings) -> tuple[str, Path | None]:
    """The configured first-superuser password, or a generated one and the 0600 file that holds it."""
    if settings.first_superuser_password is not None:
        return settings.first_superuser_password.get_secret_value(), None
    path = settings.superuser_password_path
    return _read_or_create_secret(path, 18), path
