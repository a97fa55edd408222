"""Scheduled drift checks: every ``drift_interval_s`` each model with drift enabled is checked once,
by whichever API replica claims it first.

A model's ``drift_next_at`` says when its next check is due (set when drift is enabled, cleared when it
is not). A replica claims a due model by one conditional UPDATE that moves it on by the interval, so two
replicas racing for it cannot both win, and a replica that dies mid-check only delays it one interval.
The check itself is ``drift.scheduled_check``: small windows in the thread, large ones as a Ray job.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from raylake.core.vocabulary import ModelStatus
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.errors import RaylakeError
from raylake.platform.jobs import RayJobs
from raylake.platform.lake import Lake
from raylake.platform.monitoring import drift
from raylake.platform.monitoring.drift_models import DriftReport
from raylake.platform.registry.models import Predictor

log = logging.getLogger(__name__)

BATCH = 20
MAX_POLL_S = 60.0


def claim_due(session: Session, *, interval_s: float, limit: int = BATCH) -> list[int]:
    """Claim up to ``limit`` models whose check is due: the ids this replica won."""
    now = utcnow()
    due = (col(Predictor.drift_next_at).is_not(None), col(Predictor.drift_next_at) <= now)
    candidates = session.exec(
        select(Predictor.id).where(*due).order_by(col(Predictor.drift_next_at)).limit(limit)
    ).all()
    won: list[int] = []
    for model_id in candidates:
        assert model_id is not None
        result = session.exec(
            update(Predictor)
            .where(col(Predictor.id) == model_id, *due)
            .values(drift_next_at=now + timedelta(seconds=interval_s))
        )
        if result.rowcount == 1:
            won.append(model_id)
    return won


def scheduled_check(
    session: Session, settings: Settings, ctx: Lake, jobs: RayJobs, model_id: int
) -> DriftReport | None:
    """Check a claimed model's default version over its window; None when there is nothing to check (drift
    switched off meanwhile, an archived model, no completed version or no baseline)."""
    model = session.get(Predictor, model_id)
    if model is None or not drift.settings_of(model).enabled or model.status == ModelStatus.ARCHIVED:
        return None
    try:
        run = drift.version_to_check(session, model, None)
        return drift.scheduled_window(session, settings, ctx, jobs, model, run)
    except RaylakeError as exc:
        log.info("drift check of model %s skipped: %s", model_id, exc.detail)
        return None


def run_due(engine: Engine, settings: Settings, ctx: Lake, jobs: RayJobs) -> int:
    """Claim the due models and check each in its own transaction: how many were checked."""
    with session_scope(engine) as session:
        claimed = claim_due(session, interval_s=settings.drift_interval_s)
    checked = 0
    for model_id in claimed:
        try:
            with session_scope(engine) as session:
                report = scheduled_check(session, settings, ctx, jobs, model_id)
                if report is not None:
                    checked += 1
                    log.info("drift check of model %s: report %s", model_id, report.id)
        except Exception:  # one model's failure (its table unreadable, Ray away) must not stop the rest
            log.exception("drift check of model %s failed", model_id)
    return checked


class DriftScheduler:
    """This replica's share of the scheduled drift checks; ``start`` runs it in a daemon thread."""

    def __init__(self, engine: Engine, settings: Settings, ctx: Lake, jobs: RayJobs) -> None:
        self.engine, self.settings, self.ctx, self.jobs = engine, settings, ctx, jobs
        self.poll_s = min(MAX_POLL_S, settings.drift_interval_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                run_due(self.engine, self.settings, self.ctx, self.jobs)
            except Exception:  # the store is busy or unreachable: the next round tries again
                log.exception("drift scheduling round failed")

    def start(self) -> DriftScheduler:
        """Start checking in a daemon thread (not at all when the interval is 0)."""
        if self.settings.drift_interval_s > 0:
            self._thread = threading.Thread(target=self._loop, name="raylake-drift", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop checking, waiting for a round in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
