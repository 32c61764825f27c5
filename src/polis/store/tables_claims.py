"""Tables of policies and claims (imported by ``polis.store.tables`` so that ``Base.metadata``
holds them; the migration is ``0002_policies_claims``).

Money columns use :class:`Amount`: ``NUMERIC(18, 2)`` on PostgreSQL; on SQLite, whose ``NUMERIC``
affinity would turn ``"1234567890123456.78"`` into a binary float, the exact decimal text
(``VARCHAR(40)``). Either way Python sees a ``Decimal`` rounded to the cent, and sums are done in
Python, not in SQL.

``claim_ledger`` is append-only in the database (triggers refuse UPDATE and DELETE), like
``audit_log``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from polis.store.tables import Base
from polis.store.types import UTCDateTime

__all__ = [
    "Amount",
    "ClaimEvidenceRow",
    "ClaimLedgerRow",
    "ClaimOfferRow",
    "ClaimRow",
    "PolicyRow",
]

_CENT = Decimal("0.01")


class Amount(TypeDecorator[Decimal]):
    """A money amount: ``NUMERIC(18, 2)``, exact decimal text on SQLite (see the module doc)."""

    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(18, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        cents = Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)
        return format(cents, "f") if dialect.name == "sqlite" else cents

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class PolicyRow(Base):
    """A policy: the product version, the holder, and the cover terms as sold (JSON + SHA-256)."""

    __tablename__ = "policies"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    product_version: Mapped[str] = mapped_column(String(32))
    holder: Mapped[str] = mapped_column(String(200))
    terms: Mapped[str] = mapped_column(Text)
    terms_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimRow(Base):
    """A claim (CLM-YYYY-NNNNNN): what happened, its status, its outstanding reserve."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_tenant_id_status", "tenant_id", "status"),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    cover_id: Mapped[str] = mapped_column(String(64))
    peril: Mapped[str] = mapped_column(String(64))
    loss_at: Mapped[datetime] = mapped_column(UTCDateTime())
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(Text)
    circumstances: Mapped[str] = mapped_column(Text)
    estimated_amount: Mapped[Decimal] = mapped_column(Amount())
    status: Mapped[str] = mapped_column(String(30))
    late: Mapped[bool] = mapped_column(Boolean)
    days_late: Mapped[int] = mapped_column(Integer)
    declaration_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    reserve: Mapped[Decimal] = mapped_column(Amount())
    insured_token_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimEvidenceRow(Base):
    """A photo or document of a claim; the file lives on disk under its SHA-256."""

    __tablename__ = "claim_evidence"
    __table_args__ = (UniqueConstraint("claim_id", "sha256"),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[str] = mapped_column(String(100))


class ClaimOfferRow(Base):
    """A settlement offer computed by the engine, with its input, lines and engine version."""

    __tablename__ = "claim_offers"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    loss_amount: Mapped[Decimal] = mapped_column(Amount())
    indemnity: Mapped[Decimal] = mapped_column(Amount())
    retained: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    request: Mapped[str] = mapped_column(Text)
    engine_version: Mapped[str] = mapped_column(String(40))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime())
    made_by: Mapped[str] = mapped_column(String(100))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answer_reason: Mapped[str | None] = mapped_column(Text)


class ClaimLedgerRow(Base):
    """One money entry of a claim: a reserve change (signed delta), a payment or a recovery.

    The database refuses UPDATE and DELETE on this table (triggers created by the migration).
    """

    __tablename__ = "claim_ledger"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Amount())
    reserve_after: Mapped[Decimal | None] = mapped_column(Amount())
    reason: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
