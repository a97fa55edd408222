"""The Ray Tune trainable: one trial fits a configuration (per fold) under its time limit and reports scores.

Tune pickles ``run_trial`` and ships ``Plan`` through the object store: both stay at module level here, so a
worker imports them by path, and this module imports neither Tune's searchers nor scikit-learn at load.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from raylake.ml.algorithms import ALGORITHMS, EARLY_STOPPING_ROUNDS, TrainData, fit
from raylake.ml.metrics import search_score
from raylake.ml.search.space import searched_values, to_params

logger = logging.getLogger(__name__)

# Trials report what they have this long before the deadline, and Tune stops half-way through it: a
# result reported after Tune stopped its trial would be lost, and Tune can only stop a trial between
# reports.
WRAP_UP_S = 1.0
# LightGBM on a holdout grows in chunks (``_boost``); the first one measures the speed of a round.
FIRST_CHUNK_ROUNDS = 100
# Reported instead of a non-finite score, so TPE and the scheduler always compare plain numbers.
WORST_SCORE = -1e12


@dataclass
class Plan:
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
        """The training/validation splits a trial fits for an encoding: each fold, or the one holdout."""
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
        """How many fits a trial makes."""
        return 1 if self.folds is None else len(self.folds)


class _TrialTimeLimit(Exception):
    """A trial ran past its share of the budget: raised so Tune ends its actor, and the fit with it."""


def _within(seconds: float, work: Callable[[], Any]) -> tuple[bool, Any]:
    """``(True, result)`` of ``work`` if it finishes within ``seconds``, else ``(False, None)``.

    The work runs in a daemon thread: a fit cannot be interrupted, but the trial can stop waiting for it."""
    box: dict[str, Any] = {}

    def run() -> None:
        """Do the work, keeping its result or the exception it raised for the waiting trial."""
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


def _score(plan: Plan, data: TrainData, model: Any) -> float:
    assert data.X_val is not None and data.y_val is not None
    proba = model.predict_proba(data.X_val)
    predicted = np.argmax(proba, axis=1) if proba is not None else model.predict(data.X_val)
    return search_score(plan.problem_type, data.n_classes, data.y_val, predicted, proba)


def _fit_and_score(name: str, plan: Plan, data: TrainData, params: dict[str, Any]) -> tuple[float, dict]:
    model = fit(name, plan.problem_type, data, params, threads=1, seed=plan.seed)
    return _score(plan, data, model), model.params


def _boost(
    name: str, plan: Plan, data: TrainData, params: dict[str, Any], stop_at: float
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
            functools.partial(
                fit,
                name,
                plan.problem_type,
                data,
                params | {"n_estimators": chunk},
                threads=1,
                seed=plan.seed,
                init_model=model,
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


def run_trial(config: dict[str, Any], plan: Plan) -> None:
    """One Tune trial: fit (per fold) under the time limit and report the running mean after each fit."""
    from ray import tune

    name = config["algorithm"]
    params = to_params(name, plan.problem_type, searched_values(name, config))
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
                    stop_at - time.monotonic(), functools.partial(_fit_and_score, name, plan, data, params)
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
