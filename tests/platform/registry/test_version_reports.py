"""A worker's version reports through the app, without Ray (both backends): training-complete and
training-failure reach ``train/result``'s recording under the run's own secret; a missing or wrong token,
or an unknown model, is a 401."""

from __future__ import annotations

from fastapi.testclient import TestClient

from raylake.core.vocabulary import MAX_ID, JobStatus
from raylake.platform import callbacks
from raylake.platform.app import create_app
from raylake.platform.db import session_scope
from raylake.platform.training.models import TrainingRun
from tests.factories import add_version, draft_model


def test_a_workers_report_is_recorded_on_its_version_under_its_runs_secret(engine, settings, member):
    secret, secret_hash = callbacks.new_secret()
    with session_scope(engine) as session:
        model = draft_model(session, member)
        run = add_version(session, model, status=JobStatus.RUNNING, callback_secret_hash=secret_hash)
        model_id, train_id = model.id, run.id
    app = create_app(settings)
    try:
        client = TestClient(app)
        url = f"/api/v1/models/{model_id}/versions/v1/training-"
        signed = {"X-Callback-Token": secret}
        outside = {"metrics": {"accuracy": 1.0}, "artifact_path": "elsewhere/model"}
        assert client.post(url + "complete", json=outside).status_code == 401
        assert (
            client.post(url + "complete", json=outside, headers={"X-Callback-Token": "guess"}).status_code
            == 401
        )
        unknown = f"/api/v1/models/{MAX_ID}/versions/v1/training-failure"
        assert client.post(unknown, json={"reason": "x"}, headers=signed).status_code == 401
        # The reference's artifact_path is train/result's path: outside the run's folder it is refused.
        refused = client.post(
            url + "complete", json={**outside, "preprocess": {"storage_key": "elsewhere/pre"}}, headers=signed
        )
        assert refused.status_code == 422 and "artifacts must be under" in refused.text
        failed = client.post(url + "failure", json={"reason": "out of memory"}, headers=signed)
        assert failed.status_code == 200 and failed.json()["message"] == "Training failure received"
    finally:
        app.state.webhooks.stop()
    with session_scope(engine) as session:
        stored = session.get(TrainingRun, train_id)
        assert stored is not None and stored.status == JobStatus.FAILED and stored.error == "out of memory"
