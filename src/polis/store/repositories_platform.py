"""Repositories of the platform plumbing: idempotency keys, the outbox, webhook endpoints and
deliveries (contracts as ``Protocol``s, SQL implementations).

Every state change that can race is a single conditional statement whose ``RETURNING`` tells the
caller whether it won, so it is safe on PostgreSQL (the row lock makes the loser re-check the
condition after the winner commits) as on SQLite (writers are serialised by ``BEGIN IMMEDIATE``):

- reserving an idempotency key: an ``INSERT`` in a savepoint (the unique ``(tenant_id, key)``
  refuses the second one), or the take-over of an *expired* row by an ``UPDATE … WHERE
  expires_at <= now``; claiming it inside the operation's own transaction
  (:meth:`SqlIdempotencyRepository.claim`): ``INSERT … ON CONFLICT DO NOTHING RETURNING`` — on
  PostgreSQL a concurrent insert of the same key waits for the first transaction to end;
- fanning an outbox event out: ``UPDATE outbox SET published_at … WHERE published_at IS NULL``;
- claiming a due delivery before posting it: ``UPDATE … SET next_attempt_at = <lease end> WHERE
  status IN ('pending', 'failed') AND next_attempt_at <= now``.

Tenant isolation is in the queries: lookups by id take the tenant and filter on it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from polis.store.deferred import defer
from polis.store.inserts import insert_later, insert_row
from polis.store.repositories import insert_unless_taken
from polis.store.tables_platform import (
    IdempotencyKeyRow,
    OutboxRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)

__all__ = [
    "IdempotencyRepository",
    "OutboxRepository",
    "SqlIdempotencyRepository",
    "SqlOutboxRepository",
    "SqlWebhookRepository",
    "WebhookRepository",
]

_KEYS = cast(Table, IdempotencyKeyRow.__table__)
_KEY_COLUMNS = [c.key for c in _KEYS.columns if c.key != "id"]
#: ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` of a key, built once (parameters per call)
_CLAIM_POSTGRESQL = (
    postgresql.insert(_KEYS)
    .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
    .returning(_KEYS.c.id)
)
_CLAIM_SQLITE = (
    sqlite.insert(_KEYS)
    .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
    .returning(_KEYS.c.id)
)
_COMPLETE = (
    update(_KEYS)
    .where(
        _KEYS.c.tenant_id == bindparam("t"),
        _KEYS.c.key == bindparam("k"),
        _KEYS.c.status == "in_progress",
    )
    .values(
        status="done", response_status=bindparam("status_code"), response_body=bindparam("body")
    )
    .returning(_KEYS.c.id)
)

#: delivery statuses that the worker still has to post
RETRYABLE = ("pending", "failed")


class IdempotencyRepository(Protocol):
    def get(self, tenant_id: str, key: str) -> IdempotencyKeyRow | None: ...
    def try_insert(self, row: IdempotencyKeyRow) -> bool: ...
    def claim(self, row: IdempotencyKeyRow, now: datetime) -> bool: ...
    def take_over_expired(self, row: IdempotencyKeyRow, now: datetime) -> bool: ...
    def complete(
        self, tenant_id: str, key: str, status_code: int, body: str, now: datetime
    ) -> bool: ...
    def complete_claimed(
        self, tenant_id: str, key: str, status_code: int, body: str, now: datetime
    ) -> None: ...
    def release(self, tenant_id: str, key: str) -> bool: ...
    def purge_expired(self, now: datetime) -> int: ...


class OutboxRepository(Protocol):
    def add(self, event: OutboxRow) -> None: ...
    def add_later(self, event: OutboxRow) -> None: ...
    def get(self, tenant_id: str, event_id: int) -> OutboxRow | None: ...
    def unpublished(self, limit: int) -> list[OutboxRow]: ...
    def mark_published(self, event_id: int, now: datetime) -> bool: ...
    def published_since(
        self, tenant_id: str, since: datetime, limit: int
    ) -> Sequence[OutboxRow]: ...


class WebhookRepository(Protocol):
    def add_endpoint(self, endpoint: WebhookEndpointRow) -> None: ...
    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpointRow | None: ...
    def endpoint_by_id(self, endpoint_id: str) -> WebhookEndpointRow | None: ...
    def list_endpoints(self, tenant_id: str) -> list[WebhookEndpointRow]: ...
    def active_endpoints(self, tenant_id: str) -> list[WebhookEndpointRow]: ...
    def add_delivery(self, delivery: WebhookDeliveryRow) -> None: ...
    def get_delivery(self, tenant_id: str, delivery_id: int) -> WebhookDeliveryRow | None: ...
    def delivery_by_id(self, delivery_id: int) -> WebhookDeliveryRow | None: ...
    def find_delivery(self, endpoint_id: str, event_id: int) -> WebhookDeliveryRow | None: ...
    def endpoints_with_delivery(self, event_id: int) -> set[str]: ...
    def list_deliveries(
        self,
        tenant_id: str,
        endpoint_id: str,
        *,
        statuses: Collection[str] | None,
        limit: int,
        offset: int,
    ) -> list[WebhookDeliveryRow]: ...
    def due_delivery_ids(self, now: datetime, limit: int) -> list[int]: ...
    def claim(self, delivery_id: int, now: datetime, lease_until: datetime) -> bool: ...


class _SqlRepository:
    def __init__(self, session: Session) -> None:
        self._session = session


class SqlIdempotencyRepository(_SqlRepository):
    """Idempotency keys in ``idempotency_keys``."""

    def get(self, tenant_id: str, key: str) -> IdempotencyKeyRow | None:
        query = select(IdempotencyKeyRow).where(
            IdempotencyKeyRow.tenant_id == tenant_id, IdempotencyKeyRow.key == key
        )
        return self._session.scalars(query.execution_options(populate_existing=True)).first()

    def try_insert(self, row: IdempotencyKeyRow) -> bool:
        """Insert ``row``; ``False`` (and nothing inserted) when the key is taken already."""
        return insert_unless_taken(self._session, row)

    def claim(self, row: IdempotencyKeyRow, now: datetime) -> bool:
        """Insert ``row`` — or take over its key's expired row — in the open transaction; ``False``
        (nothing written) when the key is held by a live row. On PostgreSQL, a key being inserted by
        a transaction still running makes this wait for that transaction's end."""
        values = {key: getattr(row, key) for key in _KEY_COLUMNS}
        dialect = self._session.get_bind().dialect.name
        statement = _CLAIM_POSTGRESQL if dialect == "postgresql" else _CLAIM_SQLITE
        inserted = self._session.execute(statement, values).first()
        return inserted is not None or self.take_over_expired(row, now)

    def take_over_expired(self, row: IdempotencyKeyRow, now: datetime) -> bool:
        """Reuse the expired row of ``row``'s key for a new reservation; ``False`` if not expired."""
        statement = (
            update(IdempotencyKeyRow)
            .where(
                IdempotencyKeyRow.tenant_id == row.tenant_id,
                IdempotencyKeyRow.key == row.key,
                IdempotencyKeyRow.expires_at <= now,
            )
            .values(
                method=row.method,
                path=row.path,
                request_sha256=row.request_sha256,
                status=row.status,
                response_status=row.response_status,
                response_body=row.response_body,
                created_at=row.created_at,
                expires_at=row.expires_at,
            )
            .returning(IdempotencyKeyRow.id)
            .execution_options(synchronize_session=False)
        )
        return self._session.execute(statement).first() is not None

    def complete(
        self, tenant_id: str, key: str, status_code: int, body: str, now: datetime
    ) -> bool:
        parameters = {"t": tenant_id, "k": key, "status_code": status_code, "body": body}
        return self._session.execute(_COMPLETE, parameters).first() is not None

    def complete_claimed(
        self, tenant_id: str, key: str, status_code: int, body: str, now: datetime
    ) -> None:
        """:meth:`complete` for a key claimed in this transaction (it cannot have moved): sent with
        the next statement or at commit (``polis.store.deferred``)."""
        parameters = {"t": tenant_id, "k": key, "status_code": status_code, "body": body}
        defer(self._session, _COMPLETE, parameters)

    def release(self, tenant_id: str, key: str) -> bool:
        statement = (
            delete(IdempotencyKeyRow)
            .where(
                IdempotencyKeyRow.tenant_id == tenant_id,
                IdempotencyKeyRow.key == key,
                IdempotencyKeyRow.status == "in_progress",
            )
            .returning(IdempotencyKeyRow.id)
            .execution_options(synchronize_session=False)
        )
        return self._session.execute(statement).first() is not None

    def purge_expired(self, now: datetime) -> int:
        statement = (
            delete(IdempotencyKeyRow)
            .where(IdempotencyKeyRow.expires_at <= now)
            .returning(IdempotencyKeyRow.id)
            .execution_options(synchronize_session=False)
        )
        return len(self._session.execute(statement).all())


class SqlOutboxRepository(_SqlRepository):
    """Events in ``outbox``."""

    def add(self, event: OutboxRow) -> None:
        """Insert ``event`` now (one Core ``INSERT``; its id is set from ``RETURNING``)."""
        insert_row(self._session, event)

    def add_later(self, event: OutboxRow) -> None:
        """Insert ``event`` with the next statement or at commit (``polis.store.deferred``; its id
        is not set)."""
        insert_later(self._session, event)

    def get(self, tenant_id: str, event_id: int) -> OutboxRow | None:
        event = self._session.get(OutboxRow, event_id)
        return event if event is not None and event.tenant_id == tenant_id else None

    def unpublished(self, limit: int) -> list[OutboxRow]:
        """The oldest events not fanned out yet (rows locked by another worker are skipped)."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.published_at.is_(None))
            .order_by(OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self._session.scalars(query))

    def mark_published(self, event_id: int, now: datetime) -> bool:
        """Set ``published_at``; ``False`` when another worker published the event first."""
        statement = (
            update(OutboxRow)
            .where(OutboxRow.id == event_id, OutboxRow.published_at.is_(None))
            .values(published_at=now)
            .returning(OutboxRow.id)
            .execution_options(synchronize_session=False)
        )
        return self._session.execute(statement).first() is not None

    def published_since(self, tenant_id: str, since: datetime, limit: int) -> Sequence[OutboxRow]:
        query = (
            select(OutboxRow)
            .where(
                OutboxRow.tenant_id == tenant_id,
                OutboxRow.created_at >= since,
                OutboxRow.published_at.is_not(None),
            )
            .order_by(OutboxRow.created_at, OutboxRow.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))


class SqlWebhookRepository(_SqlRepository):
    """Endpoints in ``webhook_endpoints`` and deliveries in ``webhook_deliveries``."""

    def add_endpoint(self, endpoint: WebhookEndpointRow) -> None:
        self._session.add(endpoint)
        self._session.flush()

    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpointRow | None:
        endpoint = self._session.get(WebhookEndpointRow, endpoint_id)
        return endpoint if endpoint is not None and endpoint.tenant_id == tenant_id else None

    def endpoint_by_id(self, endpoint_id: str) -> WebhookEndpointRow | None:
        """For the delivery worker, which works across tenants."""
        return self._session.get(WebhookEndpointRow, endpoint_id)

    def list_endpoints(self, tenant_id: str) -> list[WebhookEndpointRow]:
        query = select(WebhookEndpointRow).where(
            WebhookEndpointRow.tenant_id == tenant_id, WebhookEndpointRow.deleted_at.is_(None)
        )
        return list(
            self._session.scalars(
                query.order_by(WebhookEndpointRow.created_at, WebhookEndpointRow.id)
            )
        )

    def active_endpoints(self, tenant_id: str) -> list[WebhookEndpointRow]:
        query = select(WebhookEndpointRow).where(
            WebhookEndpointRow.tenant_id == tenant_id, WebhookEndpointRow.active.is_(True)
        )
        return list(self._session.scalars(query.order_by(WebhookEndpointRow.id)))

    def add_delivery(self, delivery: WebhookDeliveryRow) -> None:
        self._session.add(delivery)
        self._session.flush()

    def get_delivery(self, tenant_id: str, delivery_id: int) -> WebhookDeliveryRow | None:
        delivery = self._session.get(WebhookDeliveryRow, delivery_id, populate_existing=True)
        return delivery if delivery is not None and delivery.tenant_id == tenant_id else None

    def delivery_by_id(self, delivery_id: int) -> WebhookDeliveryRow | None:
        """For the delivery worker, which works across tenants."""
        return self._session.get(WebhookDeliveryRow, delivery_id, populate_existing=True)

    def find_delivery(self, endpoint_id: str, event_id: int) -> WebhookDeliveryRow | None:
        query = select(WebhookDeliveryRow).where(
            WebhookDeliveryRow.endpoint_id == endpoint_id, WebhookDeliveryRow.event_id == event_id
        )
        return self._session.scalars(query).first()

    def endpoints_with_delivery(self, event_id: int) -> set[str]:
        query = select(WebhookDeliveryRow.endpoint_id).where(
            WebhookDeliveryRow.event_id == event_id
        )
        return set(self._session.scalars(query))

    def list_deliveries(
        self,
        tenant_id: str,
        endpoint_id: str,
        *,
        statuses: Collection[str] | None,
        limit: int,
        offset: int,
    ) -> list[WebhookDeliveryRow]:
        query = select(WebhookDeliveryRow).where(
            WebhookDeliveryRow.tenant_id == tenant_id,
            WebhookDeliveryRow.endpoint_id == endpoint_id,
        )
        if statuses:
            query = query.where(WebhookDeliveryRow.status.in_(list(statuses)))
        query = query.order_by(WebhookDeliveryRow.id.desc()).limit(limit).offset(offset)
        return list(self._session.scalars(query))

    def due_delivery_ids(self, now: datetime, limit: int) -> list[int]:
        query = (
            select(WebhookDeliveryRow.id)
            .where(
                WebhookDeliveryRow.status.in_(RETRYABLE),
                WebhookDeliveryRow.next_attempt_at <= now,
            )
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def claim(self, delivery_id: int, now: datetime, lease_until: datetime) -> bool:
        """Take a due delivery for one attempt (until ``lease_until``); ``False`` if not due any
        more (another worker took it, or it was delivered)."""
        statement = (
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.id == delivery_id,
                WebhookDeliveryRow.status.in_(RETRYABLE),
                WebhookDeliveryRow.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease_until)
            .returning(WebhookDeliveryRow.id)
            .execution_options(synchronize_session=False)
        )
        return self._session.execute(statement).first() is not None
