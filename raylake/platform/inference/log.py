"""The real-time part of the prediction log, written off the hot path.

A database write per call would cost more than the prediction itself, so each API replica buffers its
calls and a background thread writes one ``predictions`` row per model per window
(``prediction_log_flush_s``, default 1 s): the number of calls and rows predicted, and the first call's
input. Reading the log flushes this replica's buffer first; other replicas' calls appear within one
window. Batch jobs and forecasts are logged by their own rows as they run.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from raylake.core.vocabulary import JobStatus
from raylake.platform.clock import utcnow
from raylake.platform.db import session_scope
from raylake.platform.errors import store_unavailable
from raylake.platform.inference.models import Prediction
from raylake.platform.tenants.models import Tenant
from raylake.platform.training.models import TrainingRun

log = logging.getLogger(__name__)
INPUT_CHARS = 2000


@dataclass
class _Window:
    tenant_id: str
    train_id: int
    predictor_name: str
    problem_type: str
    domain_name: str
    created_by: str
    accuracy: float | None
    first_input: str
    prediction_type: str
    started_at: datetime
    calls: int = 0
    rows: int = 0


class PredictionLog:
    def __init__(self, engine: Engine, flush_s: float) -> None:
        self._engine = engine
        self._flush_s = flush_s
        self._lock = threading.Lock()
        # One flush at a time: a reader's flush waits for the background one writing the rows it took.
        self._flushing = threading.Lock()
        self._pending: dict[tuple[int, str], _Window] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self,
        *,
        tenant_id: str,
        train_id: int,
        predictor_name: str,
        problem_type: str,
        domain_name: str,
        username: str,
        accuracy: float | None,
        rows: int,
        sample: Any,
        prediction_type: str = "real-time",
    ) -> None:
        """Count a prediction call in its window of the log (written in the background)."""
        key = (train_id, prediction_type)
        with self._lock:
            window = self._pending.get(key)
            if window is None:
                text = json.dumps(sample, default=str, separators=(",", ":"))[:INPUT_CHARS]
                window = self._pending[key] = _Window(
                    tenant_id,
                    train_id,
                    predictor_name,
                    problem_type,
                    domain_name,
                    username,
                    accuracy,
                    text,
                    prediction_type,
                    utcnow(),
                )
            window.calls += 1
            window.rows += rows
        self._ensure_thread()

    def flush(self) -> None:
        """Write the buffered windows; once it returns, every call recorded before it is in the store."""
        with self._flushing:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            windows, self._pending = list(self._pending.values()), {}
        if not windows:
            return
        try:
            self._write(windows)
        except Exception as exc:
            if store_unavailable(exc):
                log.warning("could not write %d prediction log rows; kept for the next flush", len(windows))
                self._requeue(windows)
                return
            # Not the store's state but a row it refuses: write the rest one by one, so that one bad
            # window never holds back everyone's log (it used to be requeued, and refused, forever).
            log.exception("prediction log rows refused; writing them one by one")
            for window in windows:
                try:
                    self._write([window])
                except Exception as one:
                    if store_unavailable(one):
                        self._requeue([window])
                    else:
                        log.error("dropped the prediction log row of run %s: %s", window.train_id, one)

    def _write(self, windows: list[_Window]) -> None:
        """One transaction: a row per window, for tenants that still exist."""
        with session_scope(self._engine) as session:
            # A run deleted within the window keeps its log rows, like batch rows, without the id; a
            # deleted tenant's calls are gone with everything else it had.
            ids = {w.train_id for w in windows}
            alive = set(session.exec(select(TrainingRun.id).where(col(TrainingRun.id).in_(ids))).all())
            tenants = {w.tenant_id for w in windows}
            present = set(session.exec(select(Tenant.id).where(col(Tenant.id).in_(tenants))).all())
            for w in windows:
                if w.tenant_id not in present:
                    continue
                session.add(
                    Prediction(
                        tenant_id=w.tenant_id,
                        train_id=w.train_id if w.train_id in alive else None,
                        predictor_name=w.predictor_name,
                        problem_type=w.problem_type,
                        domain_name=w.domain_name,
                        prediction_type=w.prediction_type,
                        input_data=w.first_input
                        if w.calls == 1
                        else f"{w.calls} calls; first: {w.first_input}"[:INPUT_CHARS],
                        status=JobStatus.COMPLETED,
                        stage="done",
                        percent=100,
                        no_of_records=w.rows,
                        accuracy=w.accuracy,
                        created_by=w.created_by,
                        created_at=w.started_at,
                        finished_at=utcnow(),
                    )
                )

    def _requeue(self, windows: list[_Window]) -> None:
        """Put windows the store refused back in front of what came meanwhile (one window per model and
        kind, so a store that stays down holds no more than that)."""
        with self._lock:
            for w in windows:
                newer = self._pending.get((w.train_id, w.prediction_type))
                if newer is not None:
                    w.calls += newer.calls
                    w.rows += newer.rows
                self._pending[(w.train_id, w.prediction_type)] = w

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="raylake-prediction-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_s):
            self.flush()

    def close(self) -> None:
        """Stop the background writer and write what is buffered."""
        self._stop.set()
        self.flush()
