"""A model's capture flag on both backends: on unless created without it, changed by an update, shown."""

from __future__ import annotations

from raylake.platform.db import session_scope
from raylake.platform.registry import service
from raylake.schemas.registry import ModelUpdate
from tests.factories import draft_model


def test_capture_is_on_by_default_and_switched_by_update(engine, member):
    with session_scope(engine) as session:
        captured = draft_model(session, member)
        quiet = draft_model(session, member, capture_predictions=False)
        assert service.public(session, captured).capture_predictions is True
        assert service.public(session, quiet).capture_predictions is False
        service.update_model(
            session=session, principal=member, model_id=quiet.id, data=ModelUpdate(capture_predictions=True)
        )
        service.update_model(session=session, principal=member, model_id=quiet.id, data=ModelUpdate())
        assert service.get_model(session=session, principal=member, model_id=quiet.id).capture_predictions
