"""How ``polis.store.deferred`` compiles a queued write for PostgreSQL (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, update
from sqlalchemy.engine import make_url

from polis.store import deferred
from polis.store.types import UTCDateTime

DIALECT = make_url("postgresql+psycopg://").get_dialect()()
METADATA = MetaData()
EVENTS = Table(
    "events",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(20)),
    Column("at", UTCDateTime()),
)
COUNTED = Table(
    "counted",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("n", Integer, default=lambda: 7),
)


def test_an_insert_binds_the_given_columns_through_their_types() -> None:
    compiled = deferred._compile_insert(EVENTS, frozenset({"name", "at"}), DIALECT)
    assert compiled.sql.startswith("INSERT INTO events (name, at) VALUES (")
    summer = timezone(timedelta(hours=2))
    bound = compiled.build({"name": "x", "at": datetime(2026, 7, 1, 12, tzinfo=summer)})
    assert bound == {"name": "x", "at": datetime(2026, 7, 1, 10, tzinfo=UTC)}


def test_an_update_fills_in_its_literal_values() -> None:
    statement = update(EVENTS).where(EVENTS.c.id == bindparam("key")).values(name="done")
    compiled = deferred._compile(statement, DIALECT)
    bound = compiled.build({"key": 3})
    assert bound.pop("key") == 3
    assert list(bound.values()) == ["done"]


def test_a_python_side_default_is_refused_rather_than_written_as_null() -> None:
    with pytest.raises(ValueError, match=r"Python-side defaults \(n\)"):
        deferred._compile_insert(COUNTED, frozenset({"id"}), DIALECT)
