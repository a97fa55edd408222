"""The events feed on the wire: an event as WebSockets and webhooks receive it, webhooks, deliveries."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr

from raylake.core.vocabulary import DeliveryStatus, EventType
from raylake.schemas.common import Strict


class EventPublic(BaseModel):
    """One event: what a WebSocket is sent and what a webhook is POSTed (the same JSON)."""

    id: int
    type: EventType
    tenant_id: str
    created_at: str = Field(description="ISO 8601, UTC, ending in Z")
    data: dict[str, Any] = Field(description="the ids of what the event is about, and its details")


class EventsPublic(BaseModel):
    """A page of the tenant's events after an id, oldest first."""

    items: list[EventPublic]
    next_after: int = Field(description="the last id in this page (``after`` when it is empty)")


class WebhookCreate(Strict):
    url: Annotated[str, Field(min_length=1, max_length=2048, description="http(s) URL on an allowed host")]
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))]
    secret: Annotated[
        SecretStr | None,
        Field(min_length=8, max_length=256, description="signs each delivery; never returned"),
    ] = None


class WebhookUpdate(Strict):
    """Any of a webhook's target, events, secret (an empty string removes it) and whether it is on."""

    url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))] | None = None
    secret: Annotated[SecretStr, Field(max_length=256)] | None = None
    is_active: bool | None = None


class WebhookPublic(BaseModel):
    """A webhook as answered: never its secret, only whether it has one."""

    id: int
    url: str
    events: list[EventType]
    signed: bool = Field(description="deliveries carry X-Raylake-Signature (a secret was given)")
    is_active: bool
    created_by: str
    created_at: datetime


class WebhooksPublic(BaseModel):
    data: list[WebhookPublic]
    count: int


class DeliveryPublic(BaseModel):
    id: int
    webhook_id: int
    event_id: int
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="when it is tried next (pending only)")
    delivered_at: datetime | None


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic]
    count: int
