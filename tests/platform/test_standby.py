"""Handing runs to warm training jobs (platform/standby.py), on both metadata backends, without Ray:
only a ready, recently heard-from standby is handed a run, and only once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import Session, col, select

from raylake.platform.clock import utcnow
from raylake.platform.db import session_scope
from raylake.platform.standby import FRESH_S, WARMUP_S, JobStandby, claim, prune, waiting
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
