"""A batch prediction's captured rows: streamed block by block into a Parquet file beside its outputs,
then appended to the model's capture table (``gold.prediction_log_<model id>``) once the batch's
result is accepted, as one commit; request id ``batch-<prediction id>``, rows numbered in the order
of the batch's result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from sqlalchemy import Engine

from raylake.platform import lake
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.inference.models import Prediction
from raylake.platform.monitoring import sources
from raylake.platform.monitoring.capture import ModelVersion

log = logging.getLogger("raylake.batch_predict")


class CapturedRows:
    """The batch's captured rows, written as its blocks are (nothing when capture is off)."""

    def __init__(
        self,
        path: Path,
        version: ModelVersion | None,
        prediction: Prediction,
        predicted: str,
        probability: str,
    ) -> None:
        self.path, self.version = path, version
        self.predicted, self.probability = predicted, probability
        self.request_id, self.caller, self.ts = f"batch-{prediction.id}", prediction.created_by, utcnow()
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0  # the next block's first row in the batch's result

    def write(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Write the block's captured rows; the block without the columns it carried for them."""
        extra = [c for c in frame.columns if c.startswith(sources.CARRIED)]
        if self.version is None:
            return frame.drop(extra)
        rows = sources.batch_block(
            self.version,
            frame,
            request_id=self.request_id,
            ts=self.ts,
            caller=self.caller,
            prediction=self.predicted,
            probability=self.probability,
            first_row=self.rows,
        ).to_arrow()
        self.rows += frame.height
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, rows.schema, compression="zstd")
        self.writer.write_table(rows, row_group_size=lake.ROW_GROUP)
        return frame.drop(extra)

    def close(self) -> None:
        """Finish the captured rows' Parquet file, if any was written."""
        if self.writer is not None:
            self.writer.close()


def append(
    settings: Settings,
    engine: Engine,
    version_of: Callable[[], ModelVersion | None],
    prediction: Prediction,
    path: Path,
) -> None:
    """Append the delivered batch's captured rows to its model's capture table (``version_of``: the
    version they name, read only when there are rows; a failure is logged: the batch itself is done)."""
    if not path.exists():
        return
    try:
        version = version_of()
        if version is None:
            return
        rows = sources.append_file(lake.open_lake(settings), engine, version, path)
        log.info("batch prediction %s: %d rows captured", prediction.id, rows)
    except Exception:
        log.exception("batch prediction %s: its rows could not be captured", prediction.id)
