"""A model's artifacts and external versions on both backends, without Ray: stored as uploaded, told
apart by their bytes, registered only when they load and fit their signature, walled by tenant."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from uuid import uuid4

import lightgbm as lgb
import numpy as np
import pytest
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sqlmodel import select

from raylake.core.vocabulary import ArtifactKind, JobStatus, ModelFormat, ModelStatus
from raylake.platform.datasets.ingest import Staged
from raylake.platform.db import session_scope
from raylake.platform.errors import Invalid, NotFound
from raylake.platform.inference.loading import load_model, model_id
from raylake.platform.registry import artifacts, external, service
from raylake.platform.registry.external_files import typical_row
from raylake.platform.registry.models import ModelArtifact
from raylake.platform.training.models import TrainingRun
from raylake.schemas.artifacts import ExternalVersionCreate
from tests.factories import create_tenant, create_user, draft_model

INPUTS = [{"name": f"x{i}", "data_type": "Float"} for i in range(4)]


class Canary:
    """Unpickling this creates a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.fixture
def outsider(engine, settings):
    return create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])


def _onnx_classifier(tmp_path: Path) -> tuple[Path, LogisticRegression, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    onx = to_onnx(model, X[:1], options={id(model): {"zipmap": False}})
    path = tmp_path / "model.onnx"
    path.write_bytes(onx.SerializeToString())
    return path, model, X


def _stage(path: Path) -> Staged:
    """A copy of the file as an upload stages it (the store takes the staged file)."""
    staged = path.with_name(f"staged-{uuid4().hex}")
    shutil.copyfile(path, staged)
    return Staged(path=staged, file_name=path.name, size=path.stat().st_size)


def _upload(engine, ctx, principal, model, path: Path, kind=ArtifactKind.MODEL) -> ModelArtifact:
    with session_scope(engine) as session:
        return artifacts.upload(
            session=session,
            ctx=ctx,
            principal=principal,
            model_id=model.id,
            file_kind=kind,
            staged=_stage(path),
        )


def test_an_onnx_file_becomes_a_served_version(engine, settings, ctx, member, outsider, tmp_path):
    path, source, X = _onnx_classifier(tmp_path)
    with session_scope(engine) as session:
        model = draft_model(session, member)
    artifact = _upload(engine, ctx, member, model, path)
    assert artifact.format == ModelFormat.ONNX and artifact.size == path.stat().st_size
    assert ctx.store.read_bytes(artifact.storage_key) == path.read_bytes()
    body = ExternalVersionCreate(artifact_id=artifact.uid, inputs=INPUTS, class_order=["no", "yes"])
    with session_scope(engine) as session:
        run = external.register(session=session, ctx=ctx, principal=member, model_id=model.id, body=body)
        train_id, key = run.id, model_id(run, 0)
        assert (
            run.status == JobStatus.COMPLETED and run.version == 1 and run.source_artifact_id == artifact.id
        )
        assert service.get_model(session=session, principal=member, model_id=model.id).status == (
            ModelStatus.TRAINED
        )
    served = load_model(settings, engine, key)
    row = {f"x{i}": float(v) for i, v in enumerate(X[0])}
    [answer] = served.predict([row])
    expected = source.predict_proba(X[:1])[0]
    assert answer["prediction"] == ("yes" if expected[1] > 0.5 else "no")
    assert answer["probabilities"]["yes"] == pytest.approx(expected[1], abs=1e-5)
    # another tenant sees neither the artifact nor the version
    with session_scope(engine) as session, pytest.raises(NotFound):
        artifacts.get_artifact(
            session=session, principal=outsider, model_id=model.id, artifact_id=artifact.id
        )
    with session_scope(engine) as session, pytest.raises(NotFound):
        external.register(session=session, ctx=ctx, principal=outsider, model_id=model.id, body=body)
    # the version keeps its own copy: deleting the artifact leaves it servable
    with session_scope(engine) as session:
        artifacts.delete(
            session=session, ctx=ctx, principal=member, model_id=model.id, artifact_id=artifact.id
        )
        assert session.get(TrainingRun, train_id).source_artifact_id is None
    assert load_model(settings, engine, key).predict([row])[0]["prediction"] == answer["prediction"]


def test_a_pickle_is_stored_but_never_loaded(engine, ctx, member, tmp_path):
    canary = tmp_path / "canary-was-unpickled"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Canary(canary)))
    with session_scope(engine) as session:
        model = draft_model(session, member)
    artifact = _upload(engine, ctx, member, model, path)
    assert artifact.format == ModelFormat.PICKLE
    body = ExternalVersionCreate(artifact_id=artifact.id, inputs=INPUTS, class_order=["no", "yes"])
    with session_scope(engine) as session, pytest.raises(Invalid, match=r"never loaded.*ONNX.*skops"):
        external.register(session=session, ctx=ctx, principal=member, model_id=model.id, body=body)
    assert not canary.exists()
    with session_scope(engine) as session:
        assert session.exec(select(TrainingRun).where(TrainingRun.predictor_id == model.id)).first() is None


def test_what_cannot_be_served_is_refused_before_anything_is_recorded(engine, ctx, member, tmp_path):
    path, _, _ = _onnx_classifier(tmp_path)
    junk = tmp_path / "fake.onnx"
    junk.write_bytes(b"this is not a model at all" * 10)
    with session_scope(engine) as session:
        model = draft_model(session, member)
    good = _upload(engine, ctx, member, model, path)
    bad = _upload(engine, ctx, member, model, junk)
    data = _upload(engine, ctx, member, model, junk, kind=ArtifactKind.DATA)
    assert bad.format == ModelFormat.UNKNOWN and data.format is None
    cases = [
        (ExternalVersionCreate(artifact_id=bad.id, inputs=INPUTS, class_order=["a", "b"]), "ONNX|format"),
        (ExternalVersionCreate(artifact_id=data.id, inputs=INPUTS, class_order=["a", "b"]), "not a model"),
        # three inputs for a model of four
        (ExternalVersionCreate(artifact_id=good.id, inputs=INPUTS[:3], class_order=["a", "b"]), "signature"),
        (ExternalVersionCreate(artifact_id=good.id, inputs=INPUTS), "class_order"),
        (ExternalVersionCreate(artifact_id=good.id, inputs=INPUTS, class_order=["a", "b", "c"]), "2 labels"),
    ]
    for body, message in cases:
        with session_scope(engine) as session, pytest.raises(Invalid, match=message):
            external.register(session=session, ctx=ctx, principal=member, model_id=model.id, body=body)
    with session_scope(engine) as session:
        assert session.exec(select(TrainingRun).where(TrainingRun.predictor_id == model.id)).first() is None
        assert (
            service.get_model(session=session, principal=member, model_id=model.id).status
            == ModelStatus.DRAFT
        )


def test_a_lightgbm_regressor_and_a_failed_upload_leaves_no_file(engine, settings, ctx, member, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    booster = lgb.train(
        {"objective": "regression", "verbose": -1}, lgb.Dataset(X, X[:, 0] * 2), num_boost_round=10
    )
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    with session_scope(engine) as session:
        model = draft_model(session, member, task="regression")
    artifact = _upload(engine, ctx, member, model, path)
    assert artifact.format == ModelFormat.LIGHTGBM
    with session_scope(engine) as session:
        run = external.register(
            session=session,
            ctx=ctx,
            principal=member,
            model_id=model.id,
            body=ExternalVersionCreate(artifact_id=artifact.id, inputs=INPUTS),
        )
        key = model_id(run, 0)
    [answer] = load_model(settings, engine, key).predict([{f"x{i}": float(v) for i, v in enumerate(X[0])}])
    assert answer["prediction"] == pytest.approx(booster.predict(X[:1])[0])
    # a request that fails after the file reached the store takes the file with it
    keys = []
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        made = artifacts.upload(
            session=session,
            ctx=ctx,
            principal=member,
            model_id=model.id,
            file_kind=ArtifactKind.OTHER,
            staged=_stage(path),
        )
        keys.append(made.storage_key)
        raise RuntimeError("the request failed later")
    with pytest.raises(NotFound):
        ctx.store.read_bytes(keys[0])


def test_the_signature_comes_from_the_model_factory_when_not_given(engine, settings, ctx, member, tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 4))
    booster = lgb.train(
        {"objective": "regression", "verbose": -1}, lgb.Dataset(X, X[:, 1]), num_boost_round=5
    )
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    schema = {"columns": [*INPUTS, {"name": "y", "data_type": "Float"}]}
    spec = {"inputs": [c["name"] for c in INPUTS], "targets": ["y"]}
    with session_scope(engine) as session:
        bare = draft_model(session, member, task="regression")
        model = draft_model(session, member, task="regression", schema=schema, spec=spec)
    for target in (bare, model):
        artifact = _upload(engine, ctx, member, target, path)
        body = ExternalVersionCreate(artifact_id=artifact.id)
        with session_scope(engine) as session:
            if target is bare:
                with pytest.raises(Invalid, match="no spec with inputs"):
                    external.register(session=session, ctx=ctx, principal=member, model_id=bare.id, body=body)
                continue
            run = external.register(session=session, ctx=ctx, principal=member, model_id=model.id, body=body)
            assert [c["name"] for c in run.columns if c["attribute"] == "Feature"] == spec["inputs"]


def test_kernel_shap_explains_against_a_typical_row_of_the_models_schema(
    engine, settings, ctx, member, tmp_path
):
    path, _, X = _onnx_classifier(tmp_path)
    medians = np.median(X, axis=0)
    schema = {
        "columns": [
            {"name": f"x{i}", "data_type": "Float", "min": -9.0, "max": 9.0, "bins": [-9.0, float(m), 9.0]}
            for i, m in enumerate(medians)
        ]
    }
    assert typical_row([("x0", "Float"), ("x9", "Float")], schema) is None  # x9 is not described
    assert typical_row([("x1", "Float")], schema) == {"x1": pytest.approx(float(medians[1]))}
    with session_scope(engine) as session:
        model = draft_model(session, member, schema=schema)
    artifact = _upload(engine, ctx, member, model, path)
    body = ExternalVersionCreate(artifact_id=artifact.id, inputs=INPUTS, class_order=["no", "yes"])
    with session_scope(engine) as session:
        key = model_id(
            external.register(session=session, ctx=ctx, principal=member, model_id=model.id, body=body), 0
        )
    served = load_model(settings, engine, key)
    assert served.background is not None
    np.testing.assert_allclose(served.background[0], medians, rtol=1e-5)
    [answer] = served.predict([{f"x{i}": float(v) for i, v in enumerate(X[0])}], explain=True)
    assert answer["explanation_method"] == "kernel_shap" and set(answer["explanation"]) == {
        "x0",
        "x1",
        "x2",
        "x3",
    }
