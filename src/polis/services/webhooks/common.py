"""Shared by the use cases and the worker: a new delivery row, and loading an endpoint or a
delivery of the tenant (``NotFound`` otherwise)."""

from __future__ import annotations

from datetime import datetime

from polis.kernel.errors import NotFound
from polis.store.tables_platform import WebhookDeliveryRow, WebhookEndpointRow
from polis.store.uow import UnitOfWork

__all__: list[str] = []


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
