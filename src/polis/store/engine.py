"""Engines and sessions for the two supported databases.

SQLite (the embedded default)
    The parent directory of a file database is created. Each connection gets
    ``PRAGMA foreign_keys=ON``, ``journal_mode=WAL`` and ``busy_timeout=5000``. SQLAlchemy takes
    over transaction control from the ``sqlite3`` driver (its legacy mode skips ``BEGIN`` before
    ``SELECT`` and ``SAVEPOINT``) and opens every transaction with ``BEGIN IMMEDIATE``: writers
    queue on the busy timeout instead of failing with "database is locked" when a transaction that
    has read tries to write after another one committed. SQLite is a one-machine database: writes
    are serialised anyway; scale out on PostgreSQL.

PostgreSQL
    Through psycopg 3: ``postgresql://`` and ``postgres://`` URLs are rewritten to
    ``postgresql+psycopg://``; pooled connections are pinged before use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from polis.kernel.errors import InvalidInput
from polis.store import deferred

__all__ = ["make_engine", "normalize_url", "session_factory"]

_POSTGRES_ALIASES = {"postgres", "postgresql", "postgresql+psycopg", "postgres+psycopg"}


def normalize_url(url: str) -> URL:
    """Parse ``url`` and pick the psycopg 3 driver for PostgreSQL; refuse other databases."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise InvalidInput(f"not a database URL: {url!r}", field="database_url") from e
    if parsed.drivername in _POSTGRES_ALIASES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return parsed
    raise InvalidInput(
        f"unsupported database {parsed.drivername!r}: use sqlite:///path or postgresql+psycopg://",
        field="database_url",
    )


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite file or memory, or PostgreSQL), set up as described above."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    engine = create_engine(parsed, pool_pre_ping=True)
    deferred.install(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection set-up: no driver-managed transactions, foreign keys, WAL, busy timeout."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def _begin_immediate(connection: Connection) -> None:
    """Open each transaction with the write lock, so that it never fails upgrading a read lock."""
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")
