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
  fold-to-fold spread is stopped there (``HopelessTrialStopper``); it cannot plausibly win, and the
  folds it would have used go to a new proposal.
* The budget is enforced inside the trial too, not only by Tune: a trial runs its fits in a helper
  thread and gives up at the search's deadline (or after ``TRIAL_BUDGET_SHARE`` of the budget). Tune can
  only stop a function trial between reports, so without this one long fit would hold the search
  ``budget + fit time`` and Tune's forced actor clean-up another 10 s.
* Per-trial overhead is kept low: actors are reused, the data travels once through the object store
  (``tune.with_parameters``), and Tune writes no per-trial CSV/JSON/TensorBoard logs (results reach the
  driver through a callback, which also reports progress).

Modules: ``space`` (what is searched), ``trial`` (the Tune trainable), ``splits`` (folds or holdout),
``stopping`` (the scheduler and searcher), ``results`` (trial records, the winner), ``run`` (``auto_search``).
The names below load their module on first use: a Ray worker that unpickles ``trial.run_trial`` imports
this package, and must not pay for Tune's searchers and Optuna, which only the driver needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from raylake.ml.search.results import SearchResult
    from raylake.ml.search.run import auto_search
    from raylake.ml.search.space import AUTO_ALGORITHMS, SPACES, boosting_rounds
    from raylake.ml.search.trial import merge_fold_params

_EXPORTS = {
    "AUTO_ALGORITHMS": "space",
    "SPACES": "space",
    "boosting_rounds": "space",
    "merge_fold_params": "trial",
    "SearchResult": "results",
    "auto_search": "run",
}

__all__ = ["AUTO_ALGORITHMS", "SPACES", "SearchResult", "auto_search", "boosting_rounds", "merge_fold_params"]


def __getattr__(name: str) -> Any:
    """The public name from its module, imported on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
