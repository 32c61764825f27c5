"""The transactional outbox: domain events written in the same transaction as the change.

A use case that changes something the outside world cares about calls :func:`publish` inside its
own open unit of work, before its one ``uow.commit()``::

    with uow:
        window = ...                                   # the change
        outbox.publish(uow, tenant_id=tenant, event_type="window.activated",
                       payload={"window_id": window.id, ...})
        uow.commit()                                   # the change and its event, or neither

So an event exists if and only if its change was committed: a rollback (an error, a lost race)
leaves no event behind, and a crash after the commit loses none. The webhook worker
(``polis.services.webhooks.deliver_due``) later fans each unpublished event out into one delivery
per matching endpoint and sets ``published_at``.

Event types are dotted lower-case names (``window.activated``, ``window.expired``,
``window.cancelled``, ``claim.status_changed``, ``reminder.due``…); the payload is a JSON object
(instants in ISO 8601; ``Decimal`` and enums as strings: see :func:`payload_json`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict

from polis.kernel.errors import InvalidInput, NotFound
from polis.kernel.time import utc_now
from polis.store.tables_platform import OutboxRow
from polis.store.uow import UnitOfWork

__all__ = [
    "EVENT_TYPE_PATTERN",
    "KNOWN_EVENT_TYPES",
    "OutboxEvent",
    "get_event",
    "payload_json",
    "publish",
]

#: a dotted lower-case name: ``window.activated``
EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

#: the event types Polis publishes today (documentation; the pattern is what is enforced)
KNOWN_EVENT_TYPES = (
    "window.activated",
    "window.expired",
    "window.cancelled",
    "claim.status_changed",
    "reminder.due",
    "subscription.withdrawn",
)


class OutboxEvent(BaseModel):
    """An event as stored, and as its webhook body carries it (``data`` is the payload)."""

    model_config = ConfigDict(frozen=True)

    id: int
    type: str
    created_at: datetime
    tenant: str
    data: dict[str, Any]

    @classmethod
    def of(cls, row: OutboxRow) -> OutboxEvent:
        return cls(
            id=row.id,
            type=row.event_type,
            created_at=row.created_at,
            tenant=row.tenant_id,
            data=json.loads(row.payload),
        )


def publish(uow: UnitOfWork, *, tenant_id: str, event_type: str, payload: Mapping[str, Any]) -> int:
    """Write an event in the open unit of work (never commits) and return its id."""
    row = _event_row(tenant_id, event_type, payload)
    uow.outbox.add(row)
    return row.id


def emit(uow: UnitOfWork, *, tenant_id: str, event_type: str, payload: Mapping[str, Any]) -> None:
    """:func:`publish` when the caller does not need the event's id: on PostgreSQL the row is
    written with the transaction's next statement or at its commit (``polis.store.deferred``)."""
    uow.outbox.add_later(_event_row(tenant_id, event_type, payload))


def _event_row(tenant_id: str, event_type: str, payload: Mapping[str, Any]) -> OutboxRow:
    if len(event_type) > 64 or not EVENT_TYPE_PATTERN.match(event_type):
        raise InvalidInput(
            f"an event type is a dotted lower-case name such as window.activated: {event_type!r}",
            field="event_type",
        )
    if not isinstance(payload, Mapping):
        raise InvalidInput("an event payload is a JSON object", field="payload")
    return OutboxRow(
        tenant_id=tenant_id,
        event_type=event_type,
        payload=payload_json(payload),
        created_at=utc_now(),
        published_at=None,
    )


def payload_json(payload: Mapping[str, Any]) -> str:
    """The stored form of a payload: JSON with sorted keys; instants in ISO 8601, decimals and
    enums as strings, Pydantic models as their JSON shape."""
    return json.dumps(
        dict(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_encode
    )


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    return str(value)


def get_event(uow: UnitOfWork, tenant_id: str, event_id: int) -> OutboxEvent:
    """One event of the tenant (another tenant's answers ``outbox_event.not_found``)."""
    with uow:
        row = uow.outbox.get(tenant_id, event_id)
        if row is None:
            raise NotFound(f"no event {event_id}", field="event_id", code="outbox_event.not_found")
        return OutboxEvent.of(row)
