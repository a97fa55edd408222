"""A drift check over many rows, as a Ray job:

    python -m raylake.train_jobs.drift --report-id N

Reads the report's window of captured predictions (or its dataset), only the baseline's columns, counts
them into the version's baseline bins in one scan, compares, and posts the result to
``models/drift-result``, where the API keeps it on the report (and, for a scheduled check, acts on it).
"""

from __future__ import annotations

import argparse
import logging
import traceback
from typing import Any

from sqlalchemy import Engine

from raylake.core.vocabulary import DriftMethod, JobStatus
from raylake.platform import lake
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.db import make_engine, session_scope
from raylake.platform.monitoring import drift_baseline, drift_reader
from raylake.platform.monitoring.drift_models import PREDICTIONS, DriftReport
from raylake.platform.training.models import TrainingRun
from raylake.train_jobs import runtime

log = logging.getLogger("raylake.drift")
KIND = "drift"


def measure(settings: Settings, engine: Engine, report: DriftReport) -> dict[str, Any]:
    """The report's check: its rows counted into its version's baseline bins and compared."""
    assert report.id is not None
    progress = runtime.progress(engine, DriftReport, report.id, low=2)
    with session_scope(engine) as session:
        run = session.get(TrainingRun, report.train_id)
        dataset = session.get(Dataset, report.dataset_id) if report.dataset_id else None
        if run is None:
            raise LookupError("the version was deleted")
    ctx = lake.open_lake(settings)
    progress("reading baseline", 5)
    baseline = drift_baseline.load(ctx.store, run)
    if baseline is None:
        raise LookupError(f"version {run.version} has no drift baseline")
    result = drift_reader.measure(
        drift_reader.source_of(ctx, report, dataset),
        baseline,
        method=DriftMethod(report.method),
        threshold=report.threshold,
        min_rows=report.min_rows,
        with_prediction=report.source == PREDICTIONS,
        progress=progress,
    )
    return result.to_json()


def run(settings: Settings, report_id: int) -> None:
    """Claim the report, measure, and post the result or the reason it failed."""
    engine = make_engine(settings.sqlalchemy_url)
    token = runtime.callback_token(settings, KIND, report_id)
    try:
        report = runtime.claim(engine, DriftReport, report_id)
        runtime.update(engine, DriftReport, report_id, status=JobStatus.RUNNING, stage="starting", percent=2)
        body: dict[str, Any] = {"report_id": report_id}
        try:
            body["result"] = measure(settings, engine, report)
        except Exception as exc:
            log.error("drift report %s failed:\n%s", report_id, traceback.format_exc())
            body["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        runtime.post(settings, "/models/drift-result", token, body)
        if "error" in body:
            raise SystemExit(1)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="raylake.train_jobs.drift")
    parser.add_argument("--report-id", type=int, required=True)
    args = parser.parse_args(argv)
    run(resolve_settings(Settings()), args.report_id)


if __name__ == "__main__":
    main()
