"""Baselines: the training job's (its rows' bins, its held-out predictions'), and one built from a named
dataset for a version without training data, which ``POST /drift`` then checks other datasets against."""

from __future__ import annotations

import polars as pl
import pytest

from raylake.core.vocabulary import DriftStatus
from raylake.ml import pipeline
from raylake.ml.preprocess import ColumnRole
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.errors import Invalid, NotFound
from raylake.platform.monitoring import drift, drift_baseline
from raylake.platform.storage import open_store
from raylake.platform.training.models import TrainingRun
from raylake.schemas.drift import DriftCheck
from raylake.train_jobs.train_tabular import save_baseline
from tests.factories import add_version, create_tenant, create_user, draft_model, upload_dataset
from tests.platform.monitoring.drift_data import ROLES, population


def test_training_writes_the_versions_baseline_beside_its_model(tmp_path):
    frame = population(400, seed=1)
    roles = [ColumnRole(r["name"], r["data_type"], r["attribute"]) for r in ROLES]
    result = pipeline.run(frame, roles, problem_type="Classification", algorithm="decision_tree")
    assert result.test_predictions is not None and len(result.test_predictions) == result.rows["test"]
    store = open_store(Settings(data_dir=tmp_path, _env_file=None))
    run = TrainingRun(
        id=5, tenant_id="t", predictor_id=1, columns=ROLES, problem_type="Classification", created_by="u"
    )
    run.dataset_name, run.domain, run.algorithm = "d", "d", "decision_tree"
    save_baseline(store, run, frame, result)
    baseline = drift_baseline.load(store, run)
    assert baseline is not None and drift_baseline.key(run) == "t/models/5/baseline.json"
    assert [(c.name, c.kind) for c in baseline.columns] == [
        ("tenure", "numeric"),
        ("plan", "categorical"),
        ("charges", "numeric"),
    ]
    assert all(sum(c.counts) == 400 for c in baseline.columns) and baseline.rows == 400
    assert baseline.prediction is not None and baseline.prediction.name == "_prediction"
    assert set(baseline.prediction.categories) <= {"true", "false"}
    assert sum(baseline.prediction.counts) == result.rows["test"]


def _csv(frame: pl.DataFrame) -> bytes:
    return frame.drop("churn").write_csv().encode()


def test_a_datasets_baseline_then_datasets_checked_against_it(engine, settings, ctx, member, tmp_path):
    reference, _ = upload_dataset(engine, ctx, member, tmp_path, _csv(population(3_000, seed=1)))
    same, _ = upload_dataset(engine, ctx, member, tmp_path, _csv(population(1_000, seed=2)), usage="p")
    shifted, _ = upload_dataset(
        engine, ctx, member, tmp_path, _csv(population(1_000, seed=3, tenure_shift=30)), usage="p"
    )
    jobs = None  # small datasets: checked in the request
    with session_scope(engine) as session:
        model = draft_model(session, member)
        add_version(session, model, columns=ROLES, problem_type="Classification")  # as an external one
        with pytest.raises(Invalid, match="no drift baseline"):
            drift.read_baseline(session=session, ctx=ctx, principal=member, model_id=model.id, version=None)
        run, baseline = drift.set_baseline(
            session=session,
            ctx=ctx,
            principal=member,
            model_id=model.id,
            dataset_id=reference.id,
            version="v1",
        )
        shown = drift.public_baseline(run, baseline)
        assert shown.rows == 3_000 and shown.prediction is None
        assert shown.source == {
            "kind": "dataset",
            "dataset_id": reference.id,
            "snapshot_id": reference.snapshot_id,
        }
        verdicts = {}
        for dataset in (same, shifted):
            report = drift.check_dataset(
                session=session,
                settings=settings,
                ctx=ctx,
                jobs=jobs,
                principal=member,
                model_id=model.id,
                body=DriftCheck(dataset_id=dataset.id, method="js"),
            )
            public = drift.public(session, report)
            assert public.source == "dataset" and public.dataset_id == dataset.id and public.rows == 1_000
            verdicts[dataset.id] = (public.status, public.drifted, public.method)
    assert verdicts == {
        same.id: (DriftStatus.OK, [], "js"),
        shifted.id: (DriftStatus.DRIFT, ["tenure"], "js"),
    }
    stranger = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])
    with session_scope(engine) as session, pytest.raises(NotFound):
        drift.set_baseline(
            session=session,
            ctx=ctx,
            principal=stranger,
            model_id=model.id,
            dataset_id=reference.id,
            version=None,
        )
