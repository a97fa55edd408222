"""What a search found: every trial recorded as it ends (driver side), and the winner."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray import tune

from raylake.ml.search.space import searched_values, to_params
from raylake.ml.search.trial import WORST_SCORE

logger = logging.getLogger(__name__)


@dataclass
class SearchResult:
    algorithm: str
    params: dict
    score: float
    trials: list[dict] = field(default_factory=list)


def _error_line(text: str | None) -> str:
    """The exception line of a Tune error trace (the trace itself stays in the driver's log)."""
    if not text:
        return "the trial failed"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head and " " not in head and (head.endswith(("Error", "Exception", "Limit")) or "." in head):
            return line[:500]
    return lines[-1][:500] if lines else "the trial failed"


class TrialRecorder(tune.Callback):
    """Collects every trial as it ends (driver side) and reports progress.

    Tune pickles its run config, callbacks included, when the Tuner is built; the progress callable
    (which may hold a database engine) stays out of that copy: only this live instance reports."""

    def __init__(
        self,
        problem_type: str,
        started_at: float,
        budget_s: float,
        progress: Callable[[float, int], None] | None,
    ) -> None:
        self.problem_type = problem_type
        self.started_at = started_at
        self.budget_s = budget_s
        self.trials: dict[str, Any] = {}
        self.started: dict[str, float] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.progress = progress

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "progress": None, "trials": {}}

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Note when a trial starts, to time it."""
        self.trials.setdefault(trial.trial_id, trial)
        self.started.setdefault(trial.trial_id, time.monotonic())
        logger.debug(
            "%.2f s: trial %s starts %s", time.monotonic() - self.started_at, trial.trial_id, trial.config
        )

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Record a finished trial's result."""
        self._finish(trial, error=None)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Record a failed trial with the last line of its error."""
        text = None
        try:  # the driver's own copy first: the storage copy is written later
            text = Path(trial.error_file).read_text() if trial.error_file else trial.get_error()
        except Exception:
            logger.debug("no error text for trial %s", trial.trial_id, exc_info=True)
        self._finish(trial, error=_error_line(text))

    def _finish(self, trial: Any, error: str | None) -> None:
        if trial.trial_id in self.records:
            return
        self.trials.setdefault(trial.trial_id, trial)
        record = _record(trial, self.problem_type, self.started.get(trial.trial_id), error)
        self.records[trial.trial_id] = record
        logger.debug(
            "%.2f s: trial %s %s, score %s",
            time.monotonic() - self.started_at,
            trial.trial_id,
            record["status"],
            record["score"],
        )
        if record["status"] == "error":
            logger.warning("search trial %s (%s) failed: %s", trial.trial_id, trial.config, record["error"])
        if self.progress is not None:
            elapsed = time.monotonic() - self.started_at
            fraction = min(1.0, elapsed / self.budget_s) if self.budget_s > 0 else 1.0
            try:
                self.progress(fraction, len(self.records))
            except Exception:
                logger.exception("the search's progress callback failed")

    def all_records(self) -> list[dict[str, Any]]:
        """Every trial's record, in the order they started (a trial still running is recorded as it is)."""
        for trial_id, trial in self.trials.items():
            if trial_id not in self.records:
                self.records[trial_id] = _record(trial, self.problem_type, self.started.get(trial_id), None)
        return [self.records[trial_id] for trial_id in self.trials]


def _searched_params(name: str, problem_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The fit params of a configuration (what a trial that reported nothing was trying)."""
    try:
        return to_params(name, problem_type, searched_values(name, config))
    except Exception:
        return searched_values(name, config)


def _record(trial: Any, problem_type: str, started: float | None, error: str | None) -> dict[str, Any]:
    """A JSON-safe account of one trial."""
    config = dict(trial.config)
    name = config.get("algorithm", "")
    result = dict(trial.last_result or {})
    if result.get("params_json"):
        params = json.loads(result["params_json"])
    else:
        params = _searched_params(name, problem_type, config)
    if error is None and result.get("status") == "error":
        error = str(result.get("error") or "the trial failed")
    if result.get("status") == "completed":
        status, error = "completed", None  # (a time-limit error after the last report only ends the actor)
    elif error is not None and "_TrialTimeLimit" not in error:
        status = "error"
    else:
        status = "stopped"
    score = result.get("score")
    # A completed trial's own clock counts its fits; any other ended between reports, so the driver's
    # clock is the better measure of what it cost.
    seconds = result.get("time_total_s") if status == "completed" else None
    if seconds is None and started is not None:
        seconds = time.monotonic() - started
    record: dict[str, Any] = {
        "algorithm": name,
        "params": params,
        "score": float(score) if isinstance(score, int | float) and score > WORST_SCORE else None,
        "seconds": round(float(seconds), 3) if seconds is not None else None,
        "status": status,
    }
    if result.get("folds") is not None and status != "completed":
        record["folds"] = int(result["folds"])
    if status == "error":
        record["error"] = error
    return record
