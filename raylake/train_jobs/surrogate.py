"""A LightGBM surrogate of an external version, as a Ray job:

    python -m raylake.train_jobs.surrogate --surrogate-id N

Reads a sample of the dataset's validated snapshot (the model's inputs only), predicts it with the
version, fits the surrogate on those predictions with a held-out split for its fidelity, writes it
beside the version's files and posts where it is to ``models/surrogate-result``.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Engine

from raylake.core.layout import model_prefix
from raylake.ml.external import ExternalModel
from raylake.ml.surrogate import fit_surrogate
from raylake.platform import lake
from raylake.platform.config import Settings
from raylake.platform.datasets.models import Dataset
from raylake.platform.db import session_scope
from raylake.platform.inference.loading import load_model, model_id
from raylake.platform.registry.external_files import NO_PREPROCESS
from raylake.platform.registry.models import SurrogateJob
from raylake.platform.training.models import TrainingRun
from raylake.train_jobs import runtime

KIND = "surrogate"
SAMPLE_ROWS = 50_000  # what the surrogate is fitted on (and held out from), at most


def fit(settings: Settings, engine: Engine, job: SurrogateJob) -> dict[str, Any]:
    """Fit the surrogate of the job's version on its dataset; where it is, its fidelity and size."""
    assert job.id is not None
    progress = runtime.progress(engine, SurrogateJob, job.id, low=2)
    with session_scope(engine) as session:
        run = session.get(TrainingRun, job.training_run_id)
        dataset = session.get(Dataset, job.dataset_id) if job.dataset_id else None
        if run is None or run.artifact_key is None:
            raise LookupError("the version was deleted")
        if dataset is None or dataset.snapshot_id is None:
            raise LookupError("the dataset was deleted")
        key = model_id(run, NO_PREPROCESS)
        inputs = [c["name"] for c in run.columns if c["attribute"] == "Feature"]
        table_name, snapshot, prefix = dataset.iceberg_table_name, dataset.snapshot_id, model_prefix(run)
        seed = run.seed
    progress("loading model", 10)
    model = load_model(settings, engine, key)
    if not isinstance(model, ExternalModel):
        raise TypeError("only an external version takes a surrogate")
    progress("reading data", 20)
    ctx = lake.open_lake(settings)
    frame = (
        pl.scan_iceberg(lake.load(ctx.catalog, "silver", table_name), snapshot_id=snapshot)
        .select(inputs)
        .head(SAMPLE_ROWS)
        .collect()
    )
    if frame.height < 10:
        raise ValueError(f"the dataset has {frame.height} rows: a surrogate needs at least 10")
    progress("fitting surrogate", 40)
    surrogate = fit_surrogate(model, frame, seed=seed)
    progress("saving", 90)
    target = f"{prefix}/surrogate-{job.id}.txt"
    ctx.store.put_bytes(target, surrogate.to_text().encode())
    return {
        "key": target,
        "meta": surrogate.meta(),
        "fidelity": surrogate.fidelity,
        "metric": surrogate.metric,
        "rows": surrogate.rows,
    }


def run(settings: Settings, surrogate_id: int) -> None:
    """Claim the row, fit, and report the result or the reason it failed."""
    runtime.run_job(
        settings,
        table=SurrogateJob,
        row_id=surrogate_id,
        kind=KIND,
        result_path="/models/surrogate-result",
        report=lambda job: {"surrogate_id": surrogate_id},
        work=lambda engine, job: fit(settings, engine, job),
    )


def main(argv: list[str] | None = None) -> None:
    """The Ray job's entrypoint: fit the surrogate of ``--surrogate-id``."""
    runtime.main("raylake.train_jobs.surrogate", "--surrogate-id", run, argv)


if __name__ == "__main__":
    main()
