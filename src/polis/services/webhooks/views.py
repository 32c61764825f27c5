"""What the webhook use cases return: endpoints (the secret shown once), deliveries, replays."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from polis.store.tables_platform import WebhookDeliveryRow, WebhookEndpointRow

__all__ = [
    "DELIVERY_STATUSES",
    "CreatedEndpoint",
    "DeliveryStatus",
    "DeliveryView",
    "EndpointView",
    "ReplayReport",
]

DeliveryStatus = Literal["pending", "delivered", "failed", "dead"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "failed", "dead")


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
