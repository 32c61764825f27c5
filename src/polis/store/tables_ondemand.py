"""Tables of on-demand micro-policies (imported by ``polis.store.tables`` so that ``Base.metadata``
holds them; the migration is ``0004_ondemand``).

- ``ondemand_customers`` (``CUS-YYYY-NNNNNN``): persons and businesses, verification status;
- ``ondemand_subscriptions`` (``SUB-YYYY-NNNNNN``): a customer's product, options, insured items,
  the terms snapshot as accepted (canonical JSON) and its SHA-256, and the policy of each item;
- ``ondemand_windows`` (``WIN-YYYY-NNNNNN``): cover windows ``[starts_at, ends_at)`` on one item;
- ``ondemand_ledger``: charges and refunds, append-only (triggers refuse UPDATE and DELETE), with
  the priced detail (``polis.ondemand.codec`` JSON) an early stop re-prices;
- ``ondemand_certificates`` (``ATT-YYYY-NNNNNN``) with their signed canonical content, and
  ``ondemand_certificate_pdfs`` (the PDF bytes and their SHA-256); ``ondemand_signing_keys``: the
  public key of every key id that signed a certificate (key rotation);
- triggers: ``ondemand_calendars`` and ``ondemand_missions`` (a mission and the latest cover
  decided for it), ``ondemand_geofences`` and ``ondemand_trackers`` (``TrackerState`` JSON),
  ``ondemand_partner_refs`` (``PartnerRefState`` JSON), ``ondemand_reminders`` (what was sent).

Money columns are :class:`~polis.store.tables_claims.Amount` (exact on SQLite too).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from polis.store.tables import Base
from polis.store.tables_claims import Amount
from polis.store.types import UTCDateTime

__all__ = [
    "OnDemandCalendarRow",
    "OnDemandCertificatePdfRow",
    "OnDemandCertificateRow",
    "OnDemandCustomerRow",
    "OnDemandGeofenceRow",
    "OnDemandLedgerRow",
    "OnDemandMissionRow",
    "OnDemandPartnerRefRow",
    "OnDemandReminderRow",
    "OnDemandSigningKeyRow",
    "OnDemandSubscriptionRow",
    "OnDemandTrackerRow",
    "OnDemandWindowRow",
]

_SERIAL = BigInteger().with_variant(Integer, "sqlite")


class OnDemandCustomerRow(Base):
    """A person or a business buying on-demand cover; ``address`` is JSON."""

    __tablename__ = "ondemand_customers"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    activity: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)
    siren: Mapped[str | None] = mapped_column(String(9))
    siret: Mapped[str | None] = mapped_column(String(14))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10))
    status_reason: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OnDemandSubscriptionRow(Base):
    """A subscription: the terms snapshot as accepted (text + SHA-256) and the options chosen.

    ``risk``, ``items`` and ``policies`` (item ref → policy id) are JSON.
    """

    __tablename__ = "ondemand_subscriptions"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("ondemand_customers.id"), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    product_version: Mapped[str] = mapped_column(String(32))
    product_sha256: Mapped[str] = mapped_column(String(64))
    ondemand_sha256: Mapped[str] = mapped_column(String(64))
    terms_sha256: Mapped[str] = mapped_column(String(64))
    terms_snapshot: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(10))
    unit: Mapped[str] = mapped_column(String(10))
    sum_insured: Mapped[Decimal] = mapped_column(Amount())
    deductible: Mapped[Decimal] = mapped_column(Amount())
    risk: Mapped[str] = mapped_column(Text)
    items: Mapped[str] = mapped_column(Text)
    geofence_ref: Mapped[str | None] = mapped_column(String(200))
    policies: Mapped[str] = mapped_column(Text)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # right of withdrawal (migration 0006)
    sale_channel: Mapped[str] = mapped_column(
        String(10), default="distance", server_default="distance"
    )
    terms_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawal: Mapped[str | None] = mapped_column(Text)


class OnDemandWindowRow(Base):
    """A cover window ``[starts_at, ends_at)`` on one item; ``sold_end`` is the end as sold."""

    __tablename__ = "ondemand_windows"
    __table_args__ = (
        Index("ix_ondemand_windows_tenant_id_object_ref", "tenant_id", "object_ref"),
        Index("ix_ondemand_windows_subscription_id_object_ref", "subscription_id", "object_ref"),
        Index("ix_ondemand_windows_customer_id_created_at", "customer_id", "created_at"),
        Index("ix_ondemand_windows_expired_notified_at_ends_at", "expired_notified_at", "ends_at"),
    )

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("ondemand_customers.id"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("ondemand_subscriptions.id"))
    object_ref: Mapped[str] = mapped_column(String(100))
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sold_end: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expired_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OnDemandLedgerRow(Base):
    """A charge (activation, extension) or a refund (stop, close, cancel) of a window.

    ``detail`` is the priced charge or refund (``charge_to_json`` / ``refund_to_json``). The
    database refuses UPDATE and DELETE on this table (triggers created by the migration).
    """

    __tablename__ = "ondemand_ledger"
    __table_args__ = (
        Index("ix_ondemand_ledger_customer_id_at", "customer_id", "at"),
        Index("ix_ondemand_ledger_subscription_id_object_ref", "subscription_id", "object_ref"),
    )

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("ondemand_customers.id"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("ondemand_subscriptions.id"))
    window_id: Mapped[str] = mapped_column(ForeignKey("ondemand_windows.id"), index=True)
    object_ref: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_date: Mapped[date] = mapped_column(Date)
    total: Mapped[Decimal] = mapped_column(Amount())
    taxes: Mapped[Decimal] = mapped_column(Amount())
    detail: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OnDemandCertificateRow(Base):
    """A certificate: its canonical content (UTF-8 JSON), hash, Ed25519 signature and key id; the
    PDF (a pure function of these and of ``public_base_url``) is rendered at its first download."""

    __tablename__ = "ondemand_certificates"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    window_id: Mapped[str] = mapped_column(ForeignKey("ondemand_windows.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("ondemand_subscriptions.id"))
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))  # NULL until first rendered
    pdf_size: Mapped[int | None] = mapped_column(Integer)
    public_base_url: Mapped[str | None] = mapped_column(String(2000))  # what the QR code points to


class OnDemandCertificatePdfRow(Base):
    """The PDF of a certificate, as issued (kept apart so that listing certificates stays light)."""

    __tablename__ = "ondemand_certificate_pdfs"

    number: Mapped[str] = mapped_column(
        ForeignKey("ondemand_certificates.number"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)


class OnDemandSigningKeyRow(Base):
    """The raw Ed25519 public key (base64url) of a key id that signed certificates."""

    __tablename__ = "ondemand_signing_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OnDemandCalendarRow(Base):
    """The calendar of one item of a subscription: its source, margins and last sync."""

    __tablename__ = "ondemand_calendars"
    __table_args__ = (UniqueConstraint("subscription_id", "object_ref"),)

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("ondemand_subscriptions.id"))
    object_ref: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(10))
    url: Mapped[str | None] = mapped_column(String(2000))
    margin_before_s: Mapped[int] = mapped_column(Integer)
    margin_after_s: Mapped[int] = mapped_column(Integer)
    acceptance: Mapped[str] = mapped_column(String(30))
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_feed_sha256: Mapped[str | None] = mapped_column(String(64))
    issues: Mapped[str] = mapped_column(Text)


class OnDemandMissionRow(Base):
    """A mission of a calendar (``mission_status`` ``removed`` once gone from the feed) and the
    latest cover decided for it (``cover_*``, a ``MissionCover``)."""

    __tablename__ = "ondemand_missions"
    __table_args__ = (UniqueConstraint("subscription_id", "object_ref", "mission_key"),)

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("ondemand_subscriptions.id"))
    object_ref: Mapped[str] = mapped_column(String(100))
    mission_key: Mapped[str] = mapped_column(String(500))
    mission_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mission_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mission_status: Mapped[str] = mapped_column(String(12))
    summary: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text)
    all_day: Mapped[bool] = mapped_column(Boolean)
    cover_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cover_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cover_status: Mapped[str | None] = mapped_column(String(12))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OnDemandGeofenceRow(Base):
    """The geofence of a subscription: GeoJSON geometry, buffer and hysteresis rules (JSON)."""

    __tablename__ = "ondemand_geofences"

    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("ondemand_subscriptions.id"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    object_ref: Mapped[str] = mapped_column(String(100))
    geometry: Mapped[str] = mapped_column(Text)
    settings: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OnDemandTrackerRow(Base):
    """The geofence trigger's memory for one device (``TrackerState`` JSON) and its open window."""

    __tablename__ = "ondemand_trackers"
    __table_args__ = (UniqueConstraint("subscription_id", "device_ref"),)

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("ondemand_subscriptions.id"))
    device_ref: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(Text)
    window_id: Mapped[str | None] = mapped_column(ForeignKey("ondemand_windows.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OnDemandPartnerRefRow(Base):
    """A partner's own reference (a rental, a job): ``PartnerRefState`` JSON and its window."""

    __tablename__ = "ondemand_partner_refs"
    __table_args__ = (UniqueConstraint("tenant_id", "partner_ref"),)

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("ondemand_subscriptions.id"))
    object_ref: Mapped[str] = mapped_column(String(100))
    partner_ref: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(Text)
    window_id: Mapped[str | None] = mapped_column(ForeignKey("ondemand_windows.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OnDemandReminderRow(Base):
    """A reminder sent (or superseded: never to be sent late), unique by its ``ReminderKey``."""

    __tablename__ = "ondemand_reminders"
    __table_args__ = (UniqueConstraint("subscription_id", "reminder_key"),)

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("ondemand_subscriptions.id"))
    reminder_key: Mapped[str] = mapped_column(String(1000))
    key_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(254))
    mission_key: Mapped[str] = mapped_column(String(500))
    message_key: Mapped[str | None] = mapped_column(String(100))
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    event_id: Mapped[int | None] = mapped_column(_SERIAL)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
