"""The operations log of deployments: every predict call (who, when, status code, latency, rows, error),
written off the hot path, and read back by deployment or by caller.

A transaction per call would cost a prediction more than the prediction (a commit, and on SQLite the
one writer's lock). Each API replica appends the call to a buffer instead (a lock and a list append) and
a background thread writes what gathered every ``FLUSH_S`` in one transaction. Reading the log flushes
this replica's buffer first; other replicas' calls appear within one flush.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from raylake.platform.clock import utcnow
from raylake.platform.db import paged, session_scope
from raylake.platform.errors import store_unavailable
from raylake.platform.registry.models import DeploymentOperation, ModelDeployment
from raylake.platform.tenancy import Principal, scoped

log = logging.getLogger(__name__)
FLUSH_S = 0.5
MAX_PENDING = 10_000  # calls kept while the store is unreachable; older ones are dropped beyond
ERROR_CHARS = 500


@dataclass(frozen=True)
class _Call:
    # Plain values, not rows: a batch the store refused is written again as new rows.
    tenant_id: str
    deployment_id: int
    caller: str
    status_code: int
    latency_ms: float
    rows: int
    error: str | None
    created_at: datetime


class OperationLog:
    def __init__(self, engine: Engine, flush_s: float = FLUSH_S) -> None:
        self._engine = engine
        self._flush_s = flush_s
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # a reader's flush waits for the background one in progress
        self._pending: list[_Call] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self,
        *,
        tenant_id: str,
        deployment_id: int,
        caller: str,
        status_code: int,
        latency_ms: float,
        rows: int,
        error: str | None = None,
    ) -> None:
        """Buffer one call of a deployment (written within ``FLUSH_S``)."""
        call = _Call(
            tenant_id=tenant_id,
            deployment_id=deployment_id,
            caller=caller,
            status_code=status_code,
            latency_ms=round(latency_ms, 3),
            rows=rows,
            error=error[:ERROR_CHARS] if error else None,
            created_at=utcnow(),
        )
        with self._lock:
            self._pending.append(call)
            if len(self._pending) > MAX_PENDING:
                del self._pending[: len(self._pending) - MAX_PENDING]
        self._ensure_thread()

    def flush(self) -> None:
        """Write the buffered calls; once it returns, every call recorded before it is in the store."""
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                self._write(batch)
            except Exception as exc:
                if store_unavailable(exc):
                    log.warning(
                        "could not write %d deployment operations; kept for the next flush", len(batch)
                    )
                    with self._lock:
                        self._pending[:0] = batch
                    return
                log.exception("deployment operations refused; dropped %d", len(batch))

    def _write(self, batch: Sequence[_Call]) -> None:
        """One transaction: the calls of deployments that still exist (a deleted one's go with it)."""
        with session_scope(self._engine) as session:
            ids = {call.deployment_id for call in batch}
            alive = set(
                session.exec(select(ModelDeployment.id).where(col(ModelDeployment.id).in_(ids))).all()
            )
            session.add_all([DeploymentOperation(**asdict(c)) for c in batch if c.deployment_id in alive])

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="raylake-deployment-ops", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_s):
            self.flush()

    def close(self) -> None:
        """Stop the background writer and write what is buffered."""
        self._stop.set()
        self.flush()


def list_operations(
    *,
    session: Session,
    principal: Principal,
    deployment_id: int | None = None,
    caller: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[DeploymentOperation], int]:
    """The tenant's calls of deployments, newest first: of one deployment, or by one caller."""
    query = scoped(select(DeploymentOperation), DeploymentOperation, principal)
    if deployment_id is not None:
        query = query.where(DeploymentOperation.deployment_id == deployment_id)
    if caller is not None:
        query = query.where(DeploymentOperation.caller == caller)
    newest = (col(DeploymentOperation.created_at).desc(), col(DeploymentOperation.id).desc())
    return paged(session, query.order_by(*newest), skip=offset, limit=limit)
