"""Signed webhooks: endpoints, the fan-out of outbox events, delivery with retries, replay.

How an event reaches a partner (``docs/webhooks.md``):

1. a use case writes the event to the outbox with its change (``polis.services.outbox.publish``);
2. :func:`deliver_due` (run by ``polis webhooks deliver`` or by the server's background task)
   first *fans out* unpublished events: one ``webhook_deliveries`` row per active endpoint of the
   event's tenant whose filter matches (``unique(endpoint_id, event_id)``: never two), and marks the
   event published — both in one transaction, claimed with ``UPDATE … WHERE published_at IS NULL``
   (rows locked by another worker are skipped on PostgreSQL);
3. then it posts the *due* deliveries: each is claimed first by a conditional update that moves its
   ``next_attempt_at`` to the end of a lease, so two workers never post the same attempt; the POST
   happens outside any transaction; the outcome is written back: 2xx → ``delivered``; anything
   else → ``failed`` with ``next_attempt_at = now + backoff(attempts)``, or ``dead`` after
   ``max_attempts``. A worker that dies mid-POST leaves the lease to expire and the attempt is made
   again: delivery is *at least once*, and receivers deduplicate on ``Polis-Event-Id``.

**No private addresses** (:mod:`polis.kernel.net`, against server-side request forgery): a URL
whose host is or resolves to a loopback, private, link-local, multicast, reserved or unspecified
address is refused at registration (``webhook.url_refused``), and the sender checks the address it
connects to again right before each POST (DNS rebinding); a delivery refused there raises
:class:`~polis.kernel.net.AddressRefused` and is made ``dead`` at once with the reason, never
retried. ``allow_private`` (``POLIS_WEBHOOKS_ALLOW_PRIVATE``) is for local development.

Every POST carries the JSON body ``{"id", "type", "created_at", "tenant", "data"}`` and the
headers ``Polis-Event-Id``, ``Polis-Event-Type``, ``Polis-Delivery-Id``, ``Polis-Timestamp`` and
``Polis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
:func:`verify_signature` is the receiver's check.

The endpoint's secret (``whsec_…``) is kept as is in the database — it is needed to sign each
delivery, so a one-way hash cannot do — and is returned once, by :func:`register_endpoint`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import random
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from polis.kernel.errors import Conflict, InvalidInput, NotFound
from polis.kernel.net import (
    AddressRefused,
    HostUnresolved,
    Resolver,
    public_addresses,
    system_resolver,
)
from polis.kernel.time import ensure_utc, utc_now
from polis.services import audit, idempotency
from polis.services.outbox import OutboxEvent
from polis.store.tables_platform import WebhookDeliveryRow, WebhookEndpointRow
from polis.store.uow import UnitOfWork

__all__ = [
    "DELIVERY_STATUSES",
    "SIGNATURE_HEADER",
    "CreatedEndpoint",
    "DeliveryReport",
    "DeliveryStatus",
    "DeliveryView",
    "EndpointView",
    "ReplayReport",
    "RetryPolicy",
    "WebhookSender",
    "Worker",
    "backoff",
    "delete_endpoint",
    "deliver_due",
    "event_body",
    "fan_out",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "matches",
    "register_endpoint",
    "replay_delivery",
    "replay_since",
    "sign",
    "signature_header",
    "signed_headers",
    "verify_signature",
]

DeliveryStatus = Literal["pending", "delivered", "failed", "dead"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "failed", "dead")
SIGNATURE_HEADER = "Polis-Signature"
_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_FILTER = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")
_MAX_FILTERS = 50
_MAX_REPLAY = 10_000
_MAX_PAGE = 500
_ERROR_LENGTH = 500


# --- pure rules: signature, back-off, filters, body ----------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``hex(HMAC-SHA256(secret, "<timestamp>.<body>"))``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Polis-Signature`` value: ``t=<timestamp>,v1=<signature>``."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    tolerance: float | timedelta = 300,
    *,
    now: datetime | None = None,
) -> bool:
    """Whether ``header`` (``Polis-Signature``) signs ``body`` (the raw bytes received) with
    ``secret``, at a timestamp no further than ``tolerance`` (seconds) from ``now``.

    Several ``v1=`` values are accepted (any may match); a missing or malformed header, a stale
    timestamp or a wrong signature give ``False``.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    limit = tolerance.total_seconds() if isinstance(tolerance, timedelta) else float(tolerance)
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = ensure_utc(now if now is not None else utc_now(), field="now").timestamp()
    if abs(current - timestamp) > limit:
        return False
    expected = sign(secret, timestamp, raw)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to retry: exponential back-off with full jitter, capped; dead after ``max_attempts``.

    The delay after the n-th failed attempt is drawn uniformly in ``[0, min(cap, base × 2ⁿ⁻¹)]``
    (at least one second): with the defaults the ceilings are 30 s, 1 min, 2 min, 4 min … 4 h 16,
    then 6 h. ``lease`` is how long a claimed attempt may take before another worker retries it.
    """

    max_attempts: int = 12
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=2)

    @classmethod
    def of(
        cls, max_attempts: int, base_seconds: float, cap_seconds: float, lease_seconds: float = 120
    ) -> RetryPolicy:
        """A policy from plain numbers (the ``webhook_*`` settings)."""
        return cls(
            max_attempts=max_attempts,
            base=timedelta(seconds=base_seconds),
            cap=timedelta(seconds=max(cap_seconds, base_seconds)),
            lease=timedelta(seconds=lease_seconds),
        )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidInput("max_attempts must be at least 1", field="max_attempts")
        if self.base <= timedelta(0) or self.cap < self.base:
            raise InvalidInput("0 < base <= cap is required", field="base")


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> timedelta:
    """The delay before the attempt that follows failed attempt number ``attempt`` (1, 2, …)."""
    if attempt < 1:
        raise InvalidInput("attempts are counted from 1", field="attempt")
    exponent = min(attempt - 1, 40)
    ceiling = min(policy.cap.total_seconds(), policy.base.total_seconds() * 2**exponent)
    return timedelta(seconds=max(1.0, rng.uniform(0.0, ceiling)))


def matches(filters: Collection[str], event_type: str) -> bool:
    """Whether an endpoint with ``filters`` wants ``event_type`` (no filter: every event).

    A filter is an event type (``window.activated``), a prefix wildcard (``window.*``) or ``*``.
    """
    if not filters:
        return True
    for pattern in filters:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def event_body(event: OutboxEvent) -> bytes:
    """The POST body of an event: compact JSON ``{"id", "type", "created_at", "tenant", "data"}``."""
    return json.dumps(
        event.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def signed_headers(
    secret: str, event: OutboxEvent, delivery_id: int, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers of one delivery POST (signature over ``body`` at ``now``)."""
    timestamp = int(ensure_utc(now, field="now").timestamp())
    return {
        "Content-Type": "application/json",
        "Polis-Event-Id": str(event.id),
        "Polis-Event-Type": event.type,
        "Polis-Delivery-Id": str(delivery_id),
        "Polis-Timestamp": str(timestamp),
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
    }


# --- views ---------------------------------------------------------------------------------------


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class EndpointView(_View):
    """A webhook endpoint, without its secret."""

    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookEndpointRow) -> EndpointView:
        return cls(
            id=row.id,
            url=row.url,
            events=json.loads(row.event_types),
            active=row.active,
            created_at=row.created_at,
        )


class CreatedEndpoint(EndpointView):
    """A new endpoint with its signing secret: the only time the secret is shown."""

    secret: str


class DeliveryView(_View):
    """One event to one endpoint, with its attempts and last outcome."""

    id: int
    endpoint_id: str
    event_id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookDeliveryRow) -> DeliveryView:
        return cls(
            id=row.id,
            endpoint_id=row.endpoint_id,
            event_id=row.event_id,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_attempt_at=row.last_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )


class ReplayReport(_View):
    """What a replay queued."""

    endpoint_id: str
    since: datetime
    queued: int


@dataclass(slots=True)
class DeliveryReport:
    """What one round of :func:`deliver_due` did."""

    events_published: int = 0
    deliveries_created: int = 0
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    outcomes: list[tuple[int, str]] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return self.events_published == 0 and self.attempted == 0 and self.dead == 0


class WebhookSender(Protocol):
    """Posts one delivery (``polis.notify.webhooks.HttpWebhookSender`` in production).

    Returns the HTTP status code; raises (any exception) when no response came back (connection
    refused, timeout, TLS error…). It must not follow redirects, and must raise
    :class:`~polis.kernel.net.AddressRefused` rather than connect to a non-public address (unless
    configured to allow them).
    """

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int: ...


# --- endpoints -----------------------------------------------------------------------------------


def register_endpoint(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    url: str,
    events: Collection[str] = (),
    actor: str,
    allow_private: bool = False,
    resolver: Resolver = system_resolver,
) -> CreatedEndpoint:
    """Register a receiver ``url`` for the tenant's events (``events``: filters; empty = all).

    A host that is or resolves to a non-public address is refused (``webhook.url_refused``) unless
    ``allow_private``; a name that does not resolve yet is accepted (each delivery checks again).
    """
    clean_url = _check_url(url, allow_private=allow_private, resolver=resolver)
    filters = _check_filters(events)
    now = utc_now()
    secret = _SECRET_PREFIX + secrets.token_urlsafe(32)
    with uow:
        row = WebhookEndpointRow(
            id=str(uow.ids.next("WHK", now.year)),
            tenant_id=tenant_id,
            url=clean_url,
            secret=secret,
            event_types=json.dumps(filters),
            active=True,
            created_at=now,
            deleted_at=None,
        )
        uow.webhooks.add_endpoint(row)
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="webhook.endpoint_created",
            entity_type="webhook_endpoint",
            entity_id=row.id,
            data={"url": clean_url, "events": filters},
            at=now,
        )
        view = EndpointView.of(row)
        uow.commit()
    return CreatedEndpoint(**view.model_dump(), secret=secret)


def list_endpoints(uow: UnitOfWork, tenant_id: str) -> list[EndpointView]:
    """The tenant's endpoints (deleted ones excluded)."""
    with uow:
        return [EndpointView.of(row) for row in uow.webhooks.list_endpoints(tenant_id)]


def get_endpoint(uow: UnitOfWork, tenant_id: str, endpoint_id: str) -> EndpointView:
    with uow:
        return EndpointView.of(_require_endpoint(uow, tenant_id, endpoint_id))


def delete_endpoint(uow: UnitOfWork, tenant_id: str, endpoint_id: str, *, actor: str) -> None:
    """Stop sending to an endpoint; its pending deliveries become ``dead`` when next due."""
    now = utc_now()
    with uow:
        row = _require_endpoint(uow, tenant_id, endpoint_id)
        row.active = False
        row.deleted_at = now
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="webhook.endpoint_deleted",
            entity_type="webhook_endpoint",
            entity_id=row.id,
            at=now,
        )
        uow.commit()


def list_deliveries(
    uow: UnitOfWork,
    tenant_id: str,
    endpoint_id: str,
    *,
    statuses: Collection[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DeliveryView]:
    """An endpoint's deliveries, newest first."""
    if not 1 <= limit <= _MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {_MAX_PAGE}", field="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    for status in statuses or ():
        if status not in DELIVERY_STATUSES:
            raise InvalidInput(f"unknown delivery status {status!r}", field="status")
    with uow:
        _require_endpoint(uow, tenant_id, endpoint_id)
        rows = uow.webhooks.list_deliveries(
            tenant_id, endpoint_id, statuses=statuses, limit=limit, offset=offset
        )
        return [DeliveryView.of(row) for row in rows]


def get_delivery(uow: UnitOfWork, tenant_id: str, delivery_id: int) -> DeliveryView:
    with uow:
        return DeliveryView.of(_require_delivery(uow, tenant_id, delivery_id))


# --- replay --------------------------------------------------------------------------------------


def replay_delivery(
    uow: UnitOfWork, tenant_id: str, delivery_id: int, *, actor: str, now: datetime | None = None
) -> DeliveryView:
    """Queue one delivery again, due now, with a fresh retry budget (even if delivered or dead)."""
    now = ensure_utc(now if now is not None else utc_now(), field="now")
    with uow:
        row = _require_delivery(uow, tenant_id, delivery_id)
        endpoint = uow.webhooks.get_endpoint(tenant_id, row.endpoint_id)
        if endpoint is None or not endpoint.active:
            raise Conflict(
                f"the endpoint {row.endpoint_id} was deleted: nothing can be sent to it",
                field="delivery_id",
                code="webhook.endpoint_inactive",
            )
        _requeue(row, now)
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="webhook.delivery_replayed",
            entity_type="webhook_endpoint",
            entity_id=row.endpoint_id,
            data={"delivery_id": row.id, "event_id": row.event_id},
            at=now,
        )
        view = DeliveryView.of(row)
        uow.commit()
    return view


def replay_since(
    uow: UnitOfWork,
    tenant_id: str,
    endpoint_id: str,
    since: datetime,
    *,
    actor: str,
    now: datetime | None = None,
) -> ReplayReport:
    """Queue again every event of the tenant since ``since`` that the endpoint's filter matches
    (at most 10 000 per call; events not fanned out yet are delivered anyway)."""
    since = ensure_utc(since, field="since")
    now = ensure_utc(now if now is not None else utc_now(), field="now")
    queued = 0
    with uow:
        endpoint = _require_endpoint(uow, tenant_id, endpoint_id)
        filters = json.loads(endpoint.event_types)
        for event in uow.outbox.published_since(tenant_id, since, _MAX_REPLAY):
            if not matches(filters, event.event_type):
                continue
            existing = uow.webhooks.find_delivery(endpoint.id, event.id)
            if existing is None:
                uow.webhooks.add_delivery(_new_delivery(endpoint, event.id, now))
            else:
                _requeue(existing, now)
            queued += 1
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="webhook.replayed_since",
            entity_type="webhook_endpoint",
            entity_id=endpoint.id,
            data={"since": since.isoformat(), "queued": queued},
            at=now,
        )
        uow.commit()
    return ReplayReport(endpoint_id=endpoint_id, since=since, queued=queued)


def _requeue(row: WebhookDeliveryRow, now: datetime) -> None:
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    row.delivered_at = None


# --- the worker ----------------------------------------------------------------------------------


def fan_out(uow: UnitOfWork, *, now: datetime, limit: int = 100) -> tuple[int, int]:
    """Turn up to ``limit`` unpublished events into deliveries; returns (events, deliveries)."""
    events = created = 0
    with uow:
        endpoints_of: dict[str, list[WebhookEndpointRow]] = {}
        for event in uow.outbox.unpublished(limit):
            if not uow.outbox.mark_published(event.id, now):
                continue  # another worker took it
            events += 1
            if event.tenant_id not in endpoints_of:
                endpoints_of[event.tenant_id] = uow.webhooks.active_endpoints(event.tenant_id)
            already = uow.webhooks.endpoints_with_delivery(event.id)
            for endpoint in endpoints_of[event.tenant_id]:
                wanted = matches(json.loads(endpoint.event_types), event.event_type)
                if wanted and endpoint.id not in already:
                    uow.webhooks.add_delivery(_new_delivery(endpoint, event.id, now))
                    created += 1
        uow.commit()
    return events, created


def deliver_due(
    uow_factory: Callable[[], UnitOfWork],
    sender: WebhookSender,
    *,
    now: datetime,
    limit: int = 100,
    policy: RetryPolicy | None = None,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """One round of the worker: fan out new events, then post up to ``limit`` due deliveries.

    Safe to run concurrently (several workers, several servers): see the module doc.
    """
    now = ensure_utc(now, field="now")
    policy = policy or RetryPolicy()
    rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
    report = DeliveryReport()
    report.events_published, report.deliveries_created = fan_out(
        uow_factory(), now=now, limit=limit
    )
    with uow_factory() as uow:
        due = uow.webhooks.due_delivery_ids(now, limit)
    for delivery_id in due:
        outcome = _attempt(uow_factory(), sender, delivery_id, now, policy, rng)
        if outcome is None:
            continue  # another worker had it
        status, attempted = outcome
        report.outcomes.append((delivery_id, status))
        report.attempted += attempted
        if status == "delivered":
            report.delivered += 1
        elif status == "failed":
            report.retrying += 1
        else:
            report.dead += 1
    return report


@dataclass(frozen=True, slots=True)
class _Claimed:
    url: str
    secret: str
    event: OutboxEvent


def _attempt(
    uow: UnitOfWork,
    sender: WebhookSender,
    delivery_id: int,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> tuple[str, bool] | None:
    """Claim, post and record one delivery: (new status, whether a POST was made), or ``None`` if
    another worker had it."""
    claimed = _claim(uow, delivery_id, now, policy)
    if claimed is None:
        return None
    if isinstance(claimed, str):
        return claimed, False
    body = event_body(claimed.event)
    headers = signed_headers(claimed.secret, claimed.event, delivery_id, body, now)
    status_code: int | None = None
    error: str | None = None
    refused = False
    try:
        status_code = sender.post(claimed.url, body, headers)
    except AddressRefused as e:  # final: the URL points where Polis must not post
        refused = True
        error = f"address refused, not retried: {e.message}"[:_ERROR_LENGTH]
    except Exception as e:  # noqa: BLE001 - any failure to get an answer is a failed attempt
        error = f"{type(e).__name__}: {e}"[:_ERROR_LENGTH]
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok:
        error = f"HTTP {status_code}"
    with uow:
        row = uow.webhooks.delivery_by_id(delivery_id)
        assert row is not None
        row.attempts += 1
        row.last_attempt_at = now
        row.last_status_code = status_code
        row.last_error = error
        if ok:
            row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
        elif refused or row.attempts >= policy.max_attempts:
            row.status, row.next_attempt_at = "dead", None
        else:
            row.status = "failed"
            row.next_attempt_at = now + backoff(row.attempts, policy, rng)
        status = row.status
        uow.commit()
    return status, True


def _claim(
    uow: UnitOfWork, delivery_id: int, now: datetime, policy: RetryPolicy
) -> _Claimed | str | None:
    with uow:
        if not uow.webhooks.claim(delivery_id, now, now + policy.lease):
            return None
        row = uow.webhooks.delivery_by_id(delivery_id)
        assert row is not None
        endpoint = uow.webhooks.endpoint_by_id(row.endpoint_id)
        event = uow.outbox.get(row.tenant_id, row.event_id)
        if endpoint is None or not endpoint.active or event is None:
            row.status, row.next_attempt_at = "dead", None
            row.last_error = "the endpoint was deleted"
            uow.commit()
            return "dead"
        claimed = _Claimed(endpoint.url, endpoint.secret, OutboxEvent.of(event))
        uow.commit()
    return claimed


# --- helpers -------------------------------------------------------------------------------------


def _new_delivery(endpoint: WebhookEndpointRow, event_id: int, now: datetime) -> WebhookDeliveryRow:
    return WebhookDeliveryRow(
        tenant_id=endpoint.tenant_id,
        endpoint_id=endpoint.id,
        event_id=event_id,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        last_attempt_at=None,
        last_status_code=None,
        last_error=None,
        delivered_at=None,
        created_at=now,
    )


def _require_endpoint(uow: UnitOfWork, tenant_id: str, endpoint_id: str) -> WebhookEndpointRow:
    row = uow.webhooks.get_endpoint(tenant_id, endpoint_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(
            f"no webhook endpoint {endpoint_id}", field="webhook_id", code="webhook.not_found"
        )
    return row


def _require_delivery(uow: UnitOfWork, tenant_id: str, delivery_id: int) -> WebhookDeliveryRow:
    row = uow.webhooks.get_delivery(tenant_id, delivery_id)
    if row is None:
        raise NotFound(
            f"no webhook delivery {delivery_id}",
            field="delivery_id",
            code="webhook_delivery.not_found",
        )
    return row


def _check_url(url: str, *, allow_private: bool, resolver: Resolver) -> str:
    text = url.strip()
    if not 1 <= len(text) <= 2000:
        raise InvalidInput("a URL of at most 2000 characters is required", field="url")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise InvalidInput(f"not a URL: {text!r}", field="url") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("an http:// or https:// URL with a host is required", field="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("credentials in the URL are not accepted", field="url")
    if parts.fragment:
        raise InvalidInput("a webhook URL has no #fragment", field="url")
    del port
    if not allow_private:
        # a name not resolvable yet is accepted: it is checked again before each delivery
        with contextlib.suppress(HostUnresolved):
            public_addresses(
                parts.hostname, resolver=resolver, field="url", refused_code="webhook.url_refused"
            )
    return text


def _check_filters(events: Collection[str]) -> list[str]:
    if isinstance(events, str):
        events = [events]
    if len(events) > _MAX_FILTERS:
        raise InvalidInput(f"at most {_MAX_FILTERS} event filters", field="events")
    clean: set[str] = set()
    for index, value in enumerate(events):
        text = value.strip()
        if len(text) > 64 or not _FILTER.match(text):
            raise InvalidInput(
                f"an event filter is an event type (window.activated), a prefix (window.*) or "
                f"*: {value!r}",
                field=f"events[{index}]",
            )
        clean.add(text)
    return sorted(clean)


class Worker:
    """The delivery loop's body: :func:`deliver_due`, plus purging expired idempotency keys every
    ``purge_every``. ``polis webhooks deliver`` and the server's background task call
    :meth:`run_once` every few seconds."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        sender: WebhookSender,
        policy: RetryPolicy | None = None,
        *,
        limit: int = 100,
        purge_every: timedelta = timedelta(minutes=10),
        rng: random.Random | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._sender = sender
        self.policy = policy or RetryPolicy()
        self._limit = limit
        self._purge_every = purge_every
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._last_purge: datetime | None = None

    def run_once(self, now: datetime | None = None) -> DeliveryReport:
        now = ensure_utc(now if now is not None else utc_now(), field="now")
        report = deliver_due(
            self._uow_factory,
            self._sender,
            now=now,
            limit=self._limit,
            policy=self.policy,
            rng=self._rng,
        )
        if self._last_purge is None or now - self._last_purge >= self._purge_every:
            idempotency.purge_expired(self._uow_factory(), now=now)
            self._last_purge = now
        return report
