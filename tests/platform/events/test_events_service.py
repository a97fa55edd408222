"""The events feed's service: the outbox, webhooks and their deliveries, on both backends, with the
dispatcher sending to a real HTTP server on the loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from raylake.core.vocabulary import DeliveryStatus, EventType
from raylake.platform.clock import utcnow
from raylake.platform.config import Settings
from raylake.platform.db import session_scope
from raylake.platform.errors import Invalid, NotFound
from raylake.platform.events import service
from raylake.platform.events.dispatcher import Dispatcher
from raylake.platform.events.models import Event, Webhook, WebhookDelivery
from raylake.platform.jobs import RayJobs
from raylake.platform.tenants import service as tenants
from raylake.schemas.events import WebhookCreate
from tests.factories import create_tenant, create_user, superuser_principal
from tests.inventory import inventory

SECRET = "a-webhook-secret-of-ours"


class Receiver:
    """A real HTTP server on the loopback that records each POST and answers the status scripted for its
    path (the last one repeats; 200 when none is)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.script: dict[str, list[int]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                content = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, dict(self.headers.items()), content))
                codes = receiver.script.get(self.path, [200])
                code = codes.pop(0) if len(codes) > 1 else codes[0]
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self, path: str) -> list[dict]:
        return [json.loads(content) for p, _, content in self.received if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def hooked(settings) -> Settings:
    """The store's settings with the loopback allowed as a webhook target and quick retries."""
    return settings.model_copy(
        update={
            "webhook_allowed_hosts": "127.0.0.1, hooks.example.com:8443",
            "webhook_backoff_s": 0.01,
            "webhook_max_attempts": 3,
            "webhook_timeout_s": 2.0,
        }
    )


def _hook(engine, settings, principal, url, events, secret=None):
    with session_scope(engine) as session:
        return service.create_webhook(
            session=session,
            settings=settings,
            principal=principal,
            data=WebhookCreate(url=url, events=events, secret=secret),
        )


def _emit(engine, tenant_id, type=EventType.RUN_COMPLETED, **data) -> int:
    with session_scope(engine) as session:
        event = service.emit(session, tenant_id=tenant_id, type=type, payload=data or {"train_id": 1})
    assert event.id is not None
    return event.id


def _deliveries(engine, principal, webhook_id):
    with session_scope(engine) as session:
        return service.list_deliveries(
            session=session, principal=principal, webhook_id=webhook_id, skip=0, limit=100
        ).data


def _drain(dispatcher: Dispatcher, rounds: int = 50) -> None:
    """Run the dispatcher until nothing is due (retries wait out their short backoff)."""
    import time

    for _ in range(rounds):
        if not dispatcher.run_once():
            time.sleep(0.03)


def test_emit_writes_the_event_and_deliveries_for_matching_webhooks_only(engine, hooked, member, receiver):
    runs = _hook(engine, hooked, member, f"{receiver.url}/runs", ["run.completed", "run.failed"])
    batches = _hook(engine, hooked, member, f"{receiver.url}/batches", ["batch.completed"])
    event_id = _emit(engine, member.tenant_id, EventType.RUN_COMPLETED, train_id=7)

    with session_scope(engine) as session:
        event = session.get(Event, event_id)
        assert event is not None and event.type == "run.completed" and event.payload == {"train_id": 7}
        rows = session.exec(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)).all()
    assert [(r.webhook_id, r.status) for r in rows] == [(runs.id, DeliveryStatus.PENDING)]
    assert _deliveries(engine, member, batches.id) == []
    body = service.body(event)
    assert body["id"] == event_id and body["tenant_id"] == member.tenant_id
    assert body["data"] == {"train_id": 7}
    assert body["created_at"].endswith("Z") and body["type"] == "run.completed"


def test_a_rolled_back_change_leaves_no_event(engine, member):
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        event = service.emit(session, tenant_id=member.tenant_id, type=EventType.RUN_FAILED, payload={})
        event_id = event.id
        raise RuntimeError("the change failed")
    with session_scope(engine) as session:
        assert session.get(Event, event_id) is None


def test_webhooks_are_tenant_scoped(engine, hooked, member, receiver):
    outsider = create_user(engine, hooked, tenant_id=create_tenant(engine), roles=["data_scientist"])
    hook = _hook(engine, hooked, member, f"{receiver.url}/mine", ["run.completed"])
    _emit(engine, outsider.tenant_id, EventType.RUN_COMPLETED)  # another tenant's event: not ours
    assert _deliveries(engine, member, hook.id) == []
    with session_scope(engine) as session:
        listed = service.list_webhooks(session=session, principal=outsider, skip=0, limit=100)
        assert hook.id not in [h.id for h in listed.data]
        for call in (service.get_webhook, service.delete_webhook):
            with pytest.raises(NotFound):
                call(session=session, principal=outsider, webhook_id=hook.id)
        with pytest.raises(NotFound):
            service.list_deliveries(session=session, principal=outsider, webhook_id=hook.id, skip=0, limit=1)
        assert service.get_webhook(session=session, principal=member, webhook_id=hook.id).id == hook.id


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",  # not an allowed host
        "http://localhost:8000/",
        "http://hooks.example.com/",  # allowed on port 8443 only
        "ftp://127.0.0.1/x",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1/x",
        "http://127.0.0.1@evil.example.com/",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1/a b",
        "/relative",
    ],
)
def test_only_allowed_hosts_may_be_targets(engine, hooked, member, url):
    with pytest.raises(Invalid), session_scope(engine) as session:
        service.create_webhook(
            session=session,
            settings=hooked,
            principal=member,
            data=WebhookCreate(url=url, events=["run.completed"]),
        )


def test_allowed_urls_and_no_webhooks_when_no_host_is_allowed(engine, settings, hooked, member):
    assert (
        service.check_url(hooked, "https://HOOKS.example.com:8443/in") == "https://HOOKS.example.com:8443/in"
    )
    assert service.check_url(hooked, "http://127.0.0.1:9/any")
    assert settings.webhook_allowed_hosts == ""
    with pytest.raises(Invalid, match="disabled"):
        service.check_url(settings, "http://127.0.0.1/")


def test_unknown_event_names_are_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        WebhookCreate(url="http://127.0.0.1/", events=["run.completed", "run.exploded"])
    with pytest.raises(ValidationError):
        WebhookCreate(url="http://127.0.0.1/", events=[])


def test_the_secret_is_never_answered(engine, hooked, member, receiver):
    hook = _hook(engine, hooked, member, f"{receiver.url}/s", ["run.completed"], secret=SECRET)
    with session_scope(engine) as session:
        answers = [
            hook,
            service.get_webhook(session=session, principal=member, webhook_id=hook.id),
            service.list_webhooks(session=session, principal=member, skip=0, limit=100),
        ]
    for answer in answers:
        assert SECRET not in answer.model_dump_json()
    assert hook.signed and "secret" not in hook.model_dump()
    assert SECRET not in repr(WebhookCreate(url="http://127.0.0.1/", events=["run.completed"], secret=SECRET))


def test_deliveries_are_signed_retried_and_recorded(engine, hooked, member, receiver):
    signed = _hook(engine, hooked, member, f"{receiver.url}/signed", ["run.completed"], secret=SECRET)
    plain = _hook(engine, hooked, member, f"{receiver.url}/plain", ["run.completed"])
    receiver.script["/signed"] = [500, 200]  # fails once, then succeeds
    event_id = _emit(engine, member.tenant_id, EventType.RUN_COMPLETED, train_id=3)

    dispatcher = Dispatcher(engine, hooked)
    try:
        _drain(dispatcher)
    finally:
        dispatcher.stop()

    attempts = [(h, c) for p, h, c in receiver.received if p == "/signed"]
    assert len(attempts) == 2 and attempts[0][1] == attempts[1][1]
    headers, content = attempts[-1]
    expected = "sha256=" + hmac.new(SECRET.encode(), content, hashlib.sha256).hexdigest()
    assert headers["X-Raylake-Signature"] == expected
    assert headers["Content-Type"] == "application/json" and headers["X-Raylake-Event"] == "run.completed"
    body = json.loads(content)
    assert body["id"] == event_id and body["data"] == {"train_id": 3} and body["type"] == "run.completed"

    [(_, plain_headers, _)] = [r for r in receiver.received if r[0] == "/plain"]
    assert "X-Raylake-Signature" not in plain_headers

    [delivery] = _deliveries(engine, member, signed.id)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
    assert delivery.last_status_code == 200 and delivery.last_error is None
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    [delivery] = _deliveries(engine, member, plain.id)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1


def test_a_delivery_gives_up_after_its_attempts(engine, hooked, member, receiver):
    down = _hook(engine, hooked, member, f"{receiver.url}/down", ["run.failed"])
    receiver.script["/down"] = [503]
    _emit(engine, member.tenant_id, EventType.RUN_FAILED, train_id=4)
    dispatcher = Dispatcher(engine, hooked)
    try:
        _drain(dispatcher)
    finally:
        dispatcher.stop()
    assert len(receiver.bodies("/down")) == hooked.webhook_max_attempts == 3
    [delivery] = _deliveries(engine, member, down.id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert delivery.last_status_code == 503 and delivery.last_error == "HTTP 503"


def test_an_unreachable_target_is_recorded_and_a_narrowed_allow_list_fails_at_once(
    engine, hooked, member, receiver
):
    gone = _hook(engine, hooked, member, "http://127.0.0.1:9/nothing-listens", ["batch.completed"])
    later = _hook(engine, hooked, member, "https://hooks.example.com:8443/in", ["batch.completed"])
    _emit(engine, member.tenant_id, EventType.BATCH_COMPLETED, prediction_id=5)
    narrowed = hooked.model_copy(update={"webhook_allowed_hosts": "127.0.0.1"})
    dispatcher = Dispatcher(engine, narrowed)
    try:
        _drain(dispatcher)
    finally:
        dispatcher.stop()
    [delivery] = _deliveries(engine, member, gone.id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert delivery.last_status_code is None and "ConnectError" in (delivery.last_error or "")
    [delivery] = _deliveries(engine, member, later.id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "no longer an allowed target" in (delivery.last_error or "")


def test_two_dispatchers_never_send_one_delivery_twice(engine, hooked, member, receiver):
    _hook(engine, hooked, member, f"{receiver.url}/race", ["run.progress"])
    ids = [_emit(engine, member.tenant_id, EventType.RUN_PROGRESS, train_id=1, step=i) for i in range(30)]
    dispatchers = [Dispatcher(engine, hooked), Dispatcher(engine, hooked)]
    threads = [threading.Thread(target=_drain, args=(d, 15)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for dispatcher in dispatchers:
        dispatcher.stop()
    sent = sorted(body["id"] for body in receiver.bodies("/race"))
    assert sent == ids


def test_deleting_a_webhook_drops_its_deliveries(engine, hooked, member, receiver):
    hook = _hook(engine, hooked, member, f"{receiver.url}/del", ["shap.completed"])
    _emit(engine, member.tenant_id, EventType.SHAP_COMPLETED, train_id=9)
    with session_scope(engine) as session:
        service.delete_webhook(session=session, principal=member, webhook_id=hook.id)
    with session_scope(engine) as session:
        assert session.exec(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)).all() == []
        with pytest.raises(NotFound):
            service.get_webhook(session=session, principal=member, webhook_id=hook.id)


def test_old_events_are_pruned_with_their_deliveries(engine, hooked, member, receiver):
    hook = _hook(engine, hooked, member, f"{receiver.url}/old", ["run.completed"])
    old_id = _emit(engine, member.tenant_id, EventType.RUN_COMPLETED)
    with session_scope(engine) as session:
        event = session.get(Event, old_id)
        event.created_at = utcnow() - timedelta(days=30)
        session.add(event)
    new_id = _emit(engine, member.tenant_id, EventType.RUN_COMPLETED)
    with session_scope(engine) as session:
        assert service.prune(session, before=utcnow() - timedelta(days=7)) >= 1
    with session_scope(engine) as session:
        assert session.get(Event, old_id) is None and session.get(Event, new_id) is not None
    assert [d.event_id for d in _deliveries(engine, member, hook.id)] == [new_id]


def test_deleting_a_tenant_removes_its_events_webhooks_and_deliveries(engine, hooked, ctx, receiver):
    admin = create_user(engine, hooked, tenant_id=create_tenant(engine), roles=["admin"])
    other = create_user(engine, hooked, tenant_id=create_tenant(engine), roles=["admin"])
    for principal in (admin, other):
        _hook(engine, hooked, principal, f"{receiver.url}/t", ["run.completed"], secret=SECRET)
        _emit(engine, principal.tenant_id, EventType.RUN_COMPLETED)
    before = inventory(engine, ctx, admin.tenant_id)
    assert {"events", "webhooks", "webhook_deliveries"} <= set(before.rows)
    others = inventory(engine, ctx, other.tenant_id)
    with session_scope(engine) as session:
        tenants.delete_tenant(
            session=session,
            settings=hooked,
            ctx=ctx,
            jobs=RayJobs(dashboard_url="http://127.0.0.1:9", token="unused"),
            principal=superuser_principal(engine, hooked),
            tenant_id=admin.tenant_id,
        )
    assert inventory(engine, ctx, admin.tenant_id).is_empty()
    assert inventory(engine, ctx, other.tenant_id) == others


def test_a_switched_off_webhooks_pending_delivery_fails_unsent(engine, hooked, member, receiver):
    hook = _hook(engine, hooked, member, f"{receiver.url}/off", ["run.completed"])
    _emit(engine, member.tenant_id, EventType.RUN_COMPLETED)
    with session_scope(engine) as session:
        row = session.get(Webhook, hook.id)
        row.is_active = False
        session.add(row)
    dispatcher = Dispatcher(engine, hooked)
    try:
        _drain(dispatcher, rounds=3)
    finally:
        dispatcher.stop()
    [delivery] = _deliveries(engine, member, hook.id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert receiver.bodies("/off") == []
