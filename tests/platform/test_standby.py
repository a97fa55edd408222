"""Handing runs to warm training jobs (platform/standby.py), on both metadata backends, without Ray:
only a ready, recently heard-from standby is handed a run, and only once."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete
from sqlmodel import Session, col, select

from raylake.platform import callbacks
from raylake.platform.clock import utcnow
from raylake.platform.db import session_scope
from raylake.platform.errors import Unauthorized
from raylake.platform.standby import (
    FRESH_S,
    WARMUP_S,
    JobStandby,
    callback_secret,
    claim,
    hand_over,
    prune,
    waiting,
)
from tests.factories import unique


@pytest.fixture
def clean(engine):
    """The standby table is shared by the session's store: each test starts from an empty one."""
    with session_scope(engine) as session:
        session.execute(delete(JobStandby))
    yield engine
    with session_scope(engine) as session:
        session.execute(delete(JobStandby))


def _standby(session: Session, *, ready: bool = True, quiet_s: float = 0, age_s: float = 0) -> JobStandby:
    now = utcnow()
    row = JobStandby(
        ray_job_id=unique("raylake-standby-"),
        created_at=now - timedelta(seconds=age_s),
        ready_at=now - timedelta(seconds=quiet_s) if ready else None,
        heartbeat_at=now - timedelta(seconds=quiet_s),
    )
    session.add(row)
    session.flush()
    return row


def test_a_ready_standby_is_handed_one_run(clean):
    with session_scope(clean) as session:
        first, second = _standby(session), _standby(session)
    with session_scope(clean) as session:
        assert claim(session, 101) == first.ray_job_id  # the oldest first
        assert claim(session, 102) == second.ray_job_id
        assert claim(session, 103) is None  # none left: the run submits its own job
    with session_scope(clean) as session:
        assert session.get(JobStandby, first.id).claimed_id == 101
        assert session.get(JobStandby, second.id).claimed_id == 102
        assert waiting(session) == 0


def test_warming_or_quiet_standbys_are_not_handed_runs(clean):
    with session_scope(clean) as session:
        _standby(session, ready=False)
        _standby(session, quiet_s=FRESH_S + 5)
        assert waiting(session) == 2
    with session_scope(clean) as session:
        assert claim(session, 201) is None


def test_a_claim_made_in_another_transaction_is_not_repeated(clean):
    with session_scope(clean) as session:
        row = _standby(session)
    with session_scope(clean) as first:
        assert claim(first, 301) == row.ray_job_id
    with session_scope(clean) as second:
        assert claim(second, 302) is None
        assert second.get(JobStandby, row.id).claimed_id == 301


def test_prune_forgets_dead_standbys_and_failed_starts(clean):
    with session_scope(clean) as session:
        alive = _standby(session)
        warming = _standby(session, ready=False, age_s=WARMUP_S / 2)
        _standby(session, quiet_s=FRESH_S + 5)  # its job died
        _standby(session, ready=False, age_s=WARMUP_S + 5)  # its job never came up
        handed = _standby(session, quiet_s=FRESH_S + 5)
        handed.claimed_id = 401  # handed a run: it stops beating, and reads and deletes this row soon
        orphan = _standby(session, quiet_s=WARMUP_S + 5)
        orphan.claimed_id = 402  # handed a run, but its job died before it read it
        session.add_all([handed, orphan])
    with session_scope(clean) as session:
        assert prune(session) == 3
    with session_scope(clean) as session:
        left = session.exec(select(JobStandby.id).order_by(col(JobStandby.id))).all()
        assert list(left) == [alive.id, warming.id, handed.id]


def test_a_run_handed_over_takes_the_standbys_callback_secret(clean, settings):
    """A standby reports with the secret it was started with (no Ray process needs the secret key)."""
    with session_scope(clean) as session:
        row = _standby(session)
    run = SimpleNamespace(id=501, callback_secret_hash="the run's own")
    with session_scope(clean) as session:
        assert hand_over(session, settings, run) == row.ray_job_id
    presented = callback_secret(settings, row.ray_job_id)
    callbacks.verify(
        settings, kind="training", row_id=501, stored_hash=run.callback_secret_hash, presented=presented
    )
    other = callback_secret(settings, unique("raylake-standby-"))
    with pytest.raises(Unauthorized):
        callbacks.verify(
            settings, kind="training", row_id=501, stored_hash=run.callback_secret_hash, presented=other
        )
    # None ready: the run keeps its own secret and submits its own job.
    mine = SimpleNamespace(id=502, callback_secret_hash="the run's own")
    with session_scope(clean) as session:
        assert hand_over(session, settings, mine) is None
    assert mine.callback_secret_hash == "the run's own"
