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

from sqlalchemy import Insert, Table, insert, inspect
from sqlalchemy.orm import DeclarativeBase, Session

__all__ = ["insert_row"]


def insert_row(session: Session, row: DeclarativeBase) -> None:
    """``INSERT`` ``row`` now with the attributes it was given (module doc)."""
    session.flush()
    given = inspect(row).dict
    mapped = _columns(type(row))
    values = {column: given[key] for key, column in mapped.items() if key in given}
    statement, missing = _statement(type(row), frozenset(values))
    if not missing:
        session.execute(statement, values)
        return
    generated = session.execute(statement, values).one()
    for key, value in zip(missing, generated, strict=True):
        setattr(row, key, value)


@functools.cache
def _columns(entity: type[DeclarativeBase]) -> dict[str, str]:
    """Attribute name → column name of the entity's table."""
    mapper = inspect(entity)
    table = entity.__table__
    assert isinstance(table, Table)
    return {mapper.get_property_by_column(c).key: c.key for c in table.columns}


@functools.cache
def _statement(
    entity: type[DeclarativeBase], given: frozenset[str]
) -> tuple[Insert, tuple[str, ...]]:
    """The ``INSERT`` of ``entity`` for the columns ``given`` (built once, so SQLAlchemy finds
    its compiled form at once), with ``RETURNING`` of the primary-key attributes not given."""
    table = entity.__table__
    assert isinstance(table, Table)
    attribute = {column: key for key, column in _columns(entity).items()}
    missing = [c for c in table.primary_key.columns if c.key not in given]
    statement = insert(table)
    if missing:
        statement = statement.returning(*missing)
    return statement, tuple(attribute[c.key] for c in missing)
