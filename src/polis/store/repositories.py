"""Repositories: the collection-like faces of the tables that the use cases see.

Each contract is a ``Protocol`` (so that an in-memory fake can stand in for it); the ``Sql*``
classes implement them on one SQLAlchemy ``Session`` owned by the unit of work. Repositories flush
but never commit: the unit of work commits once per use case.

Database errors that carry a business meaning are translated here, at the edge:

- a second tenant with the same name → ``Conflict("tenant.exists")``;
- two writers appending the same ``seq`` to one audit chain →
  ``Conflict("audit.concurrent_append")``.
  On SQLite writers are serialised (``BEGIN IMMEDIATE``), so it cannot happen there; on PostgreSQL
  appends to one chain are serialised by a transaction-level advisory lock taken just before the
  head is read (:meth:`SqlAuditRepository.head_for_append`), so two use cases of one tenant queue
  for the short end of their transactions instead of failing. ``unique(chain, seq)`` stays as the
  safety net: a writer that skipped the lock loses on it and its whole use case is rolled back, so
  the chain never forks.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Protocol

from sqlalchemy import BigInteger, Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from polis.kernel.errors import Conflict
from polis.kernel.ids import ReadableId
from polis.store.deferred import flush_then
from polis.store.inserts import insert_later
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
    "insert_unless_taken",
]


def insert_unless_taken(session: Session, row: object) -> bool:
    """Insert ``row`` in a savepoint; ``False`` (nothing inserted, the transaction still usable)
    when a unique constraint says its key is taken already — by another writer, possibly one
    that committed while this insert waited for it (PostgreSQL)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


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
    def head_for_append(self, chain: str) -> tuple[int, str] | None: ...
    def list(self, chain: str, *, limit: int, offset: int) -> list[AuditLogRow]: ...
    def iterate(self, chain: str) -> Iterator[AuditLogRow]: ...
    def list_for_entity(
        self, chain: str, entity_type: str, entity_id: str
    ) -> Sequence[AuditLogRow]: ...


class IdRepository(Protocol):
    """Sequence numbers for readable ids, one counter per prefix and year."""

    def next(self, prefix: str, year: int) -> ReadableId: ...
    def allocate(self, prefix: str, year: int) -> ReadableId: ...


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


_AUDIT_TABLE = AuditLogRow.__table__
_AUDIT_LOCK = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))
_AUDIT_HEAD = (
    select(_AUDIT_TABLE.c.seq, _AUDIT_TABLE.c.hash)
    .where(_AUDIT_TABLE.c.chain == bindparam("chain"))
    .order_by(_AUDIT_TABLE.c.seq.desc())
    .limit(1)
)


def _concurrent_append(chain: str | None) -> Conflict:
    where = "an audit chain" if chain is None else f"the audit chain {chain!r}"
    return Conflict(
        f"another entry was appended to {where} concurrently", code="audit.concurrent_append"
    )


def audit_clash(error: IntegrityError) -> Conflict | None:
    """The ``Conflict`` of an audit entry refused at commit because its ``seq`` was taken (an
    append queued on PostgreSQL by a writer that skipped the chain's lock), else ``None``."""
    diagnostic = getattr(error.orig, "diag", None)
    if getattr(diagnostic, "table_name", None) != AuditLogRow.__tablename__:
        return None
    return _concurrent_append(None)


class SqlAuditRepository(_SqlRepository):
    """Audit entries in the ``audit_log`` table (which the database keeps append-only)."""

    def append(self, entry: AuditLogRow) -> None:
        """Insert ``entry`` (never changed afterwards): on PostgreSQL with the next statement or at
        commit (``polis.store.deferred``) — the chain's lock taken by :meth:`head_for_append` keeps
        its ``seq`` free —, at once elsewhere, where a ``seq`` already taken raises ``Conflict``."""
        try:
            insert_later(self._session, entry)
        except IntegrityError as e:
            raise _concurrent_append(entry.chain) from e

    def last(self, chain: str) -> AuditLogRow | None:
        """The head of ``chain`` (highest ``seq``), ``None`` for an empty chain."""
        query = select(AuditLogRow).where(AuditLogRow.chain == chain)
        return self._session.scalars(query.order_by(AuditLogRow.seq.desc()).limit(1)).first()

    def head_for_append(self, chain: str) -> tuple[int, str] | None:
        """``(seq, hash)`` of the head of ``chain``, read to append after it: on PostgreSQL the
        chain's advisory lock is taken first and held until the transaction ends, so appends to one
        chain queue instead of racing (module doc)."""
        connection = self._session.connection()
        parameters = {"chain": chain}
        if connection.dialect.name == "postgresql":
            # one round trip: the writes queued so far, the lock, then the head (read after the
            # lock is held: a statement of its own, so its snapshot sees the last append)
            lock = {"key": _lock_key("audit", chain)}
            rows = flush_then(self._session, [(_AUDIT_LOCK, lock), (_AUDIT_HEAD, parameters)])[1]
        else:
            rows = list(connection.execute(_AUDIT_HEAD, parameters))
        return None if not rows else (rows[0][0], rows[0][1])

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

    Two kinds of numbers:

    - :meth:`next` — gapless: ``UPDATE … SET last = last + 1 … RETURNING last`` inside the caller's
      transaction locks the counter row until that transaction ends, so two transactions never get
      the same number and a rolled-back one gives its number back. The first number of a prefix and
      year is inserted in a savepoint; if another transaction inserted it first, the unique primary
      key refuses ours and the update is tried again (PostgreSQL then sees the committed row).
    - :meth:`allocate` — unique and increasing within a process, but not gapless: on PostgreSQL a
      process takes a block of :data:`BLOCK` numbers in a short transaction of its own and hands
      them out from memory, so the caller's transaction holds no counter lock at all (hot paths
      shared by every tenant: window and certificate numbers). Numbers of a failed transaction,
      and the rest of a block when the process stops, are skipped; several processes interleave.
      On SQLite, where writers are serialised anyway (and a second connection could not write
      while the caller's transaction holds the lock), it is :meth:`next`.
    """

    def next(self, prefix: str, year: int) -> ReadableId:
        """The next readable id for ``prefix`` and ``year`` (numbers start at 1, no gaps)."""
        ReadableId(prefix, year, 1)  # validates prefix and year before touching the database
        number = _take(self._session, prefix, year, 1)
        return ReadableId(prefix, year, number)

    def allocate(self, prefix: str, year: int) -> ReadableId:
        """A readable id for ``prefix`` and ``year`` that no other caller ever gets (class doc)."""
        ReadableId(prefix, year, 1)
        engine = self._session.get_bind()
        if not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
            return self.next(prefix, year)
        return ReadableId(prefix, year, _blocks_of(engine).take(engine, prefix, year))


#: numbers a process takes at once for :meth:`SqlIdRepository.allocate`
BLOCK = 32


class _Blocks:
    """The unused numbers of one process, per prefix and year, for one database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ranges: dict[tuple[str, int], tuple[int, int]] = {}

    def take(self, engine: Engine, prefix: str, year: int) -> int:
        with self._lock:
            following, end = self._ranges.get((prefix, year), (0, 0))
            if following >= end:
                with engine.begin() as connection:
                    end = _take(connection, prefix, year, BLOCK) + 1
                following = end - BLOCK
            self._ranges[(prefix, year)] = (following + 1, end)
            return following


_BLOCKS: weakref.WeakKeyDictionary[Engine, _Blocks] = weakref.WeakKeyDictionary()
_BLOCKS_LOCK = threading.Lock()


def _blocks_of(engine: Engine) -> _Blocks:
    with _BLOCKS_LOCK:
        blocks = _BLOCKS.get(engine)
        if blocks is None:
            blocks = _BLOCKS[engine] = _Blocks()
        return blocks


def _take(executor: Session | Connection, prefix: str, year: int, count: int) -> int:
    """Add ``count`` to the counter of ``prefix`` and ``year`` (created at 0 if missing) in the
    executor's transaction; the new last number."""
    number = _increment(executor, prefix, year, count)
    if number is None:
        try:
            with executor.begin_nested():
                executor.execute(insert(IdCounterRow).values(prefix=prefix, year=year, last=count))
            number = count
        except IntegrityError:
            number = _increment(executor, prefix, year, count)
    if number is None:  # pragma: no cover - the row exists after a duplicate-key refusal
        raise RuntimeError(f"could not allocate an id for {prefix}-{year}")
    return number


def _increment(executor: Session | Connection, prefix: str, year: int, count: int) -> int | None:
    statement = (
        update(IdCounterRow)
        .where(IdCounterRow.prefix == prefix, IdCounterRow.year == year)
        .values(last=IdCounterRow.last + count)
        .returning(IdCounterRow.last)
        .execution_options(synchronize_session=False)
    )
    result: int | None = executor.execute(statement).scalar_one_or_none()
    return result


def _lock_key(kind: str, name: str) -> int:
    """A signed 64-bit key for ``pg_advisory_xact_lock``, stable across processes."""
    digest = hashlib.sha256(f"polis:{kind}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
