"""What a job process imports: no API module (FastAPI, Alembic, a router or service); and the forecasting
job skips scikit-learn (most of its start-up): nothing on its path may need it, and skipping never unloads
what a process already holds."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_forecasting_half_imports_without_sklearn() -> None:
    done = _python(
        """
        import sys
        from raylake.train_jobs import runtime, train
        runtime.skip_imports(*train.FORECAST_SKIPS)
        from raylake.train_jobs import train_forecast
        import lightgbm
        import pyarrow as pa
        pa.scalar(1)  # pyarrow's pandas shim still finds what it looks for
        assert not [m for m in sys.modules if m.partition(".")[0] == "sklearn" or m == "scipy.stats"]
        print("lean")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lean"


def test_skipping_leaves_loaded_modules_alone() -> None:
    done = _python(
        """
        import json
        from raylake.train_jobs import runtime
        runtime.skip_imports("json", "sklearn")
        import json.decoder  # loaded before the skip: still importable
        try:
            import sklearn.base
        except ImportError:
            print("skipped")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "skipped"


# Every module a Ray job runs as (``python -m ...``): a job imports the layers below the API, never the API.
ENTRYPOINTS = (
    "train",
    "train_tabular",
    "train_forecast",
    "standby",
    "batch_predict",
    "explain",
    "statistics",
    "drift",
)


def test_job_entrypoints_import_no_api_module() -> None:
    done = _python(
        f"""
        import importlib, sys
        for name in {ENTRYPOINTS!r}:
            importlib.import_module("raylake.train_jobs." + name)
        api = [m for m in sys.modules if m.partition(".")[0] in ("fastapi", "alembic", "starlette")]
        top = ("router", "service", "deps", "app")
        api += [m for m in sys.modules if m.startswith("raylake.") and m.rpartition(".")[2] in top]
        print(sorted(api))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
