"""When trials stop and start: a scheduler that ends hopeless trials, a searcher that ends at the deadline.

Both are Tune classes at module level: Tune pickles its scheduler and searcher into the experiment state, and
a class defined here pickles by reference.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from ray.tune.schedulers import FIFOScheduler, TrialScheduler
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch


class HopelessTrialStopper(FIFOScheduler):
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
        """Stop a trial whose folds so far trail the best trial's beyond its spread."""
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
        """Keep the best completed trial's score and fold scores to compare with."""
        if result.get("status") == "completed" and result.get("score", -math.inf) > self.best:
            self.best = float(result["score"])
            self.best_folds = list(result.get("fold_scores") or [])


class BudgetedOptunaSearch(OptunaSearch):
    """Optuna's searcher, finished once a new trial could no longer do useful work before ``last_start``
    (a ``time.time()`` instant).

    Tune's own time budget keeps launching trials until it fires, a dozen or more in its last second,
    each stopped before it fits anything."""

    def __init__(self, last_start: float, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_start = last_start

    def suggest(self, trial_id: str) -> dict | str | None:  # type: ignore[override]  # ray's annotation omits its own Searcher.FINISHED (a str)
        """Optuna's next configuration, or FINISHED once the last start time has passed."""
        if time.time() >= self.last_start:
            return Searcher.FINISHED
        return super().suggest(trial_id)
