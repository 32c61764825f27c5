"""One-statement inserts for rows that are written once and never changed in their transaction.

The ORM's unit of work (``session.add`` + ``flush``) costs far more Python per row than the
``INSERT`` it sends: for the rows of the activation hot path — the window, its ledger entry, its
certificate, the audit entry and the outbox events — :func:`insert_row` sends the ``INSERT``
directly (SQLAlchemy Core, compiled once and cached), after flushing what the session had pending
so that foreign keys still see their parents. The row object is not attached to the session: it
is for reading afterwards (a database-generated primary key is set on it from ``RETURNING``);
a change made to it later would not be saved — read the row again to change it.
"""

from __future__ import annotations

import functools

from sqlalchemy import Insert, Table, insert
from sqlalchemy.orm import DeclarativeBase, Session

from polis.store import deferred

__all__ = ["insert_later", "insert_row"]


def insert_row(session: Session, row: DeclarativeBase) -> None:
    """``INSERT`` ``row`` now with the attributes it was given (module doc)."""
    session.flush()
    values = deferred.row_values(row)
    statement, missing = _statement(type(row), frozenset(values))
    if not missing:
        session.execute(statement, values)
        return
    generated = session.execute(statement, values).one()
    for key, value in zip(missing, generated, strict=True):
        setattr(row, key, value)


def insert_later(session: Session, row: DeclarativeBase) -> None:
    """``INSERT`` ``row`` with the next statement or at commit on PostgreSQL
    (:mod:`polis.store.deferred`: no key is set from ``RETURNING``), now on SQLite."""
    if not deferred.defer_row(session, row):
        insert_row(session, row)


@functools.cache
def _statement(
    entity: type[DeclarativeBase], given: frozenset[str]
) -> tuple[Insert, tuple[str, ...]]:
    """The ``INSERT`` of ``entity`` for the columns ``given`` (built once, so SQLAlchemy finds
    its compiled form at once), with ``RETURNING`` of the primary-key attributes not given."""
    table = entity.__table__
    assert isinstance(table, Table)
    attribute = {column: key for key, column in deferred.attribute_columns(entity).items()}
    missing = [c for c in table.primary_key.columns if c.key not in given]
    statement = insert(table)
    if missing:
        statement = statement.returning(*missing)
    return statement, tuple(attribute[c.key] for c in missing)
