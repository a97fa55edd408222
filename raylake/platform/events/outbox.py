"""Writing an event: into the outbox, in the transaction of the change it reports.

Jobs write events too (a run's progress, its end when the API is unreachable), so this module imports
no service: only the tables.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from raylake.core.vocabulary import EventType
from raylake.platform.events.models import Event, Webhook, WebhookDelivery


def emit(session: Session, *, tenant_id: str, type: EventType, payload: dict[str, Any]) -> Event:
    """Record an event in the caller's transaction, and a pending delivery for each of the tenant's
    active webhooks subscribed to its type; committed (or rolled back) with the change it reports."""
    data = json.loads(json.dumps(payload, default=str))  # what the store keeps is what clients get
    event = Event(tenant_id=tenant_id, type=EventType(type), payload=data)
    session.add(event)
    session.flush()
    assert event.id is not None
    hooks = session.exec(
        select(Webhook).where(Webhook.tenant_id == tenant_id, col(Webhook.is_active).is_(True))
    ).all()
    for hook in hooks:
        if event.type in hook.events:
            assert hook.id is not None
            session.add(WebhookDelivery(tenant_id=tenant_id, webhook_id=hook.id, event_id=event.id))
    return event
