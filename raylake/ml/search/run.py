"""Running the search: Optuna's TPE proposes, Ray Tune runs the trials under the budget, the best one wins."""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from raylake.ml.algorithms import ALGORITHMS, PROBLEM_TYPES, TrainData
from raylake.ml.search.results import SearchResult, TrialRecorder
from raylake.ml.search.space import AUTO_ALGORITHMS, Space, start_point
from raylake.ml.search.splits import plan_data
from raylake.ml.search.stopping import BudgetedOptunaSearch, HopelessTrialStopper
from raylake.ml.search.trial import WRAP_UP_S, Plan, run_trial

logger = logging.getLogger(__name__)

# One trial may use at most this share of the budget (but never less than MIN_TRIAL_S): a forest on a
# million rows must not eat the whole search.
TRIAL_BUDGET_SHARE = 0.5
MIN_TRIAL_S = 10.0
# No trial starts later than this before the wrap-up: it could not finish a fit.
MIN_USEFUL_TRIAL_S = 1.0
# Forests and the MLP are searched only where a trial can fit this many rows per second of its limit:
# on larger data a default forest alone outlasts a one-minute search, while LightGBM and
# HistGradientBoosting (histogram-based) take such sizes in seconds.
SLOW_ALGORITHMS = ("RandomForest", "ExtraTrees", "NeuralNetwork")
SLOW_ROWS_PER_S = 2_000


@contextmanager
def _quiet_tune() -> Iterator[None]:
    """Tune's per-trial loggers off and its trial-error traces left to our own log line, for this search
    only (the variables are read when the Tuner runs, in this process)."""
    overrides = {
        "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
        "TUNE_PRINT_ALL_TRIAL_ERRORS": "0",
        # The legacy output engine honours verbose=0; the new one still prints its tables.
        "RAY_AIR_NEW_OUTPUT": "0",
    }
    saved = {key: os.environ.get(key) for key in overrides}
    quiet = [logging.getLogger(name) for name in ("ray.tune.analysis.experiment_analysis", "optuna")]
    levels = [log.level for log in quiet]
    os.environ.update(overrides)
    for log in quiet:
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)


def auto_search(
    *,
    problem_type: str,
    data: dict[str, TrainData],
    time_budget_s: float,
    seed: int,
    max_concurrency: int,
    storage_path: Path | None,
    progress: Callable[[float, int], None] | None = None,
    algorithms: Sequence[str] | None = None,
) -> SearchResult:
    """The best algorithm and params found within ``time_budget_s`` seconds (returns within a few more).

    ``data`` maps an encoding to the same rows encoded that way; algorithms whose encoding is missing are
    not searched. ``algorithms`` narrows the candidates (default: ``AUTO_ALGORITHMS`` valid for the
    problem type). Raises RuntimeError when no trial completes in the budget.
    """
    started_at = time.monotonic()
    deadline = time.time() + time_budget_s
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"problem_type must be one of {', '.join(PROBLEM_TYPES)}, not {problem_type!r}")
    trial_limit_s = max(MIN_TRIAL_S, TRIAL_BUDGET_SHARE * time_budget_s)
    rows = len(next(iter(data.values())).y_train) if data else 0
    candidates = [
        name
        for name in (algorithms or AUTO_ALGORITHMS)
        if name in ALGORITHMS
        and problem_type in ALGORITHMS[name].problem_types
        and ALGORITHMS[name].encoding in data
        and (algorithms or name not in SLOW_ALGORITHMS or rows <= SLOW_ROWS_PER_S * trial_limit_s)
    ]
    if not candidates:
        raise ValueError(f"no algorithm to search for {problem_type} with encodings {sorted(data)}")

    import optuna
    import ray
    from ray import tune

    if not ray.is_initialized():
        ray.init()

    planned, folds = plan_data(problem_type, data, seed)
    plan = Plan(
        problem_type=problem_type,
        data=planned,
        folds=folds,
        seed=seed,
        deadline=deadline,
        trial_limit_s=trial_limit_s,
    )
    n_features = next(iter(planned.values())).X_train.shape[1]
    recorder = TrialRecorder(problem_type, started_at, time_budget_s, progress)
    scheduler = HopelessTrialStopper()
    root = Path(storage_path) if storage_path is not None else None
    temporary = root is None
    if root is None:
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="raylake-search-"))
    root.mkdir(parents=True, exist_ok=True)
    name = f"search-{uuid.uuid4().hex[:8]}"
    trainable = tune.with_resources(tune.with_parameters(run_trial, plan=plan), {"cpu": 1})
    try:
        with _quiet_tune():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
            searcher = BudgetedOptunaSearch(
                deadline - WRAP_UP_S - MIN_USEFUL_TRIAL_S,
                Space(tuple(candidates)),
                metric="score",
                mode="max",
                points_to_evaluate=[start_point(name, problem_type, n_features) for name in candidates],
                sampler=sampler,
            )
            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(
                    metric="score",
                    mode="max",
                    search_alg=searcher,
                    scheduler=scheduler,
                    num_samples=-1,
                    max_concurrent_trials=max(1, int(max_concurrency)),
                    time_budget_s=max(1.0, deadline - WRAP_UP_S / 2 - time.time()),
                    reuse_actors=True,
                    trial_name_creator=lambda trial: trial.trial_id,
                    trial_dirname_creator=lambda trial: trial.trial_id,
                ),
                run_config=tune.RunConfig(
                    name=name,
                    storage_path=str(root),
                    verbose=0,
                    callbacks=[recorder],
                    checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
                ),
            )
            try:
                tuner.fit()
            except Exception:
                # Trials are recorded as they end, so what finished still counts: a fault in Tune's
                # bookkeeping must not throw away a search that has already found a model.
                logger.exception("the search stopped early on an error in Ray Tune")
    finally:
        shutil.rmtree(root if temporary else root / name, ignore_errors=True)

    trials = recorder.all_records()
    completed = [t for t in trials if t["status"] == "completed" and t["score"] is not None]
    logger.info(
        "search: %d trials (%d completed, %d stopped early by the scheduler) in %.1f s",
        len(trials),
        len(completed),
        scheduler.stopped,
        time.monotonic() - started_at,
    )
    if not completed:
        errors = sorted({t["error"] for t in trials if t.get("error")})
        detail = f"; errors: {'; '.join(errors[:3])}" if errors else ""
        raise RuntimeError(
            f"no trial completed within the {time_budget_s:.0f} s budget ({len(trials)} started){detail}"
        )
    best = max(completed, key=lambda t: t["score"])
    return SearchResult(best["algorithm"], best["params"], best["score"], trials)
