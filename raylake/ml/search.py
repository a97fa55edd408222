"""The ``auto`` algorithm: a Ray Tune search over algorithms and their hyper-parameters under a time budget.

Optuna's TPE proposes a configuration define-by-run (first an algorithm, then only that algorithm's
hyper-parameters), Tune runs each one as a one-CPU trial on the cluster, and the best validation score
wins. The design follows from a fixed wall-clock budget (FLAML's 60 s is the yardstick):

* Every algorithm's defaults run first (``points_to_evaluate``), LightGBM leading: they are cheap, strong
  baselines, so even a budget that only fits a handful of trials returns a good model, and TPE starts
  from real evidence about which algorithm suits the data.
* Boosting and the MLP stop early on the validation rows, so the search never spends a dimension on the
  number of rounds: the learning rate sets a generous ceiling and early stopping picks the count, which
  comes back in the winner's effective params (``Model.params``) for the caller's refit.
* Small data (under ``SMALL_DATA_ROWS`` training rows) is scored by k-fold cross-validation over training
  and validation rows together: one holdout of a few hundred rows is too noisy to rank trials by.
  Every trial sees the same folds, so fold scores are paired across trials, and a trial whose mean over
  its first folds trails the incumbent's mean over the same folds by more than the incumbent's own
  fold-to-fold spread is stopped there (``_HopelessTrialStopper``); it cannot plausibly win, and the
  folds it would have used go to a new proposal.
* The budget is enforced inside the trial too, not only by Tune: a trial runs its fits in a helper
  thread and gives up at the search's deadline (or after ``TRIAL_BUDGET_SHARE`` of the budget). Tune can
  only stop a function trial between reports, so without this one long fit would hold the search
  ``budget + fit time`` and Tune's forced actor clean-up another 10 s.
* Per-trial overhead is kept low: actors are reused, the data travels once through the object store
  (``tune.with_parameters``), and Tune writes no per-trial CSV/JSON/TensorBoard logs (results reach the
  driver through a callback, which also reports progress).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from raylake.ml.algorithms import (
    ALGORITHMS,
    CLASSIFICATION,
    EARLY_STOPPING_ROUNDS,
    PROBLEM_TYPES,
    TrainData,
    default_params,
    fit,
)
from raylake.ml.metrics import search_score

logger = logging.getLogger(__name__)

SMALL_DATA_ROWS = 5_000
CV_FOLDS = 5
HOLDOUT_SHARE = 0.2
# One trial may use at most this share of the budget (but never less than MIN_TRIAL_S): a forest on a
# million rows must not eat the whole search.
TRIAL_BUDGET_SHARE = 0.5
MIN_TRIAL_S = 10.0
# Trials report what they have this long before the deadline, and Tune stops half-way through it: a
# result reported after Tune stopped its trial would be lost, and Tune can only stop a trial between
# reports.
WRAP_UP_S = 1.0
# No trial starts later than this before the wrap-up: it could not finish a fit.
MIN_USEFUL_TRIAL_S = 1.0
# LightGBM on a holdout grows in chunks (``_boost``); the first one measures the speed of a round.
FIRST_CHUNK_ROUNDS = 100
# Forests and the MLP are searched only where a trial can fit this many rows per second of its limit:
# on larger data a default forest alone outlasts a one-minute search, while LightGBM and
# HistGradientBoosting (histogram-based) take such sizes in seconds.
SLOW_ALGORITHMS = ("RandomForest", "ExtraTrees", "NeuralNetwork")
SLOW_ROWS_PER_S = 2_000
# Reported instead of a non-finite score, so TPE and the scheduler always compare plain numbers.
WORST_SCORE = -1e12
# The order defaults are tried in: strongest and cheapest first, so a short budget still gets them.
# DecisionTree is left out of ``auto``: a single tree never beats the forests and boosting on validation,
# so every trial spent on it would be lost (a caller may still name it in ``algorithms``).
AUTO_ALGORITHMS = (
    "LightGBM",
    "LinearRegression",
    "LogisticRegression",
    "HistGradientBoosting",
    "RandomForest",
    "ExtraTrees",
    "NeuralNetwork",
)


@dataclass(frozen=True)
class _Range:
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def suggest(self, trial: Any, name: str) -> float | int:
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def clip(self, value: float) -> float | int:
        value = min(max(float(value), self.low), self.high)
        return round(value) if self.integer else value


def _int(low: int, high: int, log: bool = True) -> _Range:
    return _Range(low, high, log=log, integer=True)


# What TPE searches, per algorithm, in the searched names (``_to_params`` turns them into fit params).
# Ranges follow FLAML's where it has them, narrowed to what a one-minute budget can explore.
SPACES: dict[str, dict[str, _Range]] = {
    "LightGBM": {
        "learning_rate": _Range(0.01, 0.3, log=True),
        "num_leaves": _int(4, 512),
        "min_child_samples": _int(2, 256),
        "subsample": _Range(0.5, 1.0),
        "colsample_bytree": _Range(0.3, 1.0),
        "reg_lambda": _Range(1e-3, 100.0, log=True),
    },
    "HistGradientBoosting": {
        "learning_rate": _Range(0.01, 0.3, log=True),
        "max_leaf_nodes": _int(4, 256),
        "min_samples_leaf": _int(2, 256),
        "l2_regularization": _Range(1e-3, 100.0, log=True),
        "max_features": _Range(0.3, 1.0),
    },
    "RandomForest": {
        "n_estimators": _int(50, 500),
        "max_features": _Range(0.1, 1.0),
        "min_samples_leaf": _int(1, 32),
    },
    "ExtraTrees": {
        "n_estimators": _int(50, 500),
        "max_features": _Range(0.1, 1.0),
        "min_samples_leaf": _int(1, 32),
    },
    "DecisionTree": {"max_depth": _int(2, 32), "min_samples_leaf": _int(1, 64)},
    "LinearRegression": {"alpha": _Range(1e-4, 1e3, log=True)},
    "LogisticRegression": {"C": _Range(1e-3, 1e3, log=True)},
    "NeuralNetwork": {
        "units": _int(16, 256),
        "layers": _int(1, 2, log=False),
        "alpha": _Range(1e-6, 1e-1, log=True),
        "learning_rate_init": _Range(1e-4, 1e-2, log=True),
    },
}


def _key(name: str, param: str) -> str:
    """The Optuna/Tune name of a searched parameter; no "/" (Tune nests config keys on it)."""
    return f"{name}.{param}"


def boosting_rounds(learning_rate: float) -> int:
    """The ceiling on boosting rounds for a learning rate; early stopping picks the count below it.

    About 100 / learning_rate rounds reach a plateau on most tabular data; the bounds keep a fast
    learner from stopping short and a slow one from running for minutes."""
    return int(min(3000, max(300, round(100.0 / learning_rate))))


def _to_params(name: str, problem_type: str, searched: dict[str, Any]) -> dict[str, Any]:
    """The fit params for a searched configuration: defaults, overridden by what TPE chose."""
    params = default_params(name, problem_type)
    values = dict(searched)
    if name == "NeuralNetwork":
        units, layers = int(values.pop("units")), int(values.pop("layers"))
        params["hidden_layer_sizes"] = [units] * layers
    params.update(values)
    if name == "LightGBM":
        params["n_estimators"] = boosting_rounds(params["learning_rate"])
    elif name == "HistGradientBoosting":
        params["max_iter"] = boosting_rounds(params["learning_rate"])
    return params


def _searched(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The searched values of ``name`` in a trial's config, by their own names."""
    return {key.split(".", 1)[1]: value for key, value in config.items() if key.startswith(f"{name}.")}


def _start_point(name: str, problem_type: str, n_features: int) -> dict[str, Any]:
    """The algorithm's defaults in searched names (clipped into the searched ranges)."""
    defaults = default_params(name, problem_type)
    if name in ("RandomForest", "ExtraTrees"):
        rule = defaults["max_features"]
        if rule == "sqrt":
            defaults["max_features"] = math.sqrt(n_features) / max(1, n_features)
        elif rule == "log2":
            defaults["max_features"] = math.log2(max(2, n_features)) / max(1, n_features)
        elif rule is None:
            defaults["max_features"] = 1.0
    if name == "NeuralNetwork":
        layers = defaults["hidden_layer_sizes"]
        defaults["units"], defaults["layers"] = int(layers[0]), len(layers)
    if name == "DecisionTree" and defaults.get("max_depth") is None:
        defaults["max_depth"] = SPACES[name]["max_depth"].high
    point: dict[str, Any] = {"algorithm": name}
    for param, space in SPACES[name].items():
        point[_key(name, param)] = space.clip(defaults[param])
    return point


@dataclass(frozen=True)
class _Space:
    """Optuna's define-by-run space: the algorithm, then its own parameters (so TPE models each
    algorithm's parameters only on that algorithm's trials). A class, not a closure: Tune pickles the
    searcher, space included, into its experiment state."""

    algorithms: tuple[str, ...]

    def __call__(self, trial: Any) -> None:
        name = trial.suggest_categorical("algorithm", list(self.algorithms))
        for param, space in SPACES[name].items():
            space.suggest(trial, _key(name, param))


# ---------------------------------------------------------------------- what a trial runs


@dataclass
class _Plan:
    """Everything a trial needs, shipped once through the object store.

    With ``folds`` each ``data`` entry holds all rows (training and validation) in ``X_train``; without,
    it is the caller's holdout split."""

    problem_type: str
    data: dict[str, TrainData]
    folds: list[tuple[np.ndarray, np.ndarray]] | None
    seed: int
    deadline: float
    trial_limit_s: float

    def splits(self, encoding: str) -> Iterator[TrainData]:
        data = self.data[encoding]
        if self.folds is None:
            yield data
            return
        for train, test in self.folds:
            yield TrainData(
                X_train=data.X_train[train],
                y_train=data.y_train[train],
                X_val=data.X_train[test],
                y_val=data.y_train[test],
                n_classes=data.n_classes,
                categorical=list(data.categorical),
                feature_names=list(data.feature_names),
            )

    @property
    def n_splits(self) -> int:
        return 1 if self.folds is None else len(self.folds)


class _TrialTimeLimit(Exception):
    """A trial ran past its share of the budget: raised so Tune ends its actor, and the fit with it."""


def _within(seconds: float, work: Callable[[], Any]) -> tuple[bool, Any]:
    """``(True, result)`` of ``work`` if it finishes within ``seconds``, else ``(False, None)``.

    The work runs in a daemon thread: a fit cannot be interrupted, but the trial can stop waiting for it."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, name="raylake-trial-fit", daemon=True)
    thread.start()
    thread.join(max(0.0, seconds))
    if thread.is_alive():
        return False, None
    if "error" in box:
        raise box["error"]
    return True, box["result"]


def _score(plan: _Plan, data: TrainData, model: Any) -> float:
    assert data.X_val is not None and data.y_val is not None
    proba = model.predict_proba(data.X_val)
    predicted = np.argmax(proba, axis=1) if proba is not None else model.predict(data.X_val)
    return search_score(plan.problem_type, data.n_classes, data.y_val, predicted, proba)


def _fit_and_score(name: str, plan: _Plan, data: TrainData, params: dict[str, Any]) -> tuple[float, dict]:
    model = fit(name, plan.problem_type, data, params, threads=1, seed=plan.seed)
    return _score(plan, data, model), model.params


def _boost(
    name: str, plan: _Plan, data: TrainData, params: dict[str, Any], stop_at: float
) -> tuple[tuple[float, dict] | None, bool]:
    """LightGBM on a holdout, grown in chunks of rounds (continuing the previous chunk's trees) until early
    stopping ends it, the round ceiling is reached or time runs out: the best model so far is then the
    trial's result. On large data one fit to the ceiling can outlast the trial, and a model cut short
    by the clock is still a valid, often the best, candidate (its round count is in its params).

    Returns the score and effective params (None if not even the first chunk finished) and whether a
    chunk was abandoned still running."""
    ceiling = int(params["n_estimators"])
    model: Any = None
    best = -math.inf
    per_round: float | None = None
    while model is None or model.iterations < ceiling:
        left = stop_at - time.monotonic()
        done_rounds = 0 if model is None else int(model.iterations)
        if per_round is None:
            chunk = min(ceiling, FIRST_CHUNK_ROUNDS)
        else:
            affordable = int(0.5 * left / per_round)
            if affordable < EARLY_STOPPING_ROUNDS:
                break
            chunk = min(ceiling - done_rounds, affordable)
        clock = time.monotonic()
        finished, grown = _within(
            left,
            lambda chunk=chunk, previous=model: fit(
                name,
                plan.problem_type,
                data,
                params | {"n_estimators": chunk},
                threads=1,
                seed=plan.seed,
                init_model=previous,
            ),
        )
        if not finished:
            return ((best, model.params | {"n_estimators": model.iterations}) if model else None), True
        per_round = (time.monotonic() - clock) / chunk
        score = _finite(_score(plan, data, grown))
        if model is not None and score <= best:
            break
        model, best = grown, score
        if grown.params["n_estimators"] <= chunk - EARLY_STOPPING_ROUNDS:
            break  # early stopping ended this chunk: more rounds only overfit
    assert model is not None
    return (best, model.params | {"n_estimators": int(model.iterations)}), False


def _finite(score: float) -> float:
    return float(score) if math.isfinite(score) else WORST_SCORE


def merge_fold_params(per_fold: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One set of params for a refit from the folds' effective params.

    Folds differ only in what early stopping chose (rounds, epochs); the refit takes their mean."""
    merged = dict(per_fold[0])
    for key, first in per_fold[0].items():
        values = [params.get(key) for params in per_fold]
        if all(value == first for value in values):
            continue
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) == len(values):
            mean = sum(numbers) / len(numbers)
            merged[key] = max(1, round(mean)) if isinstance(first, int) else mean
    return merged


def _run_trial(config: dict[str, Any], plan: _Plan) -> None:
    """One Tune trial: fit (per fold) under the time limit and report the running mean after each fit."""
    from ray import tune

    name = config["algorithm"]
    params = _to_params(name, plan.problem_type, _searched(name, config))
    stop_at = time.monotonic() + min(plan.trial_limit_s, plan.deadline - WRAP_UP_S - time.time())
    boosted = plan.folds is None and ALGORITHMS[name].continues
    scores: list[float] = []
    effective: list[dict[str, Any]] = []
    abandoned = False
    for data in plan.splits(ALGORITHMS[name].encoding):
        try:
            if boosted:
                outcome, abandoned = _boost(name, plan, data, params, stop_at)
            else:
                finished, outcome = _within(
                    stop_at - time.monotonic(), lambda data=data: _fit_and_score(name, plan, data, params)
                )
                abandoned = not finished
        except Exception as exc:
            # Reported, not raised: a raised error costs the trial its actor, and a fresh one takes
            # seconds to import Tune. TPE learns the configuration is worthless from the worst score.
            logger.warning("search trial %s failed", config, exc_info=True)
            tune.report(
                {
                    "score": WORST_SCORE,
                    "folds": len(scores),
                    "status": "error",
                    "error": f"{type(exc).__name__}: {exc}"[:500],
                    "params_json": json.dumps(params),
                }
            )
            return
        if outcome is None:
            # Out of time. Tune insists on the metric in every result, so the partial mean stands in.
            partial = float(np.mean(scores)) if scores else WORST_SCORE
            tune.report({"score": partial, "fold_scores": scores, "folds": len(scores), "status": "stopped"})
            break
        scores.append(_finite(outcome[0]))
        effective.append(outcome[1])
        last = len(scores) == plan.n_splits
        tune.report(
            {
                "score": float(np.mean(scores)),
                "fold_scores": scores,
                "folds": len(scores),
                "status": "completed" if last else "running",
                "params_json": json.dumps(merge_fold_params(effective) if last else params),
            }
        )
    if abandoned and time.time() < plan.deadline - WRAP_UP_S - 0.1:
        # A fit still runs in this actor: raising makes Tune replace the actor, and the fit dies with it,
        # instead of competing with the next trial for the CPU. (At the deadline Tune ends every actor.)
        raise _TrialTimeLimit(f"{name} ran past the trial limit of {plan.trial_limit_s:.0f} s")


# ---------------------------------------------------------------------- driver side


def _hopeless_stopper() -> Any:
    from ray.tune.schedulers import FIFOScheduler, TrialScheduler

    class _HopelessTrialStopper(FIFOScheduler):
        """Stops a cross-validated trial after a fold when it cannot plausibly beat the incumbent.

        Folds are the same for every trial, so a trial's mean over its first k folds is compared with the
        incumbent's mean over those same k folds: more than one incumbent fold-to-fold standard deviation
        behind is hopeless. The margin scales with the metric and the data's own noise (AUC near 1 on
        easy data, R² on noisy data), which a fixed threshold or a quantile rule (ASHA, median stopping)
        would not; and it only ever compares against a finished trial, so the first trials all run."""

        def __init__(self) -> None:
            super().__init__()
            self.best: float = -math.inf
            self.best_folds: list[float] = []
            self.stopped = 0

        def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
            if result.get("status") != "running" or len(self.best_folds) < 2:
                return TrialScheduler.CONTINUE
            mine = result.get("fold_scores") or []
            k = len(mine)
            if not k or k >= len(self.best_folds):
                return TrialScheduler.CONTINUE
            margin = float(np.std(self.best_folds, ddof=1))
            if float(np.mean(mine)) < float(np.mean(self.best_folds[:k])) - margin:
                self.stopped += 1
                return TrialScheduler.STOP
            return TrialScheduler.CONTINUE

        def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
            if result.get("status") == "completed" and result.get("score", -math.inf) > self.best:
                self.best = float(result["score"])
                self.best_folds = list(result.get("fold_scores") or [])

    return _HopelessTrialStopper()


def _budgeted_searcher(last_start: float, *args: Any, **kwargs: Any) -> Any:
    """Optuna's searcher, finished once a new trial could no longer do useful work before the deadline.

    Tune's own time budget keeps launching trials until it fires, a dozen or more in its last second,
    each stopped before it fits anything."""
    from ray.tune.search import Searcher
    from ray.tune.search.optuna import OptunaSearch

    class _BudgetedOptunaSearch(OptunaSearch):
        def suggest(self, trial_id: str) -> dict | str | None:
            if time.time() >= last_start:
                return Searcher.FINISHED
            return super().suggest(trial_id)

    return _BudgetedOptunaSearch(*args, **kwargs)


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


def _recorder(
    problem_type: str, started_at: float, budget_s: float, progress: Callable[[float, int], None] | None
) -> Any:
    from ray import tune

    class _TrialRecorder(tune.Callback):
        """Collects every trial as it ends (driver side) and reports progress.

        Tune pickles its run config, callbacks included, when the Tuner is built; the progress callable
        (which may hold a database engine) stays out of that copy: only this live instance reports."""

        def __init__(self, progress: Callable[[float, int], None] | None) -> None:
            self.trials: dict[str, Any] = {}
            self.started: dict[str, float] = {}
            self.records: dict[str, dict[str, Any]] = {}
            self.progress = progress

        def __getstate__(self) -> dict[str, Any]:
            return {**self.__dict__, "progress": None, "trials": {}}

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.trials.setdefault(trial.trial_id, trial)
            self.started.setdefault(trial.trial_id, time.monotonic())
            logger.debug(
                "%.2f s: trial %s starts %s", time.monotonic() - started_at, trial.trial_id, trial.config
            )

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._finish(trial, error=None)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
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
            record = _record(trial, problem_type, self.started.get(trial.trial_id), error)
            self.records[trial.trial_id] = record
            logger.debug(
                "%.2f s: trial %s %s, score %s",
                time.monotonic() - started_at,
                trial.trial_id,
                record["status"],
                record["score"],
            )
            if record["status"] == "error":
                logger.warning(
                    "search trial %s (%s) failed: %s", trial.trial_id, trial.config, record["error"]
                )
            if self.progress is not None:
                fraction = min(1.0, (time.monotonic() - started_at) / budget_s) if budget_s > 0 else 1.0
                try:
                    self.progress(fraction, len(self.records))
                except Exception:
                    logger.exception("the search's progress callback failed")

        def all_records(self) -> list[dict[str, Any]]:
            for trial_id, trial in self.trials.items():
                if trial_id not in self.records:
                    self.records[trial_id] = _record(trial, problem_type, self.started.get(trial_id), None)
            return [self.records[trial_id] for trial_id in self.trials]

    return _TrialRecorder(progress)


def _searched_params(name: str, problem_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The fit params of a configuration (what a trial that reported nothing was trying)."""
    try:
        return _to_params(name, problem_type, _searched(name, config))
    except Exception:
        return _searched(name, config)


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


@dataclass
class SearchResult:
    algorithm: str
    params: dict
    score: float
    trials: list[dict] = field(default_factory=list)


def _holdout(data: TrainData, seed: int) -> TrainData:
    """A validation split carved from the training rows, for a caller that gave none."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(data.y_train))
    stratify = data.y_train if data.n_classes and np.min(np.bincount(data.y_train.astype(int))) >= 2 else None
    train, test = train_test_split(index, test_size=HOLDOUT_SHARE, random_state=seed, stratify=stratify)
    return TrainData(
        data.X_train[train],
        data.y_train[train],
        data.X_train[test],
        data.y_train[test],
        data.n_classes,
        list(data.categorical),
        list(data.feature_names),
    )


def _plan_data(
    problem_type: str, data: dict[str, TrainData], seed: int
) -> tuple[dict[str, TrainData], list[tuple[np.ndarray, np.ndarray]] | None]:
    """Cross-validation folds over all rows for small data, else the holdout split."""
    from sklearn.model_selection import KFold, StratifiedKFold

    first = next(iter(data.values()))
    rows = len(first.y_train)
    if rows < SMALL_DATA_ROWS:
        combined: dict[str, TrainData] = {}
        for encoding, part in data.items():
            has_val = part.X_val is not None and part.y_val is not None and len(part.y_val)
            X = np.concatenate([part.X_train, part.X_val]) if has_val else part.X_train
            y = np.concatenate([part.y_train, part.y_val]) if has_val else part.y_train
            combined[encoding] = TrainData(
                X, y, None, None, part.n_classes, list(part.categorical), list(part.feature_names)
            )
        y = next(iter(combined.values())).y_train
        if problem_type == CLASSIFICATION:
            smallest = int(np.min(np.unique(y, return_counts=True)[1]))
            k = min(CV_FOLDS, smallest)
            splitter: Any = StratifiedKFold(k, shuffle=True, random_state=seed) if k >= 2 else None
        else:
            k = min(CV_FOLDS, len(y))
            splitter = KFold(k, shuffle=True, random_state=seed) if k >= 2 else None
        if splitter is not None:
            folds = [(train, test) for train, test in splitter.split(np.zeros(len(y)), y)]
            return combined, folds
    holdout = {}
    for encoding, part in data.items():
        has_val = part.X_val is not None and part.y_val is not None and len(part.y_val)
        holdout[encoding] = part if has_val else _holdout(part, seed)
    return holdout, None


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

    planned, folds = _plan_data(problem_type, data, seed)
    plan = _Plan(
        problem_type=problem_type,
        data=planned,
        folds=folds,
        seed=seed,
        deadline=deadline,
        trial_limit_s=trial_limit_s,
    )
    n_features = next(iter(planned.values())).X_train.shape[1]
    recorder = _recorder(problem_type, started_at, time_budget_s, progress)
    scheduler = _hopeless_stopper()
    root = Path(storage_path) if storage_path is not None else None
    temporary = root is None
    if root is None:
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="raylake-search-"))
    root.mkdir(parents=True, exist_ok=True)
    name = f"search-{uuid.uuid4().hex[:8]}"
    trainable = tune.with_resources(tune.with_parameters(_run_trial, plan=plan), {"cpu": 1})
    try:
        with _quiet_tune():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
            searcher = _budgeted_searcher(
                deadline - WRAP_UP_S - MIN_USEFUL_TRIAL_S,
                _Space(tuple(candidates)),
                metric="score",
                mode="max",
                points_to_evaluate=[_start_point(name, problem_type, n_features) for name in candidates],
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
