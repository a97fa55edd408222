"""The events feed's logic: emitting an event (``outbox.emit``, re-exported) in the caller's transaction,
the tenants' webhooks, their deliveries, and the event body both channels send.

Nothing here commits: an event is written by the same transaction as the change it reports.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from raylake.core.vocabulary import DeliveryStatus, EventType
from raylake.platform.config import Settings
from raylake.platform.db import paged
from raylake.platform.errors import Invalid
from raylake.platform.events.models import Event, Webhook, WebhookDelivery
from raylake.platform.events.outbox import emit as emit  # jobs write events too: it imports no service
from raylake.platform.tenancy import Principal, get_scoped, scoped
from raylake.schemas.events import (
    DeliveriesPublic,
    DeliveryPublic,
    EventPublic,
    EventsPublic,
    WebhookCreate,
    WebhookPublic,
    WebhooksPublic,
    WebhookUpdate,
)

SIGNATURE_HEADER = "X-Raylake-Signature"


def iso_z(moment: datetime) -> str:
    """A timestamp as the feed writes it: ISO 8601 in UTC, ending in Z."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def body(event: Event) -> dict[str, Any]:
    """The event as WebSocket clients receive it and webhooks are POSTed it."""
    return {
        "id": event.id,
        "type": event.type,
        "tenant_id": event.tenant_id,
        "created_at": iso_z(event.created_at),
        "data": event.payload,
    }


def encode(event: Event) -> bytes:
    """The exact bytes a webhook is sent (and its signature signs)."""
    return json.dumps(body(event), separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, content: bytes) -> str:
    """The ``X-Raylake-Signature`` value: ``sha256=`` and the HMAC-SHA256 of the body, in hex."""
    return "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def latest_event_id(session: Session) -> int:
    """The newest event's id in the whole outbox (0 when empty)."""
    return int(session.exec(select(func.coalesce(func.max(Event.id), 0))).one() or 0)


def events_after(session: Session, *, after: int, limit: int = 500) -> list[Event]:
    """Every tenant's events numbered above ``after``, oldest first (the feed's cheap indexed poll)."""
    return list(session.exec(select(Event).where(col(Event.id) > after).order_by(col(Event.id)).limit(limit)))


def tenant_events(*, session: Session, principal: Principal, after: int, limit: int) -> EventsPublic:
    """The caller's tenant's events numbered above ``after``, oldest first: what a client missed while
    its WebSocket was away (``next_after`` is where to continue, or to start the socket from)."""
    found = scoped(select(Event), Event, principal).where(col(Event.id) > after)
    events = list(session.exec(found.order_by(col(Event.id)).limit(limit)).all())
    items = [EventPublic.model_validate(body(e)) for e in events]
    return EventsPublic(items=items, next_after=items[-1].id if items else after)


def prune(session: Session, *, before: datetime) -> int:
    """Forget events created before ``before`` and their deliveries: how many events went."""
    old = select(Event.id).where(col(Event.created_at) < before)
    session.exec(delete(WebhookDelivery).where(col(WebhookDelivery.event_id).in_(old)))
    result = session.exec(delete(Event).where(col(Event.created_at) < before))
    return int(result.rowcount or 0)


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The webhook targets the operator allows: host names, or host:port pairs (lower case)."""
    return frozenset(h.strip().lower() for h in settings.webhook_allowed_hosts.split(",") if h.strip())


def check_url(settings: Settings, url: str) -> str:
    """The URL when a webhook may target it (http(s), no credentials, an allowed host), else 422."""
    hosts = allowed_hosts(settings)
    if not hosts:
        raise Invalid("Webhooks are disabled on this platform (no allowed hosts are configured)")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise Invalid("A webhook URL may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Invalid("The webhook URL is not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise Invalid("A webhook URL must be http or https")
    if "@" in parts.netloc:
        raise Invalid("A webhook URL may not carry a user name or password")
    host = (parts.hostname or "").lower()
    if not host:
        raise Invalid("The webhook URL has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    named = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if host not in hosts and named not in hosts:
        raise Invalid(f"Host {host!r} is not an allowed webhook target")
    return url


def webhook_public(hook: Webhook) -> WebhookPublic:
    """A webhook as the API shows it (its secret only as whether it signs)."""
    assert hook.id is not None
    return WebhookPublic(
        id=hook.id,
        url=hook.url,
        events=[EventType(e) for e in hook.events],
        signed=bool(hook.secret),
        is_active=hook.is_active,
        created_by=hook.created_by,
        created_at=hook.created_at,
    )


def create_webhook(
    *, session: Session, settings: Settings, principal: Principal, data: WebhookCreate
) -> WebhookPublic:
    """Register a webhook of the caller's tenant for the named event types."""
    url = check_url(settings, data.url)
    events = sorted({EventType(e).value for e in data.events})
    hook = Webhook(
        tenant_id=principal.tenant_id,
        url=url,
        events=events,
        secret=data.secret.get_secret_value() if data.secret is not None else None,
        created_by=principal.username,
    )
    session.add(hook)
    session.flush()
    return webhook_public(hook)


def update_webhook(
    *, session: Session, settings: Settings, principal: Principal, webhook_id: int, data: WebhookUpdate
) -> WebhookPublic:
    """Change a webhook of the caller's tenant: a switched-off one gets no new deliveries."""
    hook = get_scoped(session, Webhook, webhook_id, principal, "Webhook")
    if data.url is not None:
        hook.url = check_url(settings, data.url)
    if data.events is not None:
        hook.events = sorted({EventType(e).value for e in data.events})
    if data.secret is not None:
        secret = data.secret.get_secret_value()
        if secret and len(secret) < 8:
            raise Invalid("a webhook secret has at least 8 characters (an empty one removes it)")
        hook.secret = secret or None
    if data.is_active is not None:
        hook.is_active = data.is_active
    session.add(hook)
    session.flush()
    return webhook_public(hook)


def list_webhooks(*, session: Session, principal: Principal, skip: int, limit: int) -> WebhooksPublic:
    """The caller's tenant's webhooks, oldest first."""
    stmt = scoped(select(Webhook), Webhook, principal).order_by(col(Webhook.id))
    rows, total = paged(session, stmt, skip=skip, limit=limit)
    return WebhooksPublic(data=[webhook_public(h) for h in rows], count=total)


def get_webhook(*, session: Session, principal: Principal, webhook_id: int) -> WebhookPublic:
    """One webhook of the caller's tenant (another tenant's is a 404)."""
    return webhook_public(get_scoped(session, Webhook, webhook_id, principal, "Webhook"))


def delete_webhook(*, session: Session, principal: Principal, webhook_id: int) -> None:
    """Remove a webhook and its deliveries (pending ones are never sent)."""
    hook = get_scoped(session, Webhook, webhook_id, principal, "Webhook")
    session.exec(delete(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == hook.id))
    session.delete(hook)
    session.flush()


def delivery_public(row: WebhookDelivery) -> DeliveryPublic:
    """A webhook delivery attempt as the API shows it."""
    assert row.id is not None
    return DeliveryPublic(
        id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        last_attempt_at=row.last_attempt_at,
        next_attempt_at=row.next_attempt_at if row.status == DeliveryStatus.PENDING else None,
        delivered_at=row.delivered_at,
    )


def list_deliveries(
    *, session: Session, principal: Principal, webhook_id: int, skip: int, limit: int
) -> DeliveriesPublic:
    """A webhook's deliveries, newest first."""
    hook = get_scoped(session, Webhook, webhook_id, principal, "Webhook")
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    rows, total = paged(session, stmt.order_by(col(WebhookDelivery.id).desc()), skip=skip, limit=limit)
    return DeliveriesPublic(data=[delivery_public(r) for r in rows], count=total)
