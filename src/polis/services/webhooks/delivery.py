"""The delivery worker: fan out outbox events into deliveries, then claim, post and record the
due ones (retried with back-off, ``dead`` after the last attempt or a refused address)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from polis.kernel.net import AddressRefused
from polis.kernel.time import ensure_utc, utc_now
from polis.services import idempotency
from polis.services.outbox import OutboxEvent
from polis.services.webhooks.common import _new_delivery
from polis.services.webhooks.filters import matches
from polis.services.webhooks.retry import RetryPolicy, backoff
from polis.services.webhooks.signing import event_body, signed_headers
from polis.store.tables_platform import WebhookEndpointRow
from polis.store.uow import UnitOfWork

__all__ = ["DeliveryReport", "WebhookSender", "Worker", "deliver_due", "fan_out"]

_ERROR_LENGTH = 500


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
