"""Writes sent later and together, on PostgreSQL: one round trip for the writes of a use case.

A use case such as an activation writes rows that nothing reads back in its transaction — the
window, its ledger entry, its certificate, the outbox events, the audit entry, the stored answer of
an idempotent call. Sent one by one, each costs a round trip, a SQLAlchemy execution and a
PostgreSQL wake-up: on two cores that was most of an activation's time. :func:`defer` queues such a
statement on the session's connection instead; the queue is sent as one psycopg *pipeline* (the
statements go out together and PostgreSQL answers them in order, prepared after a few uses):

- before any other statement SQLAlchemy sends on that connection (a read always sees the writes
  queued before it; the queue rides in front of it);
- at commit, with the ``COMMIT`` itself in the same pipeline (an error there fails the commit:
  nothing is half-written; SQLAlchemy's own ``COMMIT`` then finds the transaction closed, which
  psycopg treats as done);
- or, with :func:`flush_then`, together with statements whose rows the caller wants (the audit
  chain's lock and head: :meth:`polis.store.repositories.SqlAuditRepository.head_for_append`).

A rollback drops the queue. On SQLite (one writer, in-process: no round trips to save) the
statement runs at once, as without this module.

What to defer: writes whose result the use case does not read (``RETURNING`` is dropped; a
database-generated key is not set on the row), and that cannot fail but for a bug or a lost
connection — an error is raised at the flush, as SQLAlchemy's ``DBAPIError`` of the statement that
failed, not at the call that queued it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, Insert, Table, event, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.dml import UpdateBase

__all__ = [
    "attribute_columns",
    "defer",
    "defer_row",
    "flush_then",
    "install",
    "pending",
    "row_values",
]

_QUEUE = "polis.deferred"


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement compiled once for PostgreSQL: its SQL and how to bind its parameters."""

    sql: str
    build: Callable[[Mapping[str, Any]], dict[str, Any]]


Queued = tuple[str, dict[str, Any]]


def install(engine: Engine) -> None:
    """Send the queue before every statement and at commit, drop it at rollback (PostgreSQL
    engines; called by :func:`polis.store.make_engine`)."""
    event.listen(engine, "before_cursor_execute", _before_statement)
    event.listen(engine, "commit", _flush_connection)
    event.listen(engine, "rollback", _drop)
    event.listen(engine.pool, "checkin", _drop_record)


def defer(session: Session, statement: UpdateBase, parameters: Mapping[str, Any]) -> None:
    """Queue a Core ``INSERT``/``UPDATE``/``DELETE`` (built once, with named bind parameters) and
    its parameters; run it at once on SQLite."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(statement, dict(parameters))
        return
    compiled = _compile(statement, connection.dialect)
    _queue(connection).append((compiled.sql, compiled.build(parameters)))


def defer_row(session: Session, row: DeclarativeBase) -> bool:
    """Queue the ``INSERT`` of ``row`` with the attributes it was given (PostgreSQL); ``False``
    (nothing queued) on SQLite, where the caller inserts it at once. The row is not attached to the
    session."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return False
    session.flush()  # the session's pending rows go first: queued rows may refer to them
    values = row_values(row)
    table = type(row).__table__
    assert isinstance(table, Table)
    compiled = _compile_insert(table, frozenset(values), connection.dialect)
    _queue(connection).append((compiled.sql, compiled.build(values)))
    return True


def pending(session: Session) -> int:
    """How many statements are queued on the session's connection (0 on SQLite)."""
    connection = session.connection()
    return len(connection.info.get(_QUEUE, ()))


def flush_then(
    session: Session, statements: Sequence[tuple[UpdateBase | Any, Mapping[str, Any]]]
) -> list[list[tuple[Any, ...]]]:
    """Send the queue and then ``statements`` (compiled Core statements with parameters) in one
    pipeline on PostgreSQL; the rows of each of ``statements``, in order."""
    connection = session.connection()
    extra: list[Queued] = []
    for statement, parameters in statements:
        compiled = _compile(statement, connection.dialect)
        extra.append((compiled.sql, compiled.build(parameters)))
    return _send(connection, extra)


# --- the queue ---------------------------------------------------------------------------------


def _queue(connection: Connection) -> list[Queued]:
    queue: list[Queued] = connection.info.setdefault(_QUEUE, [])
    return queue


def _send(
    connection: Connection, extra: Sequence[Queued] = (), *, commit: bool = False
) -> list[list[tuple[Any, ...]]]:
    """Send the queued statements, then ``extra``, in one pipeline (``commit``: and the
    ``COMMIT``); the rows of ``extra``."""
    queued: list[Queued] = connection.info.pop(_QUEUE, [])
    if not queued and not extra:
        return []
    raw = connection.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    cursors: list[psycopg.Cursor[Any]] = []
    try:
        with raw.pipeline():
            for sql, parameters in queued:
                raw.execute(sql, parameters, prepare=True)
            for sql, parameters in extra:
                cursors.append(raw.execute(sql, parameters, prepare=True))
            if commit:
                raw.commit()
        return [cursor.fetchall() for cursor in cursors]
    except psycopg.Error as e:  # raised at the pipeline's sync: which statement is in the message
        statements = "\n".join(sql for sql, _ in [*queued, *extra])
        raise DBAPIError.instance(
            statements, None, e, psycopg.Error, dialect=connection.dialect
        ) from e


def _before_statement(connection: Connection, *_: Any) -> None:
    if connection.info.get(_QUEUE):
        _send(connection)


def _flush_connection(connection: Connection) -> None:
    if connection.info.get(_QUEUE):
        _send(connection, commit=True)


def _drop(connection: Connection) -> None:
    connection.info.pop(_QUEUE, None)


def _drop_record(_dbapi_connection: Any, record: Any) -> None:
    record.info.pop(_QUEUE, None)


# --- compiling ---------------------------------------------------------------------------------


def row_values(row: DeclarativeBase) -> dict[str, Any]:
    """Column name → value of the attributes ``row`` was given (not those left unset)."""
    given = inspect(row).dict
    return {
        column: given[key] for key, column in attribute_columns(type(row)).items() if key in given
    }


@functools.cache
def attribute_columns(entity: type[DeclarativeBase]) -> dict[str, str]:
    """Attribute name → column name of the entity's table."""
    mapper = inspect(entity)
    table = entity.__table__
    assert isinstance(table, Table)
    return {mapper.get_property_by_column(c).key: c.key for c in table.columns}


@functools.lru_cache(maxsize=256)
def _compile_insert(table: Table, given: frozenset[str], dialect: Dialect) -> _Compiled:
    statement: Insert = table.insert()
    return _compiled(statement, dialect, column_keys=sorted(given))


@functools.lru_cache(maxsize=256)
def _compile(statement: Any, dialect: Dialect) -> _Compiled:
    return _compiled(statement, dialect)


def _compiled(statement: Any, dialect: Dialect, column_keys: list[str] | None = None) -> _Compiled:
    """The SQL of ``statement`` for ``dialect`` and a function from the caller's parameters to the
    bound ones: defaults and literal values filled in, each converted by its type's bind processor
    (e.g. :class:`polis.store.types.UTCDateTime`)."""
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    computed = [*compiled.insert_prefetch, *compiled.update_prefetch]
    if computed:  # SQLAlchemy computes these defaults while executing: a queued write cannot
        names = ", ".join(sorted(column.key for column in computed))
        raise ValueError(f"a deferred write cannot compute Python-side defaults ({names})")
    processors = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor

    def build(parameters: Mapping[str, Any]) -> dict[str, Any]:
        bound: dict[str, Any] = compiled.construct_params(dict(parameters))
        for name, processor in processors.items():
            if name in bound:
                bound[name] = processor(bound[name])
        return bound

    return _Compiled(compiled.string, build)
