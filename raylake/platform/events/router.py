"""The events feed's routes: the WebSocket, and the tenants' webhooks with their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, WebSocket

from raylake.core.vocabulary import MAX_ID
from raylake.platform.deps import IdPath, PageDep, SessionDep, SettingsDep, TrainRead, TrainRun
from raylake.platform.events import service, socket
from raylake.schemas.common import Deleted
from raylake.schemas.events import (
    DeliveriesPublic,
    EventsPublic,
    WebhookCreate,
    WebhookPublic,
    WebhooksPublic,
    WebhookUpdate,
)

router = APIRouter(tags=["events"])


@router.websocket("/events/ws")
async def events_socket(websocket: WebSocket) -> None:
    """The caller's tenant's events as they happen (authenticate with the first message or the
    ``bearer`` subprotocol; needs ``train:read``)."""
    await socket.serve(websocket, websocket.app.state.feed)


@router.get("/events", response_model=EventsPublic)
def list_events(
    session: SessionDep,
    principal: TrainRead,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventsPublic:
    """The tenant's events after ``after``, oldest first: catching up after a WebSocket reconnects."""
    return service.tenant_events(session=session, principal=principal, after=after, limit=limit)


@router.post("/webhooks", response_model=WebhookPublic, status_code=201)
def create_webhook(
    session: SessionDep, settings: SettingsDep, principal: TrainRun, data: WebhookCreate
) -> WebhookPublic:
    """Register a webhook: events of the named types are POSTed to its URL, signed if it has a secret."""
    return service.create_webhook(session=session, settings=settings, principal=principal, data=data)


@router.get("/webhooks", response_model=WebhooksPublic)
def list_webhooks(session: SessionDep, principal: TrainRead, page: PageDep) -> WebhooksPublic:
    """A page of your tenant's webhooks, oldest first."""
    return service.list_webhooks(session=session, principal=principal, skip=page.skip, limit=page.limit)


@router.get("/webhooks/{webhook_id}", response_model=WebhookPublic)
def read_webhook(session: SessionDep, principal: TrainRead, webhook_id: IdPath) -> WebhookPublic:
    """One of your tenant's webhooks."""
    return service.get_webhook(session=session, principal=principal, webhook_id=webhook_id)


@router.patch("/webhooks/{webhook_id}", response_model=WebhookPublic)
def update_webhook(
    session: SessionDep, settings: SettingsDep, principal: TrainRun, webhook_id: IdPath, data: WebhookUpdate
) -> WebhookPublic:
    """Change a webhook's URL, event types, secret or whether it is on (an off one gets no new deliveries)."""
    return service.update_webhook(
        session=session, settings=settings, principal=principal, webhook_id=webhook_id, data=data
    )


@router.delete("/webhooks/{webhook_id}", response_model=Deleted)
def delete_webhook(session: SessionDep, principal: TrainRun, webhook_id: IdPath) -> Deleted:
    """Delete a webhook and its deliveries; pending ones are never sent."""
    service.delete_webhook(session=session, principal=principal, webhook_id=webhook_id)
    return Deleted(message=f"Webhook {webhook_id} deleted")


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveriesPublic)
def list_deliveries(
    session: SessionDep, principal: TrainRead, webhook_id: IdPath, page: PageDep
) -> DeliveriesPublic:
    """A page of a webhook's delivery attempts, newest first, with their status, attempts and last error."""
    return service.list_deliveries(
        session=session, principal=principal, webhook_id=webhook_id, skip=page.skip, limit=page.limit
    )
