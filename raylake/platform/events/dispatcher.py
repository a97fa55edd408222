"""Webhook deliveries, sent from the outbox by a daemon thread in each API replica.

A delivery is claimed by one conditional UPDATE (pending, due, and not held by another dispatcher), so
two replicas never send it at the same time; the claim counts the attempt, so a replica that dies
mid-send cannot retry a delivery forever. Each POST has a short timeout and follows no redirect; a 2xx
delivers, anything else is retried after a delay that doubles, until the attempts run out (``failed``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select

from raylake import __version__
from raylake.core.vocabulary import DeliveryStatus
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.errors import Invalid
from raylake.platform.events import service
from raylake.platform.events.models import Event, Webhook, WebhookDelivery

log = logging.getLogger(__name__)

POLL_S = 0.5
BATCH = 20
PRUNE_EVERY_S = 3600.0
MAX_ERROR = 500
NOT_ALLOWED = "the webhook's host is no longer an allowed target"
DISABLED = "the webhook is switched off"
FINAL_ERRORS = (NOT_ALLOWED, DISABLED)  # retrying cannot help: failed at once


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery: what to send where."""

    delivery_id: int
    webhook_id: int
    url: str
    secret: str | None
    event_type: str
    content: bytes


def claim_due(session: Session, *, lease_s: float, limit: int = BATCH) -> list[int]:
    """Claim up to ``limit`` due deliveries for this dispatcher: the ids it won (one conditional UPDATE
    each, which another replica racing for the same row loses)."""
    now = utcnow()
    due = (
        col(WebhookDelivery.status) == DeliveryStatus.PENDING,
        col(WebhookDelivery.next_attempt_at) <= now,
        or_(col(WebhookDelivery.claimed_until).is_(None), col(WebhookDelivery.claimed_until) < now),
    )
    candidates = session.exec(
        select(WebhookDelivery.id).where(*due).order_by(col(WebhookDelivery.id)).limit(limit)
    ).all()
    won: list[int] = []
    for delivery_id in candidates:
        assert delivery_id is not None
        result = session.exec(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery_id, *due)
            .values(
                claimed_until=now + timedelta(seconds=lease_s),
                attempts=col(WebhookDelivery.attempts) + 1,
                last_attempt_at=now,
            )
        )
        if result.rowcount == 1:
            won.append(delivery_id)
    return won


def outgoing(session: Session, delivery_id: int) -> Outgoing | None:
    """What a claimed delivery sends (None when its webhook is gone or switched off)."""
    row = session.exec(
        select(WebhookDelivery, Webhook, Event)
        .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
        .join(Event, col(Event.id) == col(WebhookDelivery.event_id))
        .where(WebhookDelivery.id == delivery_id)
    ).first()
    if row is None or not row[1].is_active:
        return None
    delivery, hook, event = row
    assert delivery.id is not None and hook.id is not None
    return Outgoing(delivery.id, hook.id, hook.url, hook.secret, event.type, service.encode(event))


def record(
    session: Session, *, delivery_id: int, status_code: int | None, error: str | None, settings: Settings
) -> DeliveryStatus | None:
    """Write an attempt's outcome: delivered on a 2xx, else retried later or, out of attempts, failed."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.status != DeliveryStatus.PENDING:
        return None  # its webhook was deleted meanwhile
    now = utcnow()
    row.last_status_code, row.last_error, row.claimed_until = status_code, error, None
    if status_code is not None and 200 <= status_code < 300:
        row.status, row.delivered_at, row.last_error = DeliveryStatus.DELIVERED, now, None
    elif row.attempts >= settings.webhook_max_attempts or error in FINAL_ERRORS:
        row.status = DeliveryStatus.FAILED
    else:
        delay = settings.webhook_backoff_s * 2 ** max(row.attempts - 1, 0)
        row.next_attempt_at = now + timedelta(seconds=delay)
    session.add(row)
    return DeliveryStatus(row.status)


def send(client: httpx.Client, settings: Settings, out: Outgoing) -> tuple[int | None, str | None]:
    """POST one delivery: the response's status code, or the reason no response came."""
    try:
        service.check_url(settings, out.url)  # the operator may have narrowed the allowed hosts since
    except Invalid:
        return None, NOT_ALLOWED
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"raylake-webhooks/{__version__}",
        "X-Raylake-Event": out.event_type,
        "X-Raylake-Delivery": str(out.delivery_id),
    }
    if out.secret:
        headers[service.SIGNATURE_HEADER] = service.sign(out.secret, out.content)
    try:
        response = client.post(out.url, content=out.content, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


class Dispatcher:
    """Sends this replica's share of the due webhook deliveries; ``start`` runs it in a daemon thread."""

    def __init__(self, engine: Engine, settings: Settings, *, poll_s: float = POLL_S) -> None:
        self.engine = engine
        self.settings = settings
        self.poll_s = poll_s
        self.lease_s = max(30.0, 3 * settings.webhook_timeout_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(
            timeout=settings.webhook_timeout_s, follow_redirects=False, trust_env=False
        )

    def run_once(self) -> int:
        """Claim the due deliveries, send them and record each outcome: how many it handled."""
        with session_scope(self.engine) as session:
            claimed = claim_due(session, lease_s=self.lease_s)
        sent = 0
        for delivery_id in claimed:
            with session_scope(self.engine) as session:
                out = outgoing(session, delivery_id)
            status_code, error = (None, DISABLED) if out is None else send(self._client, self.settings, out)
            with session_scope(self.engine) as session:
                outcome = record(
                    session,
                    delivery_id=delivery_id,
                    status_code=status_code,
                    error=error,
                    settings=self.settings,
                )
            log.info("webhook delivery %s: %s", delivery_id, outcome)
            sent += 1
        return sent

    def prune(self) -> None:
        """Drop events past the retention period, with their deliveries."""
        before = utcnow() - timedelta(days=self.settings.events_retention_days)
        with session_scope(self.engine) as session:
            gone = service.prune(session, before=before)
        if gone:
            log.info("pruned %d events older than %s", gone, before.isoformat())

    def _loop(self) -> None:
        enabled = bool(service.allowed_hosts(self.settings))
        next_prune = time.monotonic() + 60.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_EVERY_S
                    self.prune()
                if enabled and self.run_once():
                    continue
            except Exception:  # the store is busy or unreachable: try again on the next round
                log.exception("webhook dispatcher round failed")
            self._stop.wait(self.poll_s if enabled else 60.0)

    def start(self) -> Dispatcher:
        """Start delivering in a daemon thread; the dispatcher itself."""
        self._thread = threading.Thread(target=self._loop, name="raylake-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop delivering, waiting for the thread, and close the HTTP client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._client.close()
