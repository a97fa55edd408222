"""A warm training job (``raylake/platform/standby.py``): started ahead of any run, it does everything a
training job does before it can read data (imports, connecting to Ray), then waits for the API to hand
it one run, trains it exactly as ``python -m raylake.train_jobs.train`` would, and exits.

    python -m raylake.train_jobs.standby --standby-id N      (submitted by the API, never by hand)

Waiting costs no CPUs in Ray's accounting (the job is submitted with none); the run gets the CPUs its
own job would have reserved, as a placement group on this node, for as long as it trains. A standby not
handed a run within ``standby_idle_s`` removes its row and exits; one whose row was pruned exits too.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, delete
from sqlmodel import col

from raylake.platform.clock import utcnow
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.db import make_engine, session_scope
from raylake.platform.standby import HEARTBEAT_S, JobStandby
from raylake.platform.training.models import TrainingRun
from raylake.platform.training.runs import job_cpus
from raylake.train_jobs import runtime, train

log = logging.getLogger("raylake.standby")
POLL_S = 0.2


def warm() -> None:
    """Everything a run would otherwise wait for: both halves' imports and the connection to Ray."""
    import ray

    from raylake.train_jobs import train_forecast, train_tabular  # noqa: F401

    ray.init(log_to_driver=False)


def wait_for_run(engine: Engine, standby_id: int, idle_s: float) -> int | None:
    """The run this standby is handed; None when its row is gone (pruned) or it idled out."""
    idle_until = time.monotonic() + idle_s
    beat_at = 0.0
    while True:
        now = time.monotonic()
        with session_scope(engine) as session:
            row = session.get(JobStandby, standby_id)
            if row is None:
                return None
            if row.claimed_id is not None:
                return row.claimed_id
            if now >= idle_until:
                # Leave only if nobody claimed us meanwhile: the same condition the claim checks.
                left = session.exec(
                    delete(JobStandby).where(
                        col(JobStandby.id) == standby_id, col(JobStandby.claimed_id).is_(None)
                    )
                )
                if left.rowcount:
                    return None
                continue
            if now - beat_at >= HEARTBEAT_S:
                row.heartbeat_at = utcnow()
                if row.ready_at is None:
                    row.ready_at = row.heartbeat_at
                session.add(row)
                beat_at = now
        time.sleep(POLL_S)


def forget(engine: Engine, standby_id: int) -> None:
    """Remove the standby's row, so no run is handed to this job."""
    with session_scope(engine) as session:
        session.execute(delete(JobStandby).where(col(JobStandby.id) == standby_id))


@contextmanager
def reserved(cpus: float) -> Iterator[None]:
    """Hold ``cpus`` of this node in Ray's accounting (the run's own job would have), meanwhile."""
    if cpus <= 0:
        yield
        return
    import ray
    from ray.util.placement_group import placement_group, remove_placement_group

    node = f"node:{ray.util.get_node_ip_address()}"
    group = placement_group([{"CPU": cpus, node: 0.001}], strategy="STRICT_PACK")
    ray.get(group.ready())
    try:
        yield
    finally:
        remove_placement_group(group)


def run(settings: Settings, standby_id: int) -> None:
    """Warm up, wait for a run to be handed over, and train it holding its CPUs; exit when none comes."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        runtime.wait_for_row(engine, JobStandby, standby_id)  # the API commits it just after submitting
        try:
            warm()
        except BaseException:  # never ready: no run may be handed to this job
            forget(engine, standby_id)
            raise
        train_id = wait_for_run(engine, standby_id, settings.standby_idle_s)
        if train_id is None:
            log.info("standby %s: no run came; exiting", standby_id)
            return
        log.info("standby %s: handed training run %s", standby_id, train_id)
        forget(engine, standby_id)  # the run's ray_job_id now says which job trains it
        with session_scope(engine) as session:
            row = session.get(TrainingRun, train_id)
            cpus = job_cpus(settings, row) if row is not None else 0
        with reserved(cpus):
            train.run(settings, train_id)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """The Ray job's entrypoint: stand by as ``--standby-id``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="raylake.train_jobs.standby")
    parser.add_argument("--standby-id", type=int, required=True)
    args = parser.parse_args(argv)
    run(resolve_settings(Settings()), args.standby_id)


if __name__ == "__main__":
    main()
