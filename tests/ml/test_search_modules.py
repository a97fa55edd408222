"""The search and algorithms packages: small modules, Tune classes pickled by reference, lean workers."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import raylake.ml.algorithms
import raylake.ml.search
from raylake.ml.search.results import TrialRecorder
from raylake.ml.search.stopping import HopelessTrialStopper

MAX_LINES = 500


def test_no_module_in_the_packages_is_over_the_limit() -> None:
    for package in (raylake.ml.algorithms, raylake.ml.search):
        for path in Path(package.__file__).parent.glob("*.py"):
            assert len(path.read_text().splitlines()) <= MAX_LINES, path


def test_tune_classes_pickle_by_reference_and_drop_the_progress_callable() -> None:
    recorder = TrialRecorder("Regression", 0.0, 10.0, progress=lambda fraction, trials: None)
    copy = pickle.loads(pickle.dumps(recorder))
    assert type(copy) is TrialRecorder and copy.progress is None and copy.budget_s == 10.0
    assert type(pickle.loads(pickle.dumps(HopelessTrialStopper()))) is HopelessTrialStopper


def test_a_trial_worker_imports_the_trainable_without_the_driver_side() -> None:
    code = """
        import sys
        from raylake.ml.search.trial import Plan, run_trial
        loaded = [m for m in sys.modules if m.partition(".")[0] == "optuna" or m.startswith("ray.tune")]
        assert not loaded, loaded
        from raylake.ml.search import auto_search
        assert "optuna" in sys.modules and auto_search.__module__ == "raylake.ml.search.run"
        print("lean")
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lean"
