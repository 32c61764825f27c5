"""The outbox and signed webhooks: pure rules, then real deliveries to a local HTTP receiver, on
SQLite and PostgreSQL.

The database is shared by the whole session, so a round of ``deliver_due`` may also pick up other
tests' deliveries: every receiver listens on its own random path and answers 404 to anything else,
and assertions look only at this test's receiver and rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from polis.kernel.errors import Conflict, InvalidInput, NotFound
from polis.kernel.time import utc_now
from polis.notify.webhooks import HttpWebhookSender
from polis.services import idempotency, outbox, tenants, webhooks
from polis.services.idempotency import IdempotentRequest
from polis.services.webhooks import DeliveryReport, RetryPolicy
from polis.store import SqlUnitOfWork, UnitOfWork
from polis.store.tables import AuditLogRow
from polis.store.tables_platform import OutboxRow, WebhookDeliveryRow

SECRET = "whsec_test"
BODY = b'{"id":1,"type":"window.activated"}'
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class MaxRandom(random.Random):
    """Jitter that always draws the ceiling (so delays are predictable)."""

    def uniform(self, a: float, b: float) -> float:
        return b


# --- pure rules ----------------------------------------------------------------------------------


def test_a_signature_made_by_polis_verifies() -> None:
    header = webhooks.signature_header(SECRET, int(T0.timestamp()), BODY)
    assert header.startswith(f"t={int(T0.timestamp())},v1=")
    assert webhooks.verify_signature(SECRET, header, BODY, 300, now=T0 + timedelta(seconds=299))
    assert webhooks.verify_signature(SECRET, header, BODY.decode(), now=T0)


def test_a_tampered_body_a_wrong_secret_or_a_stale_timestamp_fail() -> None:
    header = webhooks.signature_header(SECRET, int(T0.timestamp()), BODY)
    assert not webhooks.verify_signature(SECRET, header, BODY + b" ", now=T0)
    assert not webhooks.verify_signature("whsec_other", header, BODY, now=T0)
    assert not webhooks.verify_signature(SECRET, header, BODY, 300, now=T0 + timedelta(minutes=6))
    assert not webhooks.verify_signature(
        SECRET, header, BODY, timedelta(seconds=10), now=T0 - timedelta(seconds=11)
    )


@pytest.mark.parametrize("header", ["", "v1=abc", "t=abc,v1=abc", "t=1", "nonsense"])
def test_a_malformed_signature_header_fails(header: str) -> None:
    assert not webhooks.verify_signature(SECRET, header, BODY, now=T0)


def test_any_of_several_signatures_may_match_during_a_secret_rotation() -> None:
    t = int(T0.timestamp())
    header = f"t={t},v1={webhooks.sign('whsec_old', t, BODY)},v1={webhooks.sign(SECRET, t, BODY)}"
    assert webhooks.verify_signature(SECRET, header, BODY, now=T0)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert webhooks.sign(SECRET, 1_700_000_000, BODY) == expected


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=20)
    delays = [webhooks.backoff(n, policy, MaxRandom()).total_seconds() for n in range(1, 13)]
    assert delays[:5] == [30, 60, 120, 240, 480]
    assert delays[-2:] == [6 * 3600, 6 * 3600]
    assert max(delays) == 6 * 3600


def test_backoff_has_full_jitter_never_below_one_second_and_is_reproducible() -> None:
    policy = RetryPolicy()
    first = [webhooks.backoff(5, policy, random.Random(7)) for _ in range(3)]
    again = [webhooks.backoff(5, policy, random.Random(7)) for _ in range(3)]
    assert first == again
    draws = [
        webhooks.backoff(3, policy, random.Random(seed)).total_seconds() for seed in range(200)
    ]
    assert all(1 <= d <= 120 for d in draws)
    assert min(draws) < 30 < max(draws)  # spread over the whole range, not bunched at the top


def test_retry_policy_values_are_checked() -> None:
    with pytest.raises(InvalidInput):
        RetryPolicy(max_attempts=0)
    with pytest.raises(InvalidInput):
        RetryPolicy(base=timedelta(hours=1), cap=timedelta(minutes=1))
    with pytest.raises(InvalidInput):
        webhooks.backoff(0, RetryPolicy(), random.Random())
    assert RetryPolicy.of(3, 10, 100).cap == timedelta(seconds=100)


@pytest.mark.parametrize(
    ("filters", "event_type", "wanted"),
    [
        ([], "window.activated", True),
        (["*"], "claim.status_changed", True),
        (["window.activated"], "window.activated", True),
        (["window.activated"], "window.expired", False),
        (["window.*"], "window.expired", True),
        (["window.*"], "windows.expired", False),
        (["claim.*", "reminder.due"], "reminder.due", True),
    ],
)
def test_endpoint_filters(filters: list[str], event_type: str, wanted: bool) -> None:
    assert webhooks.matches(filters, event_type) is wanted


# --- a receiver ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A local HTTP server on a free port; answers the next queued status (200 when none)."""

    def __init__(self) -> None:
        self.path = f"/hooks/{uuid.uuid4().hex}"
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = 404
                if self.path == receiver.path:
                    with receiver._lock:
                        receiver.requests.append(Received(dict(self.headers.items()), body))
                        status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def tenant_id(uow: SqlUnitOfWork, unique_name: Callable[[str], str]) -> str:
    return tenants.create_tenant(uow, unique_name("tenant"), actor="test").id


def _factory(factory: sessionmaker[Session]) -> Callable[[], UnitOfWork]:
    return lambda: SqlUnitOfWork(factory)


def _publish(uow: SqlUnitOfWork, tenant_id: str, event_type: str = "window.activated") -> int:
    with uow:
        event_id = outbox.publish(
            uow, tenant_id=tenant_id, event_type=event_type, payload={"window_id": "WIN-1"}
        )
        uow.commit()
    return event_id


def _deliveries(
    uow: SqlUnitOfWork, tenant_id: str, endpoint_id: str
) -> list[webhooks.DeliveryView]:
    return webhooks.list_deliveries(uow, tenant_id, endpoint_id, limit=500)


def _round(
    factory: sessionmaker[Session],
    now: datetime,
    *,
    policy: RetryPolicy | None = None,
) -> DeliveryReport:
    return webhooks.deliver_due(
        _factory(factory),
        HttpWebhookSender(timeout=5, allow_private=True),
        now=now,
        limit=1000,
        policy=policy,
        rng=MaxRandom(),
    )


# --- the outbox ----------------------------------------------------------------------------------


def _events_of(uow: SqlUnitOfWork, tenant_id: str) -> list[OutboxRow]:
    with uow:
        query = select(OutboxRow).where(OutboxRow.tenant_id == tenant_id)
        return list(uow.session.scalars(query))


def _audit_count(uow: SqlUnitOfWork, tenant_id: str) -> int:
    with uow:
        query = (
            select(func.count()).select_from(AuditLogRow).where(AuditLogRow.tenant_id == tenant_id)
        )
        return int(uow.session.scalar(query) or 0)


@pytest.mark.db
def test_an_event_is_committed_with_its_change(uow: SqlUnitOfWork, tenant_id: str) -> None:
    keys_before = len(tenants.list_api_keys(uow, tenant_id))
    with uow:
        view, _ = tenants.add_api_key(uow, tenant_id, "partner", actor="test")
        event_id = outbox.publish(
            uow,
            tenant_id=tenant_id,
            event_type="api_key.created",
            payload={"id": view.id, "at": T0, "amount": Decimal("12.50")},
        )
        uow.commit()
    assert len(tenants.list_api_keys(uow, tenant_id)) == keys_before + 1
    event = outbox.get_event(uow, tenant_id, event_id)
    assert event.type == "api_key.created"
    assert event.data == {"id": view.id, "at": "2026-03-01T12:00:00+00:00", "amount": "12.50"}
    assert event.tenant == tenant_id


@pytest.mark.db
def test_a_rolled_back_change_leaves_no_event(uow: SqlUnitOfWork, tenant_id: str) -> None:
    audits = _audit_count(uow, tenant_id)

    def failing_use_case() -> None:
        with uow:
            tenants.add_api_key(uow, tenant_id, "partner", actor="test")
            outbox.publish(uow, tenant_id=tenant_id, event_type="api_key.created", payload={})
            raise RuntimeError("the use case failed after publishing")

    with pytest.raises(RuntimeError):
        failing_use_case()
    with uow:
        tenants.add_api_key(uow, tenant_id, "partner", actor="test")
        outbox.publish(uow, tenant_id=tenant_id, event_type="api_key.created", payload={})
        # leaving without commit rolls back too
    assert _events_of(uow, tenant_id) == []
    assert _audit_count(uow, tenant_id) == audits


@pytest.mark.db
@pytest.mark.parametrize(
    "event_type", ["", "window", "Window.Activated", "window..x", "a" * 70 + ".b"]
)
def test_an_event_type_is_a_dotted_lower_case_name(
    uow: SqlUnitOfWork, tenant_id: str, event_type: str
) -> None:
    with pytest.raises(InvalidInput) as caught, uow:
        outbox.publish(uow, tenant_id=tenant_id, event_type=event_type, payload={})
    assert caught.value.field == "event_type"


@pytest.mark.db
def test_another_tenants_event_is_not_found(
    uow: SqlUnitOfWork, tenant_id: str, unique_name: Callable[[str], str]
) -> None:
    other = tenants.create_tenant(uow, unique_name("other"), actor="test").id
    event_id = _publish(uow, tenant_id)
    with pytest.raises(NotFound):
        outbox.get_event(uow, other, event_id)


# --- endpoints -----------------------------------------------------------------------------------


@pytest.mark.db
def test_an_endpoint_gets_a_readable_id_and_a_secret_shown_once(
    uow: SqlUnitOfWork, tenant_id: str
) -> None:
    created = webhooks.register_endpoint(
        uow,
        tenant_id,
        url="https://partner.example/hook",
        events=["window.*", "window.*"],
        actor="test",
    )
    assert created.id.startswith("WHK-")
    assert created.secret.startswith("whsec_")
    assert len(created.secret) > 40
    assert created.events == ["window.*"]
    listed = webhooks.list_endpoints(uow, tenant_id)
    assert [e.id for e in listed] == [created.id]
    assert "secret" not in listed[0].model_dump()
    with uow:
        entries = uow.audit.list_for_entity(tenant_id, "webhook_endpoint", created.id)
        assert [e.action for e in entries] == ["webhook.endpoint_created"]
        assert created.secret not in entries[0].data


@pytest.mark.db
@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("ftp://partner.example/hook", [], "url"),
        ("https:///nohost", [], "url"),
        ("https://user:pw@partner.example/hook", [], "url"),
        ("https://partner.example/hook#x", [], "url"),
        ("https://partner.example:99999/hook", [], "url"),
        ("https://partner.example/hook", ["Window"], "events[0]"),
        ("https://partner.example/hook", ["window.activated", "*.x"], "events[1]"),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(
    uow: SqlUnitOfWork, tenant_id: str, url: str, events: list[str], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        webhooks.register_endpoint(uow, tenant_id, url=url, events=events, actor="test")
    assert caught.value.field == field


# --- deliveries ----------------------------------------------------------------------------------


@pytest.mark.db
def test_a_delivery_is_posted_signed_and_verifiable(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=receiver.url, actor="test", allow_private=True
    )
    event_id = _publish(uow, tenant_id)
    now = utc_now()
    report = _round(factory, now)
    assert report.events_published >= 1
    assert report.deliveries_created >= 1
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got.json == {
        "id": event_id,
        "type": "window.activated",
        "created_at": got.json["created_at"],
        "tenant": tenant_id,
        "data": {"window_id": "WIN-1"},
    }
    datetime.fromisoformat(got.json["created_at"])
    assert got.headers["Polis-Event-Id"] == str(event_id)
    assert got.headers["Polis-Event-Type"] == "window.activated"
    assert got.headers["Polis-Timestamp"] == str(int(now.timestamp()))
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"].startswith("Polis-Webhooks/")
    assert webhooks.verify_signature(
        endpoint.secret, got.headers["Polis-Signature"], got.body, now=now
    )
    [delivery] = _deliveries(uow, tenant_id, endpoint.id)
    assert delivery.status == "delivered"
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.delivered_at == now
    assert delivery.next_attempt_at is None
    assert got.headers["Polis-Delivery-Id"] == str(delivery.id)


@pytest.mark.db
def test_a_failing_receiver_is_retried_with_back_off_then_succeeds(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=receiver.url, actor="test", allow_private=True
    )
    _publish(uow, tenant_id)
    receiver.statuses.extend([500, 503])
    now = utc_now()
    _round(factory, now)
    [delivery] = _deliveries(uow, tenant_id, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 500)
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at == now + timedelta(seconds=30)

    _round(factory, now + timedelta(seconds=29))  # not due yet
    assert len(receiver.requests) == 1

    _round(factory, now + timedelta(seconds=30))
    [delivery] = _deliveries(uow, tenant_id, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 2, 503)
    assert delivery.next_attempt_at == now + timedelta(seconds=30 + 60)

    _round(factory, now + timedelta(seconds=90))
    [delivery] = _deliveries(uow, tenant_id, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert len(receiver.requests) == 3
    assert len({r.headers["Polis-Event-Id"] for r in receiver.requests}) == 1  # the same event


@pytest.mark.db
def test_a_delivery_is_dead_after_the_last_attempt_and_then_left_alone(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=receiver.url, actor="test", allow_private=True
    )
    _publish(uow, tenant_id)
    receiver.statuses.extend([500] * 10)
    policy = RetryPolicy(max_attempts=3)
    now = utc_now()
    for _ in range(6):
        _round(factory, now, policy=policy)
        now += timedelta(hours=7)  # beyond any delay
    [delivery] = _deliveries(uow, tenant_id, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("dead", 3, None)
    assert len(receiver.requests) == 3


@pytest.mark.db
def test_an_unreachable_receiver_is_a_failed_attempt(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str
) -> None:
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens there any more
    endpoint = webhooks.register_endpoint(uow, tenant_id, url=url, actor="test", allow_private=True)
    _publish(uow, tenant_id)
    now = utc_now()
    _round(factory, now)
    [delivery] = _deliveries(uow, tenant_id, endpoint.id)
    assert delivery.status == "failed"
    assert delivery.last_status_code is None
    assert delivery.last_error is not None
    assert "Connection" in delivery.last_error


@pytest.mark.db
def test_replaying_a_dead_delivery_sends_it_again(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=receiver.url, actor="test", allow_private=True
    )
    _publish(uow, tenant_id)
    receiver.statuses.append(500)
    now = utc_now()
    _round(factory, now, policy=RetryPolicy(max_attempts=1))
    [dead] = _deliveries(uow, tenant_id, endpoint.id)
    assert dead.status == "dead"

    later = now + timedelta(minutes=5)
    queued = webhooks.replay_delivery(uow, tenant_id, dead.id, actor="test", now=later)
    assert (queued.status, queued.attempts, queued.next_attempt_at) == ("pending", 0, later)
    _round(factory, later)
    [delivery] = _deliveries(uow, tenant_id, endpoint.id)
    assert delivery.status == "delivered"
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body


@pytest.mark.db
def test_replay_since_sends_every_matching_event_again(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=receiver.url, events=["window.*"], actor="test", allow_private=True
    )
    start = utc_now() - timedelta(seconds=1)
    first = _publish(uow, tenant_id, "window.activated")
    _publish(uow, tenant_id, "claim.status_changed")  # filtered out
    second = _publish(uow, tenant_id, "window.expired")
    now = utc_now()
    _round(factory, now)
    assert sorted(r.json["id"] for r in receiver.requests) == [first, second]

    report = webhooks.replay_since(uow, tenant_id, endpoint.id, start, actor="test", now=now)
    assert report.queued == 2
    nothing = webhooks.replay_since(
        uow, tenant_id, endpoint.id, utc_now() + timedelta(hours=1), actor="test", now=now
    )
    assert nothing.queued == 0
    _round(factory, now)
    assert sorted(r.json["id"] for r in receiver.requests) == [first, first, second, second]
    assert len(_deliveries(uow, tenant_id, endpoint.id)) == 2  # re-queued, not duplicated


@pytest.mark.db
def test_running_the_worker_twice_or_concurrently_never_duplicates(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=receiver.url, actor="test", allow_private=True
    )
    events = {_publish(uow, tenant_id) for _ in range(12)}
    now = utc_now()
    barrier = threading.Barrier(4)

    def work() -> DeliveryReport:
        barrier.wait(5)
        return _round(factory, now)

    with ThreadPoolExecutor(4) as pool:
        reports = [f.result(60) for f in [pool.submit(work) for _ in range(4)]]
    assert sum(r.delivered for r in reports) >= 12
    _round(factory, now)
    _round(factory, now + timedelta(days=1))
    assert sorted(r.json["id"] for r in receiver.requests) == sorted(events)
    deliveries = _deliveries(uow, tenant_id, endpoint.id)
    assert len(deliveries) == 12
    assert {d.status for d in deliveries} == {"delivered"}
    with uow:
        per_event = (
            select(func.count())
            .select_from(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.endpoint_id == endpoint.id)
        )
        assert uow.session.scalar(per_event) == 12


@pytest.mark.db
def test_events_reach_only_their_tenants_matching_endpoints(
    uow: SqlUnitOfWork,
    factory: sessionmaker[Session],
    tenant_id: str,
    unique_name: Callable[[str], str],
) -> None:
    other = tenants.create_tenant(uow, unique_name("other"), actor="test").id
    mine, theirs, claims_only = Receiver(), Receiver(), Receiver()
    try:
        webhooks.register_endpoint(uow, tenant_id, url=mine.url, actor="test", allow_private=True)
        webhooks.register_endpoint(
            uow,
            tenant_id,
            url=claims_only.url,
            events=["claim.*"],
            actor="test",
            allow_private=True,
        )
        their_endpoint = webhooks.register_endpoint(
            uow, other, url=theirs.url, actor="test", allow_private=True
        )
        event_id = _publish(uow, tenant_id)
        _round(factory, utc_now())
        assert [r.json["id"] for r in mine.requests] == [event_id]
        assert claims_only.requests == []
        assert theirs.requests == []
        assert _deliveries(uow, other, their_endpoint.id) == []
        [my_delivery] = [
            d
            for e in webhooks.list_endpoints(uow, tenant_id)
            for d in _deliveries(uow, tenant_id, e.id)
        ]
        with pytest.raises(NotFound):
            webhooks.get_delivery(uow, other, my_delivery.id)
        with pytest.raises(NotFound):
            webhooks.replay_delivery(uow, other, my_delivery.id, actor="test")
        with pytest.raises(NotFound):
            webhooks.list_deliveries(uow, other, my_delivery.endpoint_id)
        with pytest.raises(NotFound):
            webhooks.delete_endpoint(uow, other, my_delivery.endpoint_id, actor="test")
        with pytest.raises(NotFound):
            webhooks.replay_since(uow, other, my_delivery.endpoint_id, T0, actor="test")
    finally:
        for server in (mine, theirs, claims_only):
            server.close()


@pytest.mark.db
def test_a_deleted_endpoint_gets_nothing_more(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=receiver.url, actor="test", allow_private=True
    )
    _publish(uow, tenant_id)
    receiver.statuses.append(500)
    now = utc_now()
    _round(factory, now)
    [delivery] = _deliveries(uow, tenant_id, endpoint.id)
    webhooks.delete_endpoint(uow, tenant_id, endpoint.id, actor="test")
    _round(factory, now + timedelta(hours=7))
    _publish(uow, tenant_id)
    _round(factory, now + timedelta(hours=8))
    assert len(receiver.requests) == 1
    assert webhooks.get_delivery(uow, tenant_id, delivery.id).status == "dead"
    assert webhooks.list_endpoints(uow, tenant_id) == []
    with pytest.raises(NotFound):
        webhooks.get_endpoint(uow, tenant_id, endpoint.id)
    with pytest.raises(NotFound):
        webhooks.delete_endpoint(uow, tenant_id, endpoint.id, actor="test")
    with pytest.raises(Conflict) as caught:
        webhooks.replay_delivery(uow, tenant_id, delivery.id, actor="test")
    assert caught.value.code == "webhook.endpoint_inactive"


@pytest.mark.db
def test_deliveries_can_be_filtered_and_paged(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=receiver.url, actor="test", allow_private=True
    )
    for _ in range(3):
        _publish(uow, tenant_id)
    receiver.statuses.append(500)
    _round(factory, utc_now())
    failed = webhooks.list_deliveries(uow, tenant_id, endpoint.id, statuses=["failed"])
    delivered = webhooks.list_deliveries(uow, tenant_id, endpoint.id, statuses=["delivered"])
    assert (len(failed), len(delivered)) == (1, 2)
    page = webhooks.list_deliveries(uow, tenant_id, endpoint.id, limit=2, offset=2)
    assert len(page) == 1
    with pytest.raises(InvalidInput):
        webhooks.list_deliveries(uow, tenant_id, endpoint.id, statuses=["lost"])
    with pytest.raises(InvalidInput):
        webhooks.list_deliveries(uow, tenant_id, endpoint.id, limit=0)
    with pytest.raises(InvalidInput):
        webhooks.list_deliveries(uow, tenant_id, endpoint.id, offset=-1)


@pytest.mark.db
def test_a_lost_worker_lease_expires_and_the_attempt_is_made_again(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str, receiver: Receiver
) -> None:
    endpoint = webhooks.register_endpoint(
        uow, tenant_id, url=receiver.url, actor="test", allow_private=True
    )
    _publish(uow, tenant_id)
    now = utc_now()
    webhooks.fan_out(SqlUnitOfWork(factory), now=now, limit=1000)
    [delivery] = _deliveries(uow, tenant_id, endpoint.id)
    policy = RetryPolicy()
    with uow:  # a worker claims it, then dies before posting
        assert uow.webhooks.claim(delivery.id, now, now + policy.lease)
        uow.commit()
    _round(factory, now + timedelta(seconds=1))
    assert receiver.requests == []
    _round(factory, now + policy.lease)
    assert len(receiver.requests) == 1


@pytest.mark.db
def test_the_worker_also_purges_expired_idempotency_keys(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], tenant_id: str
) -> None:
    old = T0 - timedelta(days=3)
    call = IdempotentRequest(tenant_id, f"key-{uuid.uuid4().hex}", "POST", "/v1/x", "0" * 64)
    assert idempotency.reserve(uow, call, now=old) is None
    worker = webhooks.Worker(
        _factory(factory), HttpWebhookSender(timeout=1, allow_private=True), rng=MaxRandom()
    )
    worker.run_once(utc_now())
    with uow:
        assert uow.idempotency.get(tenant_id, call.key) is None
