"""The events feed's tables: the outbox (``events``), the tenants' webhooks and their deliveries.

An event row is written in the same transaction as the change it reports, so every API replica reads
the same feed and a restart loses nothing; a webhook's delivery rows are written with it.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from raylake.core.vocabulary import DeliveryStatus
from raylake.platform.clock import utcnow


class Event(SQLModel, table=True):
    """One thing that happened in a tenant, in the order the store numbered it."""

    __tablename__ = "events"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    type: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Webhook(SQLModel, table=True):
    """A tenant's URL that is sent the events it subscribes to (signed when it has a secret)."""

    __tablename__ = "webhooks"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    url: str = Field(max_length=2048)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str | None = Field(default=None, max_length=256)
    is_active: bool = True
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event sent (or to be sent) to one webhook: its attempts and their outcome."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=36)
    webhook_id: int = Field(foreign_key="webhooks.id", index=True, ondelete="CASCADE")
    event_id: int = Field(foreign_key="events.id", index=True, ondelete="CASCADE")
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    # A dispatcher holds the delivery until then (one conditional UPDATE claims it): no other replica's
    # dispatcher sends it meanwhile.
    claimed_until: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
