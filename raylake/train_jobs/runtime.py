"""What every job entrypoint needs on the cluster: its row, progress updates, and the result callback.

Progress goes straight to the job's row (cheap, frequent, harmless); results go through the API's
authenticated callback, so the API alone decides what a finished run looks like.
"""

from __future__ import annotations

import argparse
import importlib.abc
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine
from sqlalchemy import update as sa_update
from sqlmodel import SQLModel

from raylake.core.vocabulary import FINAL, EventType, JobStatus
from raylake.platform import callbacks
from raylake.platform import models as _all_tables  # noqa: F401  (foreign keys resolve across features)
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.db import make_engine, session_scope
from raylake.platform.events.outbox import emit
from raylake.platform.jobs import LEASE_RENEW_S
from raylake.platform.training.models import TrainingRun

log = logging.getLogger("raylake.job")
ROW_WAIT_S = 30
POST_ATTEMPTS = 5
T = TypeVar("T", bound=SQLModel)


class _Skipped(importlib.abc.MetaPathFinder):
    """Refuses to find the packages it names, as if they were not installed."""

    def __init__(self, packages: set[str]) -> None:
        self.packages = packages

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        """Refuse the named packages (ModuleNotFoundError); leave every other import to the next finder."""
        if fullname.partition(".")[0] in self.packages:
            raise ModuleNotFoundError(f"{fullname} is not imported by this job", name=fullname)
        return None


def skip_imports(*packages: str) -> None:
    """Make ``packages`` uninstalled for the rest of this process: importing them raises ImportError, so
    libraries that import them only when installed (LightGBM: scikit-learn) take their not-installed
    path. Only for a job's own process, before anything imported them: a package already loaded stays
    (whatever holds it keeps working), so this never breaks a process, it only spares it imports it
    would not use. (A finder, not ``sys.modules[name] = None``: Cython modules such as pyarrow read
    sys.modules directly and would take the None for the module.)"""
    absent = {name for name in packages if not any(m.partition(".")[0] == name for m in sys.modules)}
    if absent:
        sys.meta_path.insert(0, _Skipped(absent))


def wait_for_row(engine: Engine, model: type[T], row_id: int) -> T:
    """The submitting request commits its row just after submitting the job: give it a moment."""
    deadline = time.monotonic() + ROW_WAIT_S
    while True:
        with session_scope(engine) as session:
            row = session.get(model, row_id)
            if row is not None:
                return row
        if time.monotonic() > deadline:
            raise SystemExit(f"{model.__tablename__} row {row_id} does not exist")
        time.sleep(0.5)


def claim(engine: Engine, model: type[T], row_id: int) -> T:
    """The job's row, unless it has already ended: a run cancelled (or failed by reconciliation) before
    its job started must not start then, whatever Ray did with the stop request."""
    row = wait_for_row(engine, model, row_id)
    status = getattr(row, "status", None)
    if status in FINAL:
        raise SystemExit(f"{model.__tablename__} row {row_id} has already ended ({status}): nothing to do")
    return row


def update(
    engine: Engine,
    model: type[SQLModel],
    row_id: int,
    *,
    event: tuple[EventType, dict[str, Any]] | None = None,
    **changes: Any,
) -> None:
    """Change the job's row in one conditional UPDATE that leaves an ended row as it is: a run cancelled or
    failed by reconciliation between the job's claim and this write stays ended. ``event``: also report
    the change on the events feed, in the same transaction (only when the row did change)."""
    table = model.__table__  # type: ignore[attr-defined]
    values = {**changes, **{stamp: utcnow() for stamp in ("updated_at", "modified_at") if stamp in table.c}}
    if not values:
        return
    stmt = sa_update(table).where(table.c.id == row_id)
    if "status" in table.c:
        stmt = stmt.where(table.c.status.not_in(FINAL))
    with session_scope(engine) as session:
        changed = session.exec(stmt.values(**values).returning(table.c.tenant_id)).first()
        if event is not None and changed is not None:
            emit(session, tenant_id=changed[0], type=event[0], payload=event[1])


def progress(
    engine: Engine, model: type[SQLModel], row_id: int | None, low: int = 5
) -> Callable[[str, int], None]:
    """A job's progress reporter: stage and percent on its row, kept within ``low``..99 (100 is the
    result's to set). A training run's stage changes and every 5 points are also ``run.progress`` events."""
    assert row_id is not None
    reported: dict[str, Any] = {"stage": None, "percent": -100}

    def report(stage: str, percent: int) -> None:
        """Write the stage and percent on the row, and a ``run.progress`` event when it moved enough."""
        percent = max(low, min(int(percent), 99))
        event: tuple[EventType, dict[str, Any]] | None = None
        if model is TrainingRun and (stage != reported["stage"] or percent >= reported["percent"] + 5):
            event = (EventType.RUN_PROGRESS, {"train_id": row_id, "stage": stage, "percent": percent})
            reported.update(stage=stage, percent=percent)
        update(engine, model, row_id, event=event, stage=stage, percent=percent)

    return report


@contextmanager
def lease(engine: Engine, model: type[SQLModel], row_id: int) -> Iterator[None]:
    """Renew the row's ``updated_at`` while the block runs: the lease that tells readers (``jobs.lapse``)
    work without a Ray job of its own is still alive."""
    done = threading.Event()

    def renew() -> None:
        """Touch the row every ``LEASE_RENEW_S`` until the block ends, riding out a busy store."""
        while not done.wait(LEASE_RENEW_S):
            try:
                update(engine, model, row_id)
            except Exception:  # a busy store: the next renewal will do
                continue

    thread = threading.Thread(target=renew, name=f"lease-{model.__tablename__}-{row_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def callback_token(settings: Settings, kind: str, row_id: int) -> str:
    """The secret the platform gave this job, or (started by hand) the row's internal token."""
    return os.environ.get(callbacks.ENV_VAR) or callbacks.internal_token(settings, kind, row_id)


def submission_id() -> str | None:
    """This job's Ray submission id, when Ray says (it puts the job's metadata in the environment)."""
    try:
        config = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}"))
        return config.get("metadata", {}).get("job_submission_id")
    except (ValueError, AttributeError):
        return None


def post(settings: Settings, path: str, token: str, body: dict[str, Any]) -> None:
    """POST a result to the API, retrying transient failures; raises when the API refuses it."""
    url = f"{settings.api_url}/api/v1{path}"
    last: Exception | None = None
    for attempt in range(POST_ATTEMPTS):
        try:
            resp = httpx.post(url, json=body, headers={callbacks.HEADER: token}, timeout=60)
        except httpx.HTTPError as exc:
            last = exc
        else:
            if resp.status_code < 500:
                if resp.status_code >= 400:
                    raise RuntimeError(f"the API refused the result: {resp.status_code} {resp.text[:500]}")
                return
            last = RuntimeError(f"{resp.status_code} {resp.text[:200]}")
        time.sleep(min(2**attempt, 10))
    raise RuntimeError(f"could not report to {url}: {last}")


def run_job(
    settings: Settings,
    *,
    table: type[T],
    row_id: int,
    kind: str,
    result_path: str,
    report: Callable[[T], dict[str, Any]],
    work: Callable[[Engine, T], dict[str, Any]],
) -> None:
    """A job's whole life: claim its row, mark it running, do the work, and post the result (or the
    reason it failed, then exit 1) to the API's callback; ``report`` names the row in that body."""
    engine = make_engine(settings.sqlalchemy_url)
    token = callback_token(settings, kind, row_id)
    try:
        row = claim(engine, table, row_id)
        update(engine, table, row_id, status=JobStatus.RUNNING, stage="starting", percent=2)
        body = report(row)
        try:
            body["result"] = work(engine, row)
        except Exception as exc:
            log.error("%s %s failed:\n%s", kind, row_id, traceback.format_exc())
            body["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        post(settings, result_path, token, body)
        if "error" in body:
            raise SystemExit(1)
    finally:
        engine.dispose()


def main(prog: str, option: str, run: Callable[[Settings, int], None], argv: list[str] | None) -> None:
    """A job entrypoint's command line: logging, its one row id option, the settings from the job's env."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument(option, type=int, required=True)
    args = parser.parse_args(argv)
    run(resolve_settings(Settings()), getattr(args, option.lstrip("-").replace("-", "_")))
