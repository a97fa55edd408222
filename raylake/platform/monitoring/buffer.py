"""The API replica's capture buffer: real-time predictions gathered off the hot path and appended to
their models' capture tables (``capture.py``) in batches.

A prediction call only appends a reference to what it already holds (its rows, the replica's answers)
to a list under a lock: microseconds. A background thread turns what gathered into one Arrow table
per model and appends it, every ``capture_flush_s`` seconds or as soon as ``capture_max_rows`` rows
wait, whichever comes first; the app's shutdown (a Serve replica's graceful stop) writes what is left.

What a crash can lose: the rows buffered since the last append, at most ``capture_max_rows`` rows or
``capture_flush_s`` seconds of calls per API replica. A lake or store that refuses an append keeps the
rows for the next one, up to ``MAX_PENDING_FACTOR`` times ``capture_max_rows`` (older calls are dropped
beyond, and logged). Rows of a model deleted meanwhile, or whose capture was turned off, are dropped
when written (the flag is read from the store at each append, so every replica stops within one flush).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import uuid4

import polars as pl
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from raylake.platform.db import session_scope
from raylake.platform.errors import store_unavailable
from raylake.platform.lake import Lake
from raylake.platform.monitoring import capture, compaction
from raylake.platform.monitoring.capture import CaptureSource, ModelVersion
from raylake.platform.registry.models import Predictor

log = logging.getLogger(__name__)
MAX_PENDING_FACTOR = 20
MAX_VERSIONS = 10_000  # described versions kept (they never change: a run's columns are fixed)


class _Call(NamedTuple):  # a tuple: made on the hot path, where a dataclass costs a microsecond more
    version: ModelVersion
    request_id: str
    ts: float  # time.time(): a datetime is made when written
    source: str
    caller: str
    latency_ms: float | None
    rows: Sequence[dict[str, Any]]  # the model inputs, parsed as their types
    sent: Sequence[dict[str, Any]] | None  # the rows as sent (their Id columns)
    results: Sequence[dict[str, Any]]


class CaptureBuffer:
    def __init__(
        self, ctx: Lake, engine: Engine, *, flush_s: float, max_rows: int, compact_s: float = 0.0
    ) -> None:
        self._ctx = ctx
        self._compact_s = compact_s
        self._compacted: dict[int, float] = {}  # model id: when this replica last compacted its table
        self._engine = engine
        self._flush_s = flush_s
        self._max_rows = max_rows
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one append at a time; a reader's flush waits for it
        self._pending: list[_Call] = []
        self._rows = 0
        self._versions: dict[int, ModelVersion] = {}
        self._prefix = uuid4().hex[:16]
        self._count = itertools.count()
        self._tables: dict[int, Table] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def version(self, run: Any) -> ModelVersion:
        """A run's capture identity, described once per replica."""
        found = self._versions.get(run.id)
        if found is None:
            if len(self._versions) >= MAX_VERSIONS:
                self._versions.clear()
            found = self._versions[run.id] = capture.model_version(run)
        return found

    def add(
        self,
        run: Any,
        *,
        source: CaptureSource,
        caller: str,
        rows: Sequence[dict[str, Any]],
        results: Sequence[dict[str, Any]],
        sent: Sequence[dict[str, Any]] | None = None,
        latency_ms: float | None = None,
    ) -> str:
        """Buffer one call's predicted rows (appended within ``flush_s``); the call's request id."""
        # This replica's random prefix and a counter: unique, and cheaper than a uuid4 per call.
        request_id = f"{self._prefix}{next(self._count):016x}"
        call = _Call(
            self.version(run), request_id, time.time(), source, caller, latency_ms, rows, sent, results
        )
        with self._lock:
            self._pending.append(call)
            self._rows += len(rows)
            full = self._rows >= self._max_rows
        if full:
            self._wake.set()
        if self._thread is None:
            self._start()
        return request_id

    @property
    def pending_rows(self) -> int:
        """Rows waiting for the next append."""
        return self._rows

    def flush(self) -> None:
        """Append what is buffered; once it returns, every row added before it is in the lake (or kept
        for the next flush when the lake or store refused it)."""
        with self._flushing:
            with self._lock:
                batch, self._pending, self._rows = self._pending, [], 0
            if not batch:
                return
            by_model: dict[int, list[_Call]] = defaultdict(list)
            for call in batch:
                by_model[call.version.model_id].append(call)
            try:
                capturing = self._capturing(list(by_model))
            except OperationalError as exc:
                if not store_unavailable(exc):
                    raise
                log.warning("could not read the capture flags; %d calls kept for the next flush", len(batch))
                self._requeue(batch)
                return
            for model_id, calls in by_model.items():
                if model_id not in capturing:
                    self._tables.pop(model_id, None)  # deleted, or capture turned off
                    continue
                self._write(model_id, calls)

    def _capturing(self, model_ids: list[int]) -> set[int]:
        query = select(Predictor.id).where(
            col(Predictor.id).in_(model_ids), col(Predictor.capture_predictions)
        )
        with session_scope(self._engine) as session:
            return {model_id for model_id in session.exec(query).all() if model_id is not None}

    def _write(self, model_id: int, calls: list[_Call]) -> None:
        table = self._tables.pop(model_id, None)
        try:
            frame = frame_of(calls)
            inputs = _inputs(calls)
            if table is None:
                table = capture.open_table(self._ctx, self._engine, calls[-1].version, inputs)
            else:
                table = capture.evolve(table, inputs)
            capture.append(table, [frame])
            self._tables[model_id] = table
            self._compact(model_id, table)
        except capture.ModelGone:  # its tenant was deleted meanwhile
            log.info("dropped %d captured calls of model %s: its tenant is gone", len(calls), model_id)
        except Exception as exc:
            if table is not None and _dropped(self._ctx, table):
                # Dropped since we cached it (its model deleted): the files this append wrote went with
                # the folder; the next flush drops the calls, or makes the table anew if the model lives.
                self._requeue(calls)
            elif isinstance(exc, CommitFailedException | OSError) or (
                isinstance(exc, OperationalError) and store_unavailable(exc)
            ):
                log.warning(
                    "could not append %d captured calls of model %s (%s); kept", len(calls), model_id, exc
                )
                self._requeue(calls)
            else:
                log.exception("captured rows of model %s refused; dropped %d calls", model_id, len(calls))

    def _compact(self, model_id: int, table: Table) -> None:
        """Compact the table's past days, at most every ``compact_s`` (the first time an hour after this
        replica's first append to it: a short-lived replica leaves it to the long-lived ones)."""
        if not self._compact_s:
            return
        now = time.monotonic()
        last = self._compacted.setdefault(model_id, now)
        if now - last < self._compact_s:
            return
        self._compacted[model_id] = now
        try:
            replaced = compaction.compact(table.refresh())
            if replaced:
                log.info("compacted %d small files of model %s's capture table", replaced, model_id)
        except Exception:  # the log stays correct as it is; the next round tries again
            log.exception("compaction of model %s's capture table failed", model_id)

    def _requeue(self, calls: list[_Call]) -> None:
        """Put calls back in front of what came meanwhile, within the bound (the oldest go first)."""
        with self._lock:
            self._pending[:0] = calls
            self._rows += sum(len(c.rows) for c in calls)
            limit = self._max_rows * MAX_PENDING_FACTOR
            dropped = 0
            while self._rows > limit and len(self._pending) > 1:
                oldest = self._pending.pop(0)
                self._rows -= len(oldest.rows)
                dropped += len(oldest.rows)
        if dropped:
            log.error("capture buffer full: dropped the %d oldest rows", dropped)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="raylake-capture", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the thread must outlive any one failure
                log.exception("capture flush failed")

    def close(self) -> None:
        """Stop the background writer and append what is buffered (the app's shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()
        if self._rows:
            log.error("capture closed with %d rows it could not append", self._rows)


def _dropped(ctx: Lake, table: Table) -> bool:
    """Whether the table is gone from the catalog (its leftovers removed); False when that is unknown."""
    try:
        return capture.discard_leftovers(ctx, table)
    except Exception:
        return False


def _inputs(calls: Sequence[_Call]) -> list[tuple[str, str]]:
    """Every input the calls' versions have, once each, in order of appearance."""
    seen: dict[str, str] = {}
    for version in dict.fromkeys(c.version for c in calls):
        for name, data_type in version.inputs:
            seen.setdefault(name, data_type)
    return list(seen.items())


def frame_of(calls: Sequence[_Call]) -> pl.DataFrame:
    """The calls' rows as one frame of the capture table's columns (a row per predicted row)."""
    request_ids: list[str] = []
    places: list[int] = []
    stamps: list[datetime] = []
    model_ids: list[int] = []
    train_ids: list[int] = []
    versions: list[int] = []
    callers: list[str] = []
    sources: list[str] = []
    latencies: list[float | None] = []
    texts: list[str | None] = []
    values: list[float | None] = []
    chosen: list[float | None] = []
    probabilities: list[str | None] = []
    inputs: list[dict[str, Any]] = []
    for call in calls:
        n = len(call.rows)
        v = call.version
        request_ids += [call.request_id] * n
        places.extend(range(n))
        stamps += [datetime.fromtimestamp(call.ts, UTC)] * n
        model_ids += [v.model_id] * n
        train_ids += [v.train_id] * n
        versions += [v.version] * n
        callers += [call.caller] * n
        sources += [str(call.source)] * n
        latencies += [call.latency_ms] * n
        for result in call.results[:n]:
            text, value, probability, every = capture.outputs(result, v.regression)
            texts.append(text)
            values.append(value)
            chosen.append(probability)
            probabilities.append(every)
        missing = n - len(call.results)
        if missing > 0:  # a replica answering fewer rows than asked: the rest predicted nothing
            for out in (texts, values, chosen, probabilities):
                out += [None] * missing
        if v.ids and call.sent is not None:
            types = dict(v.inputs)
            for row, sent in zip(call.rows, call.sent, strict=False):
                ids = {name: capture.parse_input(types[name], sent.get(name)) for name in v.ids}
                inputs.append({**row, **ids})
        else:
            inputs.extend(call.rows)
    schema = {capture.column(name): capture.INPUT_TYPES[kind][1] for name, kind in _inputs(calls)}
    if any(name in capture.RESERVED_NAMES for name in _names(calls)):
        inputs = [{capture.column(k): value for k, value in row.items()} for row in inputs]
    reserved: dict[str, list[Any]] = {
        "_request_id": request_ids,
        "_ts": stamps,
        "_model_id": model_ids,
        "_train_id": train_ids,
        "_version": versions,
        "_caller": callers,
        "_source": sources,
        "_latency_ms": latencies,
        "_prediction": texts,
        "_prediction_value": values,
        "_probability": chosen,
        "_probabilities": probabilities,
        "_row": places,
    }
    meta = pl.DataFrame([pl.Series(name, reserved[name], dtype=kind) for name, _, kind in capture.RESERVED])
    if not schema:
        return meta
    rows = pl.from_dicts(inputs, schema=schema, strict=False) if inputs else pl.DataFrame(schema=schema)
    return pl.concat([meta, rows], how="horizontal")


def _names(calls: Sequence[_Call]) -> set[str]:
    return {name for version in {c.version for c in calls} for name, _ in version.inputs}
