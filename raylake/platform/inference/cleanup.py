"""What deleting a prediction, a run or a dataset removes of inference's outputs, and the replicas' caches.

A batch prediction owns its gold table (``gold.prediction_<id>``), its ownership row, its CSV folder
and the file row that offers the CSV for download; a forecast owns its points in the run's
``gold.forecast_<train_id>``, which the run owns. Rows go first and tables and files last, so a failure
leaves the object whole (the request rolls back).
"""

from __future__ import annotations

from pyiceberg.exceptions import NoSuchTableError
from sqlmodel import Session, col, select

from raylake.core.layout import forecast_table, prediction_table, predictions_prefix
from raylake.core.vocabulary import FINAL
from raylake.platform import lake
from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets.models import DatasetFile
from raylake.platform.inference.models import Prediction
from raylake.platform.jobs import RayJobs
from raylake.platform.lake import Lake
from raylake.platform.tenancy import Principal, get_scoped
from raylake.platform.training.models import TrainingRun


def _drop_owned(session: Session, namespace: str, name: str) -> None:
    session.exec(
        LakeTable.__table__.delete().where(LakeTable.namespace == namespace, LakeTable.name == name)  # type: ignore[attr-defined]
    )


def delete_prediction(
    *, session: Session, ctx: Lake, prediction: Prediction, jobs: RayJobs | None = None
) -> None:
    """Remove a prediction and everything it wrote. A batch still running is stopped when ``jobs`` is
    given; otherwise its result finds no row, is refused, and the job undoes its own outputs."""
    if jobs is not None and prediction.ray_job_id and prediction.status not in FINAL:
        jobs.stop(prediction.ray_job_id)
    table = None
    if prediction.prediction_type == "batch":
        table = prediction_table(prediction)
        _drop_owned(session, "gold", table)
        if prediction.file_id is not None:
            session.exec(DatasetFile.__table__.delete().where(DatasetFile.id == prediction.file_id))  # type: ignore[attr-defined]
    session.delete(prediction)
    session.flush()
    if table is not None:
        lake.drop(ctx.catalog, "gold", table)
        ctx.store.delete_prefix(predictions_prefix(prediction))
    elif prediction.gold_table and prediction.train_id is not None:  # a forecast: its points only
        namespace, name = prediction.gold_table.split(".", 1)
        try:
            forecast_table = lake.load(ctx.catalog, namespace, name)
        except NoSuchTableError:
            return
        lake.with_commit_retry(forecast_table, lambda t: t.delete(f"prediction_id = {int(prediction.id)}"))  # type: ignore[arg-type]


def delete(*, session: Session, ctx: Lake, jobs: RayJobs, principal: Principal, prediction_id: int) -> None:
    """Delete one prediction of the caller's tenant (404 another tenant's)."""
    prediction = get_scoped(session, Prediction, prediction_id, principal, "Prediction")
    delete_prediction(session=session, ctx=ctx, prediction=prediction, jobs=jobs)


def delete_dataset_predictions(*, session: Session, ctx: Lake, dataset_id: int) -> None:
    """The batch predictions of a dataset being deleted: their outputs are files of that dataset."""
    for prediction in session.exec(
        select(Prediction).where(Prediction.dataset_id == dataset_id, Prediction.prediction_type == "batch")
    ).all():
        delete_prediction(session=session, ctx=ctx, prediction=prediction)


def drop_run_outputs(*, session: Session, ctx: Lake, run: TrainingRun) -> None:
    """A run being deleted: its forecast table and that table's ownership row. Its prediction-log rows
    stay (their model is gone) without the table they pointed at. Call before the run's row goes."""
    name = forecast_table(run)
    _drop_owned(session, "gold", name)
    for prediction in session.exec(
        select(Prediction).where(Prediction.train_id == run.id, col(Prediction.gold_table) == f"gold.{name}")
    ).all():
        prediction.gold_table = None
        session.add(prediction)
    session.flush()


def drop_run_tables(ctx: Lake, run: TrainingRun) -> None:
    """After the rows are gone: the run's forecast table itself."""
    lake.drop(ctx.catalog, "gold", forecast_table(run))
