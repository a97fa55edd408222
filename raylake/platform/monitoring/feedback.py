"""Live accuracy: true labels sent for captured predictions, joined to them, measured per version and per
day, compared with each version's test figures; a drop past the model's threshold marks it ``degraded``.

Labels name predictions by ``capture_id`` (``<request id>.<row>``, what every captured answer carries),
or come as a dataset holding the model's Id column(s) and target: each of its rows labels every
captured prediction with that Id. Only labels that name a captured prediction are kept
(``feedback_table``); the others are reported back. Labels and predictions are compared as the
capture keeps predictions: as text (``1``, ``1.0`` and ``true``/``True`` alike) for classifiers, as
numbers for regressions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from raylake.core.vocabulary import EventType, JobStatus, LiveMetric, ModelStatus, Task
from raylake.ml import metrics as figures
from raylake.platform.clock import utcnow
from raylake.platform.errors import Invalid
from raylake.platform.events.outbox import emit
from raylake.platform.inference.realtime import readable_dataset
from raylake.platform.lake import Lake, load
from raylake.platform.monitoring import capture, feedback_table
from raylake.platform.monitoring.feedback_settings import (
    CLASSIFYING,
    REGRESSING,
    check_settings,
    metric_of,
    settings_of,
)
from raylake.platform.registry import lifecycle
from raylake.platform.registry.models import Predictor
from raylake.platform.registry.service import get_model
from raylake.platform.tenancy import Principal
from raylake.platform.training.models import TrainingRun
from raylake.schemas.feedback import (
    DayAccuracy,
    FeedbackIn,
    FeedbackReport,
    FeedbackSettings,
    VersionAccuracy,
)

SHOWN_UNMATCHED = 20
PREDICTED = ["_request_id", "_row", "_ts", "_version", "_train_id", "_prediction", "_prediction_value"]
BY = "feedback"


def _canonical(expr: pl.Expr, boolean: bool) -> pl.Expr:
    """Class labels as one text: integral numbers without a fraction, booleans in lower case (and, for a
    yes/no target, 1 and 0 as true and false)."""
    number = expr.cast(pl.Float64, strict=False)
    lower = expr.str.to_lowercase()
    whole = number.is_finite() & (number == number.round(0))
    whole_text: pl.Expr = number.cast(pl.Int64, strict=False).cast(pl.String)
    if boolean:
        yes_no = pl.when(number == 1).then(pl.lit("true")).when(number == 0).then(pl.lit("false"))
        whole_text = yes_no.otherwise(whole_text)
    return pl.when(whole).then(whole_text).when(lower.is_in(["true", "false"])).then(lower).otherwise(expr)


def _label_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _labels_sent(body: FeedbackIn) -> tuple[pl.DataFrame, list[str]]:
    """The labels of a request by capture id (request id, row), and the ids that are not capture ids."""
    ids: list[str] = []
    rows: list[int] = []
    labels: list[str] = []
    malformed: list[str] = []
    for item in body.labels or []:
        parsed = capture.split_capture_id(item.capture_id)
        if parsed is None:
            malformed.append(item.capture_id)
            continue
        ids.append(parsed[0])
        rows.append(parsed[1])
        labels.append(_label_text(item.label))
    frame = pl.DataFrame({"_request_id": ids, "_row": rows, "_label": labels}, schema=_no_labels().schema)
    return frame.unique(subset=["_request_id", "_row"], keep="last", maintain_order=True), malformed


def _captured(ctx: Lake, model_id: int, request_ids: Sequence[str]) -> pl.DataFrame:
    """The captured predictions of these requests: what their labels are compared with."""
    found = capture.scan_captured(ctx, model_id) if request_ids else None
    if found is None or "_row" not in found[1]:  # rows captured before they were numbered cannot be named
        return capture.empty().select(PREDICTED)
    scan, _ = found
    return (
        scan.filter(pl.col("_request_id").is_in(list(request_ids)))
        .select(PREDICTED)
        .drop_nulls(["_row"])
        .collect()
    )


def _key_columns(session: Session, model: Predictor) -> tuple[list[str], str]:
    """The model's Id columns and target, as its newest completed version has them."""
    run = session.exec(
        select(TrainingRun)
        .where(TrainingRun.predictor_id == model.id, TrainingRun.status == JobStatus.COMPLETED)
        .order_by(col(TrainingRun.version).desc())
    ).first()
    if run is None:
        raise Invalid(f"model {model.id} has no version to take feedback on")
    ids = [c["name"] for c in run.columns if c["attribute"] == "Id"]
    target = next((c["name"] for c in run.columns if c["attribute"] == "Target"), None)
    if not ids or target is None:
        raise Invalid(
            f"model {model.id}'s inputs have no Id column: label its predictions by capture_id instead"
        )
    return ids, target


def _labels_of_dataset(
    session: Session, ctx: Lake, principal: Principal, model: Predictor, dataset_id: int
) -> tuple[pl.DataFrame, int]:
    """A dataset's labels as capture ids (every captured prediction whose Id columns match a row's), and
    how many labelled rows the dataset has."""
    assert model.id is not None
    ids, target = _key_columns(session, model)
    dataset = readable_dataset(session, principal, dataset_id)
    table = load(ctx.catalog, "silver", dataset.iceberg_table_name)
    present = {field.name for field in table.schema().fields}
    missing = [name for name in [*ids, target] if name not in present]
    if missing:
        raise Invalid(f"dataset {dataset.dataset_name!r} lacks the model's column(s): {', '.join(missing)}")
    rows = (
        pl.scan_iceberg(table, snapshot_id=dataset.snapshot_id)
        .select([*ids, target])
        .drop_nulls([*ids, target])
        .unique(subset=ids, keep="last")
        .collect()
    )
    found = capture.scan_captured(ctx, model.id)
    if found is None or "_row" not in found[1] or any(capture.column(n) not in found[1] for n in ids):
        return _no_labels(), rows.height
    scan, _ = found
    # The Id columns are joined as text: the capture keeps them as sent, the dataset as validated.
    captured = (
        scan.select("_request_id", "_row", *[pl.col(capture.column(n)).cast(pl.String).alias(n) for n in ids])
        .drop_nulls(["_row"])
        .collect()
    )
    label = pl.col(target)
    if rows.schema[target] == pl.Boolean:
        label = pl.when(label).then(pl.lit("true")).otherwise(pl.lit("false"))
    keyed = rows.select(*[pl.col(n).cast(pl.String) for n in ids], label.cast(pl.String).alias("_label"))
    joined = captured.join(keyed, on=ids, how="inner")
    return joined.select("_request_id", "_row", "_label"), rows.height


def _no_labels() -> pl.DataFrame:
    return pl.DataFrame(schema={"_request_id": pl.String, "_row": pl.Int32, "_label": pl.String})


def record(
    *,
    session: Session,
    engine: Engine,
    ctx: Lake,
    principal: Principal,
    model_id: int | str,
    body: FeedbackIn,
) -> FeedbackReport:
    """Keep the labels that name the model's captured predictions, then report its live accuracy (and
    mark it degraded when a version dropped past its threshold)."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    assert model.id is not None
    settings = settings_of(model)
    check_settings(model, settings)
    if body.labels is not None:
        sent, unmatched = _labels_sent(body)
        received = len(body.labels)
    else:
        assert body.dataset_id is not None
        sent, received = _labels_of_dataset(session, ctx, principal, model, body.dataset_id)
        unmatched = []
    captured = _captured(ctx, model.id, sent["_request_id"].unique().to_list())
    matched = sent.join(captured.select("_request_id", "_row"), on=["_request_id", "_row"], how="semi")
    unknown = sent.join(matched, on=["_request_id", "_row"], how="anti")
    unmatched += [capture.capture_id(r, int(i)) for r, i in unknown.select("_request_id", "_row").iter_rows()]
    if matched.height:
        regression = model.task == Task.REGRESSION
        kept = matched.with_columns(
            pl.col("_label").cast(pl.Float64, strict=False).alias("_label_value")
            if regression
            else pl.lit(None, pl.Float64).alias("_label_value"),
            pl.lit(utcnow(), pl.Datetime("us", "UTC")).alias("_received_at"),
            pl.lit(principal.username, pl.String).alias("_caller"),
        )
        if regression and kept["_label_value"].null_count():
            bad = kept.filter(pl.col("_label_value").is_null())["_label"][0]
            raise Invalid(f"model {model.id} is a regression: label {bad!r} is not a number")
        feedback_table.append(ctx, engine, model.tenant_id, model.id, kept)
    report = measure(session=session, ctx=ctx, model=model, since=None, until=None)
    report.received, report.matched, report.unmatched = received, matched.height, unmatched[:SHOWN_UNMATCHED]
    report.degraded = act(session, model, report)
    return report


def report(
    *,
    session: Session,
    ctx: Lake,
    principal: Principal,
    model_id: int | str,
    since: datetime | None,
    until: datetime | None,
) -> FeedbackReport:
    """The model's live accuracy over the labelled predictions made in ``[since, until)``."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    check_settings(model, settings_of(model))
    since = capture.utc(since) if since is not None else None
    until = capture.utc(until) if until is not None else None
    if since is not None and until is not None and since >= until:
        raise Invalid("since must be before until")
    return measure(session=session, ctx=ctx, model=model, since=since, until=until)


def measure(
    *, session: Session, ctx: Lake, model: Predictor, since: datetime | None, until: datetime | None
) -> FeedbackReport:
    """Every labelled version's live figures (overall and per day of prediction) against its test ones."""
    assert model.id is not None
    settings = settings_of(model)
    metric = metric_of(model, settings)
    labels = feedback_table.latest(ctx, model.id)
    requests = labels["_request_id"].unique().to_list()
    joined = _captured(ctx, model.id, requests).join(labels, on=["_request_id", "_row"], how="inner")
    if since is not None:
        joined = joined.filter(pl.col("_ts") >= since)
    if until is not None:
        joined = joined.filter(pl.col("_ts") < until)
    versions = []
    for (train_id,), rows in sorted(joined.group_by("_train_id"), key=lambda group: group[0][0]):
        run = session.get(TrainingRun, int(train_id))
        if run is None or run.predictor_id != model.id:
            continue
        versions.append(_version(run, rows, metric, settings))
    return FeedbackReport(
        model_id=model.id,
        received=0,
        matched=0,
        unmatched=[],
        metric=metric,
        max_drop=settings.max_drop,
        min_rows=settings.min_rows,
        since=since,
        until=until,
        versions=versions,
        degraded=False,
    )


def _version(
    run: TrainingRun, rows: pl.DataFrame, metric: LiveMetric, settings: FeedbackSettings
) -> VersionAccuracy:
    """One version's labelled predictions measured, overall and per day."""
    regression = run.problem_type == "Regression"
    tested = run.metrics or {}
    live = _figures(rows, regression, tested)
    test = {name: _number(tested.get(name)) for name in live}
    drop = {name: _drop(LiveMetric(name), live[name], test[name]) for name in live}
    days = [
        DayAccuracy(day=day, rows=group.height, metrics=_figures(group, regression, tested))
        for (day,), group in sorted(
            rows.with_columns(pl.col("_ts").dt.date().alias("_day")).group_by("_day"), key=lambda g: g[0][0]
        )
    ]
    judged = drop.get(metric.value)
    assert run.id is not None
    return VersionAccuracy(
        version=run.version,
        train_id=run.id,
        rows=rows.height,
        metrics=live,
        test_metrics=test,
        drop=drop,
        degraded=settings.enabled
        and rows.height >= settings.min_rows
        and judged is not None
        and judged > settings.max_drop,
        days=days,
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _drop(metric: LiveMetric, live: float | None, test: float | None) -> float | None:
    """How much worse live is than test (positive: worse)."""
    if live is None or test is None:
        return None
    return test - live if metric.higher_is_better else live - test


def _figures(rows: pl.DataFrame, regression: bool, tested: dict[str, Any]) -> dict[str, float | None]:
    """Live accuracy and F1 (the version's classes in its training order) or RMSE, MAE and R²."""
    if regression:
        guessed = rows.select(
            pl.coalesce(pl.col("_prediction_value"), pl.col("_prediction").cast(pl.Float64, strict=False))
        ).to_series()
        done = figures.regression(rows["_label_value"].to_numpy(), guessed.to_numpy())
        return {name.value: done[name.value] for name in REGRESSING}
    trained = [_label_text(c) for c in tested.get("labels") or []]
    boolean = {c.lower() for c in trained} == {"false", "true"}
    texts = rows.select(
        _canonical(pl.col("_label"), boolean).alias("truth"),
        _canonical(pl.col("_prediction"), boolean).alias("guess"),
    )
    known = pl.Series("c", trained, dtype=pl.String).to_frame()
    classes: list[str] = known.select(_canonical(pl.col("c"), boolean).alias("c"))["c"].to_list()
    for seen in sorted(set(texts["truth"].drop_nulls()) | set(texts["guess"].drop_nulls())):
        if seen not in classes:
            classes.append(seen)
    code = {name: i for i, name in enumerate(classes)}
    truth = np.array([code[v] for v in texts["truth"]], dtype=np.int64)
    guess = np.array([code.get(v, -1) for v in texts["guess"]], dtype=np.int64)  # -1: no prediction
    done = figures.classification(truth, guess, None, classes or ["?"])
    return {name.value: done[name.value] for name in CLASSIFYING}


def act(session: Session, model: Predictor, report: FeedbackReport) -> bool:
    """A version whose live figure dropped past the threshold: the model is ``degraded`` (when its
    lifecycle allows) and ``accuracy.dropped`` names the version and figures; whether it was marked."""
    dropped = [v for v in report.versions if v.degraded]
    if not dropped or ModelStatus.DEGRADED not in ModelStatus(model.status).allowed_next:
        return False
    lifecycle.change_status(session, model, ModelStatus.DEGRADED, BY)
    worst = max(dropped, key=lambda v: v.drop[report.metric.value] or 0.0)
    emit(
        session,
        tenant_id=model.tenant_id,
        type=EventType.ACCURACY_DROPPED,
        payload={
            "model_id": model.id,
            "model_uid": model.uid,
            "version": f"v{worst.version}",
            "train_id": worst.train_id,
            "metric": report.metric.value,
            "live": worst.metrics.get(report.metric.value),
            "test": worst.test_metrics.get(report.metric.value),
            "drop": worst.drop.get(report.metric.value),
            "max_drop": report.max_drop,
            "rows": worst.rows,
        },
    )
    return True
