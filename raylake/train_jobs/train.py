"""Train one run on the cluster, as a Ray job:

    python -m raylake.train_jobs.train --train-id N

The platform submits it for every ``POST /api/v1/train/``; the same command re-runs an unfinished or
failed run from a notebook (``ray job submit -- python -m raylake.train_jobs.train --train-id N``).
It claims the run's row, hands the run to ``train_tabular`` (classification, regression) or
``train_forecast`` (forecasting), and posts what they return to ``train/result``. Any failure is posted
as the run's error before the job exits non-zero.

The two halves are imported only once the row says which one runs: their imports are most of a job's
start (see ``runtime.skip_imports``).
"""

from __future__ import annotations

import argparse
import logging
import traceback

from raylake.core.vocabulary import FINAL, JobStatus
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.db import make_engine, session_scope
from raylake.platform.jobs import end_row
from raylake.platform.training.models import TrainingRun
from raylake.train_jobs import runtime

log = logging.getLogger("raylake.train")
KIND = "train"
# LightGBM imports scikit-learn whenever it is installed, for its scikit-learn estimators; forecasting
# uses lgb.train on numpy arrays. On a 2-core VM scikit-learn (with the scipy.stats and pandas it pulls
# in) took 5 s of the forecasting job's 12 s of imports. (pandas itself stays: pyarrow asks for it.)
FORECAST_SKIPS = ("sklearn",)


def run(settings: Settings, train_id: int, *, lean: bool = False) -> None:
    """``lean``: this process is the job's own (``main``), so modules its half never uses may be skipped."""
    engine = make_engine(settings.sqlalchemy_url)
    token = runtime.callback_token(settings, KIND, train_id)
    try:
        row = runtime.claim(engine, TrainingRun, train_id)
        # The run's first line in its job's log: an operator reading the job in the dashboard sees whose.
        log.info("training run %s of tenant %s", train_id, row.tenant_id)
        runtime.update(
            engine,
            TrainingRun,
            train_id,
            status=JobStatus.RUNNING,
            stage="starting",
            percent=2,
            error=None,
            started_at=utcnow(),
            ray_job_id=runtime.submission_id() or row.ray_job_id,
        )
        try:
            if row.problem_type == "Forecasting":
                if lean:
                    runtime.skip_imports(*FORECAST_SKIPS)
                from raylake.train_jobs import train_forecast as half
            else:
                from raylake.train_jobs import train_tabular as half  # type: ignore[no-redef]
            result = half.train(settings, engine, row)
        except Exception as exc:
            log.error("training run %s failed:\n%s", train_id, traceback.format_exc())
            message = f"{type(exc).__name__}: {exc}"[:2000]
            try:
                runtime.post(
                    settings, "/train/result", token, {"train_id": train_id, "result": {"error": message}}
                )
            except Exception:  # the API is unreachable: record the failure ourselves
                with session_scope(engine) as session:
                    run_row = session.get(TrainingRun, train_id)
                    if run_row is not None and run_row.status not in FINAL:
                        end_row(session, run_row, JobStatus.FAILED, message)  # and its model's status
            raise SystemExit(1) from exc
        runtime.post(settings, "/train/result", token, {"train_id": train_id, "result": result})
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """The Ray job's entrypoint: train ``--train-id``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="raylake.train_jobs.train")
    parser.add_argument("--train-id", type=int, required=True)
    args = parser.parse_args(argv)
    run(resolve_settings(Settings()), args.train_id, lean=True)


if __name__ == "__main__":
    main()
