"""Repositories: the collection-like faces of the tables that the use cases see.

Each contract is a ``Protocol`` (so that an in-memory fake can stand in for it); the ``Sql*``
classes implement them on one SQLAlchemy ``Session`` owned by the unit of work. Repositories flush
but never commit: the unit of work commits once per use case.

Database errors that carry a business meaning are translated here, at the edge:

- a second tenant with the same name → ``Conflict("tenant.exists")``;
- two writers appending the same ``seq`` to one audit chain →
  ``Conflict("audit.concurrent_append")``.
  On SQLite writers are serialised (``BEGIN IMMEDIATE``), so it cannot happen there; on PostgreSQL
  the loser of the race fails on ``unique(chain, seq)`` and its whole use case is rolled back, so
  the chain never forks. The caller may retry the use case.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from polis.kernel.errors import Conflict
from polis.kernel.ids import ReadableId
from polis.store.tables import ApiKeyRow, AuditLogRow, IdCounterRow, TenantRow

__all__ = [
    "ApiKeyRepository",
    "AuditRepository",
    "IdRepository",
    "SqlApiKeyRepository",
    "SqlAuditRepository",
    "SqlIdRepository",
    "SqlTenantRepository",
    "TenantRepository",
]


class TenantRepository(Protocol):
    """Tenants by id and by name."""

    def add(self, tenant: TenantRow) -> None: ...
    def get(self, tenant_id: str) -> TenantRow | None: ...
    def get_by_name(self, name: str) -> TenantRow | None: ...
    def list(self) -> list[TenantRow]: ...


class ApiKeyRepository(Protocol):
    """API keys by id, by public lookup prefix, and per tenant."""

    def add(self, key: ApiKeyRow) -> None: ...
    def get(self, key_id: str) -> ApiKeyRow | None: ...
    def find_by_lookup(self, lookup: str) -> ApiKeyRow | None: ...
    def list_for_tenant(self, tenant_id: str) -> list[ApiKeyRow]: ...


class AuditRepository(Protocol):
    """The append-only audit chains."""

    def append(self, entry: AuditLogRow) -> None: ...
    def last(self, chain: str) -> AuditLogRow | None: ...
    def list(self, chain: str, *, limit: int, offset: int) -> list[AuditLogRow]: ...
    def iterate(self, chain: str) -> Iterator[AuditLogRow]: ...
    def list_for_entity(
        self, chain: str, entity_type: str, entity_id: str
    ) -> Sequence[AuditLogRow]: ...


class IdRepository(Protocol):
    """Sequence numbers for readable ids, one counter per prefix and year."""

    def next(self, prefix: str, year: int) -> ReadableId: ...


class _SqlRepository:
    def __init__(self, session: Session) -> None:
        self._session = session


class SqlTenantRepository(_SqlRepository):
    """Tenants in the ``tenants`` table."""

    def add(self, tenant: TenantRow) -> None:
        """Insert ``tenant`` now; a taken name raises ``Conflict("tenant.exists")``."""
        self._session.flush()
        self._session.add(tenant)
        try:
            self._session.flush()
        except IntegrityError as e:
            raise Conflict(
                f"a tenant named {tenant.name!r} already exists", field="name", code="tenant.exists"
            ) from e

    def get(self, tenant_id: str) -> TenantRow | None:
        return self._session.get(TenantRow, tenant_id)

    def get_by_name(self, name: str) -> TenantRow | None:
        return self._session.scalars(select(TenantRow).where(TenantRow.name == name)).first()

    def list(self) -> list[TenantRow]:
        return list(
            self._session.scalars(select(TenantRow).order_by(TenantRow.created_at, TenantRow.id))
        )


class SqlApiKeyRepository(_SqlRepository):
    """API keys in the ``api_keys`` table."""

    def add(self, key: ApiKeyRow) -> None:
        self._session.add(key)
        self._session.flush()

    def get(self, key_id: str) -> ApiKeyRow | None:
        return self._session.get(ApiKeyRow, key_id)

    def find_by_lookup(self, lookup: str) -> ApiKeyRow | None:
        return self._session.scalars(select(ApiKeyRow).where(ApiKeyRow.lookup == lookup)).first()

    def list_for_tenant(self, tenant_id: str) -> list[ApiKeyRow]:
        query = select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant_id)
        return list(self._session.scalars(query.order_by(ApiKeyRow.created_at, ApiKeyRow.id)))


class SqlAuditRepository(_SqlRepository):
    """Audit entries in the ``audit_log`` table (which the database keeps append-only)."""

    def append(self, entry: AuditLogRow) -> None:
        """Insert ``entry`` now; a ``seq`` already taken raises ``Conflict``."""
        self._session.flush()
        self._session.add(entry)
        try:
            self._session.flush()
        except IntegrityError as e:
            raise Conflict(
                f"another entry was appended to the audit chain {entry.chain!r} concurrently",
                code="audit.concurrent_append",
            ) from e

    def last(self, chain: str) -> AuditLogRow | None:
        """The head of ``chain`` (highest ``seq``), ``None`` for an empty chain."""
        query = select(AuditLogRow).where(AuditLogRow.chain == chain)
        return self._session.scalars(query.order_by(AuditLogRow.seq.desc()).limit(1)).first()

    def list(self, chain: str, *, limit: int, offset: int) -> list[AuditLogRow]:
        query = select(AuditLogRow).where(AuditLogRow.chain == chain).order_by(AuditLogRow.seq)
        return list(self._session.scalars(query.limit(limit).offset(offset)))

    def iterate(self, chain: str) -> Iterator[AuditLogRow]:
        """Every entry of ``chain`` in ``seq`` order, fetched in batches."""
        query = select(AuditLogRow).where(AuditLogRow.chain == chain).order_by(AuditLogRow.seq)
        yield from self._session.scalars(query.execution_options(yield_per=500))

    def list_for_entity(
        self, chain: str, entity_type: str, entity_id: str
    ) -> Sequence[AuditLogRow]:
        """The entries of ``chain`` about one entity (e.g. a claim's history), in ``seq`` order."""
        query = select(AuditLogRow).where(
            AuditLogRow.chain == chain,
            AuditLogRow.entity_type == entity_type,
            AuditLogRow.entity_id == entity_id,
        )
        return list(self._session.scalars(query.order_by(AuditLogRow.seq)))


class SqlIdRepository(_SqlRepository):
    """Counters in ``id_counters``, safe under concurrent allocation on SQLite and PostgreSQL.

    ``UPDATE … SET last = last + 1 … RETURNING last`` locks the counter row until the transaction
    ends, so two transactions never get the same number. The first number of a prefix and year is
    inserted in a savepoint; if another transaction inserted it first, the unique primary key
    refuses ours and the update is tried again (PostgreSQL then sees the committed row).
    """

    def next(self, prefix: str, year: int) -> ReadableId:
        """The next readable id for ``prefix`` and ``year`` (numbers start at 1, no gaps)."""
        ReadableId(prefix, year, 1)  # validates prefix and year before touching the database
        number = self._increment(prefix, year)
        if number is None:
            try:
                with self._session.begin_nested():
                    self._session.execute(
                        insert(IdCounterRow).values(prefix=prefix, year=year, last=1)
                    )
                number = 1
            except IntegrityError:
                number = self._increment(prefix, year)
        if number is None:  # pragma: no cover - the row exists after a duplicate-key refusal
            raise RuntimeError(f"could not allocate an id for {prefix}-{year}")
        return ReadableId(prefix, year, number)

    def _increment(self, prefix: str, year: int) -> int | None:
        statement = (
            update(IdCounterRow)
            .where(IdCounterRow.prefix == prefix, IdCounterRow.year == year)
            .values(last=IdCounterRow.last + 1)
            .returning(IdCounterRow.last)
            .execution_options(synchronize_session=False)
        )
        return self._session.execute(statement).scalar_one_or_none()
