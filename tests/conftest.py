"""Shared fixtures: real databases, migrated with the shipped migrations.

``database_url`` runs every ``db`` test on SQLite (a file in a temporary directory) and, when
``POLIS_TEST_DATABASE_URL`` is set, on PostgreSQL too (test ids ``[sqlite]`` / ``[postgresql]``).
That PostgreSQL database is migrated from scratch (``downgrade base`` then ``upgrade``) at session
start; under pytest-xdist each worker gets its own scratch database on the same server instead. A
PostgreSQL URL that is set but unreachable fails the session: it is never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from polis.store import SqlUnitOfWork, downgrade, make_engine, session_factory, upgrade
from polis.store.engine import normalize_url

POSTGRES_URL = os.environ.get("POLIS_TEST_DATABASE_URL") or None
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def backend_of(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"``."""
    return normalize_url(url).get_backend_name()


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'polis.db'}"


@contextmanager
def scratch_postgres_database(url: str, name: str | None = None) -> Iterator[str]:
    """A new, empty database on the server of ``url``, dropped afterwards; yields its URL."""
    server = normalize_url(url)
    name = name or f"polis_scratch_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _check_reachable(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as e:
        raise RuntimeError(
            "POLIS_TEST_DATABASE_URL is set but the PostgreSQL server cannot be reached; "
            "the PostgreSQL tests must run, so the session fails"
        ) from e
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database for the whole session, one per backend."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("sqlite"))
        upgrade(url)
        yield url
        return
    assert POSTGRES_URL is not None
    _check_reachable(POSTGRES_URL)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        downgrade(POSTGRES_URL, "base")
        upgrade(POSTGRES_URL)
        yield POSTGRES_URL
        return
    base_name = normalize_url(POSTGRES_URL).database
    with scratch_postgres_database(POSTGRES_URL, f"{base_name}_{worker}") as url:
        upgrade(url)
        yield url


@pytest.fixture
def backend(database_url: str) -> str:
    """The backend under test: ``"sqlite"`` or ``"postgresql"``."""
    return backend_of(database_url)


@pytest.fixture
def fresh_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A separate, empty (never migrated) database on the same backend as ``database_url``."""
    if backend_of(database_url) == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with scratch_postgres_database(database_url) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def uow(factory: sessionmaker[Session]) -> SqlUnitOfWork:
    """A fresh unit of work on the session's database."""
    return SqlUnitOfWork(factory)


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Names that no other test uses (the database is shared by the whole session)."""

    def make(prefix: str = "tenant") -> str:
        return f"{prefix} {uuid.uuid4().hex}"

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many database tests ran on each backend (CI must show PostgreSQL tests executed)."""
    passed = terminalreporter.stats.get("passed", [])
    counts = {
        backend: sum(
            1
            for report in passed
            if f"{backend}]" in report.nodeid or f"{backend}-" in report.nodeid
        )
        for backend in ("sqlite", "postgresql")
    }
    terminalreporter.write_line(
        f"database tests passed: {counts['sqlite']} on SQLite, {counts['postgresql']} on PostgreSQL"
        + ("" if POSTGRES_URL else " (POLIS_TEST_DATABASE_URL not set)")
    )
