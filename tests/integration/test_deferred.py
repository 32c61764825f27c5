"""Deferred writes (``polis.store.deferred``): queued on PostgreSQL and sent in one pipeline before
the next statement or at commit; run at once on SQLite. Either way a transaction reads its own
writes, a rollback leaves nothing and a failing write fails the commit with nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from polis.services import outbox, tenants
from polis.store import deferred
from polis.store.inserts import insert_later
from polis.store.tables_platform import OutboxRow
from polis.store.uow import SqlUnitOfWork

AT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the night Europe/Paris moves to summer time


def _event(tenant: str, n: int, at: datetime = AT) -> OutboxRow:
    return OutboxRow(
        tenant_id=tenant, event_type="test.deferred", payload=f'{{"n":{n}}}', created_at=at
    )


def _stored(factory: sessionmaker[Session], tenant: str) -> list[tuple[str, datetime]]:
    with factory() as session:
        query = (
            select(OutboxRow.payload, OutboxRow.created_at)
            .where(OutboxRow.tenant_id == tenant)
            .order_by(OutboxRow.id)
        )
        return [(p, c) for p, c in session.execute(query)]


@pytest.fixture
def tenant(uow: SqlUnitOfWork, unique_name: Callable[[str], str]) -> str:
    return tenants.create_tenant(uow, unique_name("deferred"), actor="test").id


def test_queued_on_postgresql_only_and_read_back_in_the_same_transaction(
    factory: sessionmaker[Session], tenant: str
) -> None:
    with factory() as session, session.begin():
        insert_later(session, _event(tenant, 1))
        insert_later(session, _event(tenant, 2))
        on_postgresql = session.get_bind().dialect.name == "postgresql"
        assert deferred.pending(session) == (2 if on_postgresql else 0)
        count = select(func.count()).select_from(OutboxRow).where(OutboxRow.tenant_id == tenant)
        assert session.execute(count).scalar_one() == 2  # sent before the read, in order
        assert deferred.pending(session) == 0
        insert_later(session, _event(tenant, 3))
    assert [p for p, _ in _stored(factory, tenant)] == ['{"n":1}', '{"n":2}', '{"n":3}']


def test_instants_are_bound_in_utc_like_any_other_write(
    factory: sessionmaker[Session], tenant: str
) -> None:
    paris_summer = timezone(timedelta(hours=2))
    with factory() as session, session.begin():
        insert_later(session, _event(tenant, 1, AT.astimezone(paris_summer)))
    [(_, created_at)] = _stored(factory, tenant)
    assert created_at == AT
    assert created_at.utcoffset() == timedelta(0)


def test_a_rollback_drops_the_queue_and_the_connection_comes_back_clean(
    factory: sessionmaker[Session], tenant: str
) -> None:
    with factory() as session:
        with session.begin():
            insert_later(session, _event(tenant, 1))
            session.rollback()
        with session.begin():  # the same pooled connection: nothing left queued on it
            assert deferred.pending(session) == 0
            insert_later(session, _event(tenant, 2))
    with factory() as session:  # closed without commit: dropped too
        session.begin()
        insert_later(session, _event(tenant, 3))
    assert [p for p, _ in _stored(factory, tenant)] == ['{"n":2}']


def test_a_failing_write_fails_the_commit_and_nothing_of_the_transaction_is_written(
    factory: sessionmaker[Session], uow: SqlUnitOfWork, tenant: str
) -> None:
    raised_at = ""
    with uow:
        outbox.emit(uow, tenant_id=tenant, event_type="test.first", payload={"n": 1})
        try:
            insert_later(uow.session, _event("TEN-0000-NOT-THERE", 2))  # foreign key: refused
            raised_at = "commit"
            uow.commit()
            raised_at = "nowhere"
        except IntegrityError:
            pass
    on_postgresql = uow_dialect(factory) == "postgresql"
    assert raised_at == ("commit" if on_postgresql else "")  # SQLite: at the insert itself
    assert _stored(factory, tenant) == []


def uow_dialect(factory: sessionmaker[Session]) -> str:
    with factory() as session:
        return session.get_bind().dialect.name


def test_flush_then_reads_after_the_queued_writes_in_one_round_trip(
    factory: sessionmaker[Session], tenant: str
) -> None:
    with factory() as session, session.begin():
        insert_later(session, _event(tenant, 1))
        insert_later(session, _event(tenant, 2))
        query = select(func.count()).select_from(OutboxRow).where(OutboxRow.tenant_id == tenant)
        if session.get_bind().dialect.name == "postgresql":
            [[(count,)]] = deferred.flush_then(session, [(query, {})])
        else:
            count = session.execute(query).scalar_one()
        assert count == 2
        assert deferred.pending(session) == 0


def test_savepoints_keep_what_was_queued_before_them_and_drop_what_was_queued_inside(
    factory: sessionmaker[Session], tenant: str
) -> None:
    """A savepoint is opened by a statement: the queue goes out before it. Rows queued inside a
    savepoint go out before its rollback (a statement too), so the rollback takes them back."""
    with factory() as session, session.begin():
        insert_later(session, _event(tenant, 1))
        with pytest.raises(IntegrityError):
            _refused_in_a_savepoint(session)
        nested = session.begin_nested()
        insert_later(session, _event(tenant, 3))
        nested.rollback()
        with session.begin_nested():
            insert_later(session, _event(tenant, 4))
    assert [p for p, _ in _stored(factory, tenant)] == ['{"n":1}', '{"n":4}']


def _refused_in_a_savepoint(session: Session) -> None:
    with session.begin_nested():
        session.add(_event("TEN-0000-NOT-THERE", 2))  # refused: the savepoint rolls back
        session.flush()
