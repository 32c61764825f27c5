"""Tables of the platform plumbing (imported by ``polis.store.tables`` so that ``Base.metadata``
holds them; the migration is ``0003_idempotency_outbox_webhooks``).

- ``idempotency_keys``: the ``Idempotency-Key`` of a creating call, the fingerprint of its request
  and, once done, the response to replay (see ``polis.services.idempotency``);
- ``outbox``: events written in the same transaction as the change (``polis.services.outbox``);
- ``webhook_endpoints`` and ``webhook_deliveries``: where a tenant wants its events, and each
  endpoint × event delivery with its attempts (``polis.services.webhooks``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from polis.store.tables import Base
from polis.store.types import UTCDateTime

__all__ = [
    "IdempotencyKeyRow",
    "OutboxRow",
    "WebhookDeliveryRow",
    "WebhookEndpointRow",
]

_SERIAL = BigInteger().with_variant(Integer, "sqlite")


class IdempotencyKeyRow(Base):
    """An ``Idempotency-Key`` of a tenant: ``in_progress`` while the call runs, then ``done``."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class OutboxRow(Base):
    """An event written with the change it describes; ``published_at`` once fanned out."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class WebhookEndpointRow(Base):
    """A receiver URL of a tenant (``WHK-YYYY-NNNNNN``), its signing secret and event filter.

    ``event_types`` is a JSON list of event types; an empty list means every event.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    event_types: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookDeliveryRow(Base):
    """One event to one endpoint: ``pending`` → ``delivered``, or ``failed`` (retrying) → ``dead``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[int] = mapped_column(_SERIAL, ForeignKey("outbox.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
