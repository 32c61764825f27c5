"""The store adapter on real databases: engines, the unit of work, UTC instants, readable ids."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from polis.kernel.errors import InvalidInput
from polis.kernel.ids import ReadableId
from polis.store import SqlUnitOfWork, make_engine, session_factory
from polis.store.repositories import BLOCK
from polis.store.tables import TenantRow


class _BoomError(Exception):
    pass


def _tenant(name: str, at: datetime | None = None) -> TenantRow:
    tenant_id = f"TEN-9999-{random.randrange(10**6, 10**7)}"
    return TenantRow(id=tenant_id, name=name, created_at=at or datetime.now(UTC))


def _stored_tenant(factory: sessionmaker[Session], tenant_id: str) -> TenantRow | None:
    with factory() as session:
        return session.get(TenantRow, tenant_id)


def _random_prefix() -> str:
    return "".join(random.choices(string.ascii_uppercase, k=5))


# --- engines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["postgres://u@localhost/db", "postgresql://u@localhost/db", "postgresql+psycopg://u@h/d"],
)
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    engine = make_engine(url)  # no connection is opened
    try:
        assert engine.url.drivername == "postgresql+psycopg"
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["mysql://u@localhost/db", "not a url"])
def test_unsupported_database_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_engine(url)
    assert caught.value.field == "database_url"


def test_sqlite_file_gets_its_directory_foreign_keys_wal_and_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "polis.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert path.exists()
    assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 5000}


# --- unit of work -------------------------------------------------------------------------------


@pytest.mark.db
def test_rolls_back_uncommitted_work_by_default(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], unique_name: Callable[..., str]
) -> None:
    tenant = _tenant(unique_name())
    with uow:
        uow.tenants.add(tenant)
    assert _stored_tenant(factory, tenant.id) is None


@pytest.mark.db
def test_rolls_back_on_error(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], unique_name: Callable[..., str]
) -> None:
    tenant = _tenant(unique_name())

    def add_then_fail() -> None:
        with uow:
            uow.tenants.add(tenant)
            raise _BoomError

    with pytest.raises(_BoomError):
        add_then_fail()
    assert _stored_tenant(factory, tenant.id) is None


@pytest.mark.db
def test_commit_persists_the_work(
    uow: SqlUnitOfWork, factory: sessionmaker[Session], unique_name: Callable[..., str]
) -> None:
    tenant = _tenant(unique_name())
    with uow:
        uow.tenants.add(tenant)
        uow.commit()
    stored = _stored_tenant(factory, tenant.id)
    assert stored is not None
    assert stored.name == tenant.name


@pytest.mark.db
def test_a_unit_of_work_is_reusable_but_not_reentrant(uow: SqlUnitOfWork) -> None:
    with uow:
        first = uow.session
        with pytest.raises(RuntimeError, match="already open"), uow:
            pass  # pragma: no cover
    with uow:
        assert uow.session is not first
    with pytest.raises(RuntimeError, match="not open"):
        _ = uow.session


# --- UTC instants -------------------------------------------------------------------------------


@pytest.mark.db
def test_instants_come_back_aware_utc_and_equal(
    factory: sessionmaker[Session], unique_name: Callable[..., str]
) -> None:
    paris_summer = datetime(2026, 7, 14, 22, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    tenant = _tenant(unique_name(), at=paris_summer)
    with factory() as session:
        session.add(tenant)
        session.commit()
    stored = _stored_tenant(factory, tenant.id)
    assert stored is not None
    assert stored.created_at == paris_summer
    assert stored.created_at.tzinfo is UTC
    assert stored.created_at.hour == 20
    with factory() as session:  # a comparison in SQL binds through the same type
        found = session.scalars(
            select(TenantRow.id).where(TenantRow.created_at == paris_summer.astimezone(UTC))
        ).all()
    assert tenant.id in found


@pytest.mark.db
def test_naive_datetimes_are_refused(
    factory: sessionmaker[Session], unique_name: Callable[..., str]
) -> None:
    with factory() as session:
        session.add(_tenant(unique_name(), at=datetime(2026, 1, 1, 12, 0)))
        with pytest.raises(StatementError) as caught:
            session.flush()
    assert isinstance(caught.value.orig, InvalidInput)


@pytest.mark.db
def test_postgresql_stores_instants_as_timestamptz(
    backend: str, factory: sessionmaker[Session]
) -> None:
    if backend != "postgresql":
        pytest.skip("column types are PostgreSQL-specific")
    with factory() as session:
        kind = session.execute(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'tenants' AND column_name = 'created_at'"
            )
        ).scalar_one()
    assert kind == "timestamp with time zone"


# --- readable ids -------------------------------------------------------------------------------


@pytest.mark.db
def test_ids_are_consecutive_per_prefix_and_year(uow: SqlUnitOfWork) -> None:
    prefix = _random_prefix()
    with uow:
        first = uow.ids.next(prefix, 2026)
        second = uow.ids.next(prefix, 2026)
        other_year = uow.ids.next(prefix, 2027)
        uow.commit()
    assert first == ReadableId(prefix, 2026, 1)
    assert str(second) == f"{prefix}-2026-000002"
    assert other_year == ReadableId(prefix, 2027, 1)


@pytest.mark.db
def test_rolled_back_ids_are_handed_out_again(uow: SqlUnitOfWork) -> None:
    prefix = _random_prefix()
    with uow:
        uow.ids.next(prefix, 2026)
    with uow:
        again = uow.ids.next(prefix, 2026)
    assert again.number == 1


@pytest.mark.db
def test_concurrent_allocations_never_share_a_number(factory: sessionmaker[Session]) -> None:
    prefix, threads, per_thread = _random_prefix(), 8, 25

    def allocate(_: int) -> list[int]:
        numbers = []
        for _ in range(per_thread):
            with SqlUnitOfWork(factory) as uow:
                numbers.append(uow.ids.next(prefix, 2026).number)
                uow.commit()
        return numbers

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [n for chunk in pool.map(allocate, range(threads)) for n in chunk]
    assert sorted(results) == list(range(1, threads * per_thread + 1))


@pytest.mark.db
def test_allocated_ids_never_repeat_across_processes_and_skip_on_postgresql(
    database_url: str, backend: str
) -> None:
    """Two engines stand for two server processes; each allocates under concurrency. PostgreSQL:
    unique, increasing within an engine, taken by blocks (so not gapless); SQLite: the gapless
    counter."""
    prefix, threads, per_thread = _random_prefix(), 4, 20
    engines = [make_engine(database_url), make_engine(database_url)]
    factories = [session_factory(e) for e in engines]

    def allocate(index: int) -> list[int]:
        numbers = []
        for _ in range(per_thread):
            with SqlUnitOfWork(factories[index % 2]) as uow:
                numbers.append(uow.ids.allocate(prefix, 2026).number)
                uow.commit()
        return numbers

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            chunks = list(pool.map(allocate, range(threads)))
    finally:
        for engine in engines:
            engine.dispose()
    numbers = [n for chunk in chunks for n in chunk]
    assert len(set(numbers)) == threads * per_thread
    assert all(chunk == sorted(chunk) for chunk in chunks)
    if backend == "postgresql":  # two blocks of 32 per engine: 1-32 / 33-64, then 65-96 / 97-128
        assert max(numbers) > threads * per_thread
        assert set(numbers) <= set(range(1, 4 * BLOCK + 1))
    else:
        assert sorted(numbers) == list(range(1, threads * per_thread + 1))


@pytest.mark.db
def test_invalid_prefix_is_refused_before_touching_the_database(uow: SqlUnitOfWork) -> None:
    with uow, pytest.raises(InvalidInput):
        uow.ids.next("ten", 2026)
