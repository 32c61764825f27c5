"""The tables, as SQLAlchemy 2 declarative models (``*Row``: persistence shapes, not domain).

Services turn rows into frozen views before returning; no row leaves a unit of work. The Alembic
migrations in ``polis.store.migrations`` are written by hand and must agree with these models
(``tests/integration/test_migrations.py`` compares them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from polis.store.types import UTCDateTime

__all__ = [
    "SYSTEM_CHAIN",
    "ApiKeyRow",
    "AuditLogRow",
    "Base",
    "IdCounterRow",
    "TenantRow",
]

#: The audit chain of events that belong to no tenant.
SYSTEM_CHAIN = "system"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (needed by SQLite batch migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantRow(Base):
    """A customer of the platform (an insurer, a broker, an MGA); its data is isolated."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdCounterRow(Base):
    """The last sequence number handed out for a readable-id prefix and year."""

    __tablename__ = "id_counters"

    prefix: Mapped[str] = mapped_column(String(5), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class ApiKeyRow(Base):
    """An API key: the public ``lookup`` part and the SHA-256 of the whole key, never the key."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_lookup", "lookup", unique=True),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    lookup: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditLogRow(Base):
    """One entry of a hash-chained, append-only audit log (one chain per tenant, plus "system").

    The database refuses UPDATE and DELETE on this table (triggers created by the migration).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_audit_log_entity", "chain", "entity_type", "entity_id"),  # a claim's history
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    chain: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# the policy and claim tables register themselves on ``Base.metadata`` (kept in their own module)
from polis.store import (  # noqa: E402
    tables_claims,  # noqa: F401
    tables_ondemand,  # noqa: F401
    tables_platform,  # noqa: F401
)
