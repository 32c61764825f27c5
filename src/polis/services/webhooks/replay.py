"""Replay: queue one delivery again, or every matching event of a tenant since an instant."""

from __future__ import annotations

import json
from datetime import datetime

from polis.kernel.errors import Conflict
from polis.kernel.time import ensure_utc, utc_now
from polis.services import audit
from polis.services.webhooks.common import _new_delivery, _require_delivery, _require_endpoint
from polis.services.webhooks.filters import matches
from polis.services.webhooks.views import DeliveryView, ReplayReport
from polis.store.tables_platform import WebhookDeliveryRow
from polis.store.uow import UnitOfWork

__all__ = ["replay_delivery", "replay_since"]

_MAX_REPLAY = 10_000


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
