"""What a training job reads: its snapshot's rows, and the lineage its model folder's manifest records.

Both training jobs (tabular and forecasting) read their input the same way, so an incremental run, a
deleted dataset or an empty snapshot means the same thing to both.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Engine

from raylake.platform import lake
from raylake.platform.clock import utcnow
from raylake.platform.datasets.models import Dataset
from raylake.platform.datasets.validation import FILE_ID
from raylake.platform.db import session_scope
from raylake.platform.registry.models import Predictor
from raylake.platform.training.models import TrainingRun


def read_rows(ctx: lake.Lake, engine: Engine, run: TrainingRun) -> pl.DataFrame:
    """The run's validated rows at its snapshot (incremental: only files added since its base snapshot)."""
    with session_scope(engine) as session:
        dataset = session.get(Dataset, run.dataset_id) if run.dataset_id else None
        if dataset is None:
            raise LookupError(f"dataset {run.dataset_name!r} was deleted before training read it")
        table_name = dataset.iceberg_table_name
    try:
        table = lake.load(ctx.catalog, "silver", table_name)
    except Exception as exc:
        raise LookupError(f"dataset {run.dataset_name!r} was deleted before training read it") from exc
    frame = pl.scan_iceberg(table, snapshot_id=run.snapshot_id)
    if run.base_snapshot_id is not None:
        seen = pl.scan_iceberg(table, snapshot_id=run.base_snapshot_id).select(FILE_ID).unique().collect()
        frame = frame.filter(~pl.col(FILE_ID).is_in(seen[FILE_ID].implode()))
    rows = frame.drop(FILE_ID).collect()
    if rows.height == 0:
        raise ValueError(f"no rows to train on in snapshot {run.snapshot_id}")
    return rows


def lineage(engine: Engine, run: TrainingRun, algorithm: str) -> dict[str, Any]:
    """What the model folder's manifest says about where the model came from."""
    with session_scope(engine) as session:
        predictor = session.get(Predictor, run.predictor_id)
        predictor_name = predictor.predictor_name if predictor else ""
    return {
        "train_id": run.id,
        "predictor_name": predictor_name,
        "version": run.version,
        "parent_id": run.parent_id,
        "dataset_id": run.dataset_id,
        "snapshot_id": run.snapshot_id,
        "base_snapshot_id": run.base_snapshot_id,
        "problem_type": run.problem_type,
        "algorithm": algorithm,
        "created_at": utcnow().isoformat(),
    }
