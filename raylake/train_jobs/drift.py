"""A drift check over many rows, as a Ray job:

    python -m raylake.train_jobs.drift --report-id N

Reads the report's window of captured predictions (or its dataset), only the baseline's columns, counts
them into the version's baseline bins in one scan, compares, and posts the result to
``models/drift-result``, where the API keeps it on the report (and, for a scheduled check, acts on it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from raylake.core.vocabulary import DriftMethod
from raylake.platform import lake
from raylake.platform.config import Settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.db import session_scope
from raylake.platform.monitoring import drift_baseline, drift_reader
from raylake.platform.monitoring.drift_models import PREDICTIONS, DriftReport
from raylake.platform.training.models import TrainingRun
from raylake.train_jobs import runtime

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
    runtime.run_job(
        settings,
        table=DriftReport,
        row_id=report_id,
        kind=KIND,
        result_path="/models/drift-result",
        report=lambda report: {"report_id": report_id},
        work=lambda engine, report: measure(settings, engine, report),
    )


def main(argv: list[str] | None = None) -> None:
    """The Ray job's entrypoint: measure the drift of ``--report-id``."""
    runtime.main("raylake.train_jobs.drift", "--report-id", run, argv)


if __name__ == "__main__":
    main()
