"""The hash-chained audit log: pure verification, and the append-only table on real databases."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from polis.kernel.errors import Conflict, InvalidInput
from polis.services import audit, tenants
from polis.services.audit import GENESIS_HASH, AuditEntry, entry_hash, verify_entries
from polis.services.tenants import TenantView
from polis.store import SqlUnitOfWork, make_engine, session_factory, upgrade
from polis.store.tables import AuditLogRow

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def _chain(length: int, chain: str = "TEN-2026-000001") -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        draft = AuditEntry(
            chain=chain,
            seq=seq,
            at=T0 + timedelta(minutes=seq),
            actor="test",
            action="thing.done",
            entity_type="thing",
            entity_id=f"THG-2026-{seq:06d}",
            data={"n": seq, "note": "é"},
            prev_hash=prev,
            hash="",
            tenant_id=chain,
        )
        entry = replace(draft, hash=entry_hash(prev, draft))
        entries.append(entry)
        prev = entry.hash
    return entries


# --- the pure verification ----------------------------------------------------------------------


def test_an_intact_chain_verifies() -> None:
    assert verify_entries(_chain(5)) is None
    assert verify_entries([]) is None


def test_the_first_entry_links_to_the_genesis_hash() -> None:
    [first] = _chain(1)
    assert first.prev_hash == "0" * 64
    assert verify_entries([replace(first, prev_hash="1" * 64)]) == 1


def test_a_removed_entry_breaks_the_chain_at_the_next_one() -> None:
    entries = _chain(5)
    assert verify_entries(entries[:2] + entries[3:]) == 4


def test_swapped_entries_break_the_chain() -> None:
    entries = _chain(4)
    assert verify_entries([entries[0], entries[2], entries[1], entries[3]]) == 3


def test_a_rehashed_forgery_still_breaks_the_link_to_the_next_entry() -> None:
    entries = _chain(4)
    forged = replace(entries[1], data={"n": 2, "note": "forged"})
    entries[1] = replace(forged, hash=entry_hash(forged.prev_hash, forged))
    assert verify_entries(entries) == 3


_TAMPERS: dict[str, Callable[[AuditEntry], AuditEntry]] = {
    "data": lambda e: replace(e, data={**e.data, "n": -1}),
    "actor": lambda e: replace(e, actor=e.actor + "x"),
    "action": lambda e: replace(e, action="thing.undone"),
    "at": lambda e: replace(e, at=e.at + timedelta(microseconds=1)),
    "entity_id": lambda e: replace(e, entity_id="THG-2026-999999"),
    "chain": lambda e: replace(e, chain="TEN-2026-000002"),
    "hash": lambda e: replace(e, hash="f" * 64),
    "prev_hash": lambda e: replace(e, prev_hash="e" * 64),
}


@given(
    length=st.integers(min_value=1, max_value=8),
    position=st.integers(min_value=0, max_value=7),
    field=st.sampled_from(sorted(_TAMPERS)),
)
def test_any_tampered_field_is_found_at_its_entry(length: int, position: int, field: str) -> None:
    entries = _chain(length)
    index = position % length
    entries[index] = _TAMPERS[field](entries[index])
    assert verify_entries(entries) == index + 1


# --- on the databases ---------------------------------------------------------------------------


@pytest.fixture
def tenant(uow: SqlUnitOfWork, unique_name: Callable[[str], str]) -> TenantView:
    return tenants.create_tenant(uow, unique_name("audited"), actor="test")


@pytest.mark.db
def test_a_tenants_history_forms_a_verified_chain(uow: SqlUnitOfWork, tenant: TenantView) -> None:
    keys = [tenants.create_api_key(uow, tenant.id, f"k{i}", actor="test")[0] for i in range(3)]
    tenants.revoke_api_key(uow, tenant.id, keys[0].id, actor="test")
    entries = audit.list_entries(uow, tenant.id)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert all(e.at.tzinfo is UTC for e in entries)
    report = audit.verify_chain(uow, tenant.id)
    assert (report.chain, report.entries, report.ok, report.first_bad_seq) == (
        tenant.id,
        5,
        True,
        None,
    )
    assert [e.seq for e in audit.list_entries(uow, tenant.id, limit=2, offset=3)] == [4, 5]


@pytest.mark.db
def test_events_without_a_tenant_go_to_the_system_chain(uow: SqlUnitOfWork) -> None:
    with uow:
        entry = audit.record(
            uow,
            tenant_id=None,
            actor="cli",
            action="system.checked",
            entity_type="system",
            entity_id="-",
            data={"amount": Decimal("12.30"), "when": T0},
        )
        uow.commit()
    assert entry.chain == "system"
    assert entry.data == {"amount": "12.30", "when": "2026-03-29 00:30:00+00:00"}
    stored = audit.list_entries(uow, "system", limit=1000)
    assert entry in stored
    assert audit.verify_chain(uow, "system").ok


@pytest.mark.db
def test_recording_does_not_commit_on_its_own(uow: SqlUnitOfWork, tenant: TenantView) -> None:
    with uow:
        audit.record(
            uow, tenant_id=tenant.id, actor="t", action="x.y", entity_type="x", entity_id="1"
        )
    assert [e.action for e in audit.list_entries(uow, tenant.id)] == ["tenant.created"]


@pytest.mark.db
@pytest.mark.parametrize("field", ["actor", "action", "entity_type", "entity_id"])
def test_audit_fields_must_not_be_blank(uow: SqlUnitOfWork, tenant: TenantView, field: str) -> None:
    values = {"actor": "t", "action": "x.y", "entity_type": "x", "entity_id": "1", field: " "}
    with uow, pytest.raises(InvalidInput) as caught:
        audit.record(
            uow,
            tenant_id=tenant.id,
            actor=values["actor"],
            action=values["action"],
            entity_type=values["entity_type"],
            entity_id=values["entity_id"],
        )
    assert caught.value.field == field


@pytest.mark.db
@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (1001, 0), (10, -1)])
def test_audit_pages_are_bounded(uow: SqlUnitOfWork, limit: int, offset: int) -> None:
    with pytest.raises(InvalidInput):
        audit.list_entries(uow, "system", limit=limit, offset=offset)


@pytest.mark.db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'mallory' WHERE chain = :chain",
        "DELETE FROM audit_log WHERE chain = :chain",
        "TRUNCATE audit_log",
    ],
    ids=["update", "delete", "truncate"],
)
def test_the_database_refuses_to_change_or_delete_audit_entries(
    factory: sessionmaker[Session], backend: str, tenant: TenantView, statement: str
) -> None:
    if statement.startswith("TRUNCATE") and backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with factory() as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement), {"chain": tenant.id})
    with factory() as session:
        actors = session.execute(
            text("SELECT actor FROM audit_log WHERE chain = :chain"), {"chain": tenant.id}
        ).scalars()
        assert list(actors) == ["test"]


@pytest.mark.db
def test_tampering_behind_the_database_is_detected(fresh_database_url: str, backend: str) -> None:
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    try:
        uow = SqlUnitOfWork(session_factory(engine))
        tenant = tenants.create_tenant(uow, "Victim", actor="test")
        tenants.create_api_key(uow, tenant.id, "k", actor="test")
        with engine.begin() as connection:
            _drop_append_only_triggers(connection, backend)
            connection.execute(
                text('UPDATE audit_log SET data = \'{"label":"evil"}\' WHERE seq = 2')
            )
        report = audit.verify_chain(uow, tenant.id)
    finally:
        engine.dispose()
    assert (report.ok, report.entries, report.first_bad_seq) == (False, 2, 2)


def _drop_append_only_triggers(connection: Connection, backend: str) -> None:
    statements = (
        ["DROP TRIGGER audit_log_no_update_delete ON audit_log"]
        if backend == "postgresql"
        else ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"]
    )
    for statement in statements:
        connection.execute(text(statement))


@pytest.mark.db
def test_concurrent_appends_to_one_chain_never_fork_it(
    factory: sessionmaker[Session], engine: Engine, backend: str, tenant: TenantView
) -> None:
    """The second writer waits for the first (PostgreSQL: on the chain's advisory lock; SQLite: on
    the database's write lock), then appends after it."""

    def append(action: str) -> str:
        with SqlUnitOfWork(factory) as uow:
            audit.record(
                uow, tenant_id=tenant.id, actor="t", action=action, entity_type="x", entity_id="1"
            )
            uow.commit()
        return "appended"

    def second_writer() -> str:
        try:
            return append("race.second")
        except Conflict as e:
            return e.code

    first = SqlUnitOfWork(factory)
    with first, ThreadPoolExecutor(max_workers=1) as pool:
        audit.record(
            first,
            tenant_id=tenant.id,
            actor="t",
            action="race.first",
            entity_type="x",
            entity_id="1",
        )
        outcome = pool.submit(second_writer)
        _wait_until_blocked(engine, backend)
        first.commit()
        result = outcome.result(timeout=30)
    assert result == "appended"
    report = audit.verify_chain(SqlUnitOfWork(factory), tenant.id)
    assert report.ok
    assert report.entries == 3  # the tenant's creation and both appends


@pytest.mark.db
def test_a_writer_that_skips_the_chain_lock_loses_on_the_unique_seq(
    factory: sessionmaker[Session], engine: Engine, backend: str, tenant: TenantView
) -> None:
    """The safety net under the lock: two entries with one ``seq`` → ``audit.concurrent_append``
    for the second (PostgreSQL; SQLite writers cannot overlap)."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: two transactions never read the same head")
    first, second = SqlUnitOfWork(factory), SqlUnitOfWork(factory)
    with first, second:
        audit.record(
            first, tenant_id=tenant.id, actor="t", action="a", entity_type="x", entity_id="1"
        )
        head = second.audit.last(tenant.id)  # no lock: still the tenant's creation
        assert head is not None
        first.commit()
        with pytest.raises(Conflict) as caught:  # at the append or, queued, at the commit
            _append_and_commit(
                second,
                AuditLogRow(
                    chain=tenant.id,
                    tenant_id=tenant.id,
                    seq=head.seq + 1,
                    at=head.at,
                    actor="t",
                    action="b",
                    entity_type="x",
                    entity_id="1",
                    data="{}",
                    prev_hash=head.hash,
                    hash="0" * 64,
                ),
            )
        assert caught.value.code == "audit.concurrent_append"
    assert audit.verify_chain(SqlUnitOfWork(factory), tenant.id).ok


def _append_and_commit(uow: SqlUnitOfWork, entry: AuditLogRow) -> None:
    uow.audit.append(entry)
    uow.commit()


def _wait_until_blocked(engine: Engine, backend: str, timeout: float = 10.0) -> None:
    """Until another session waits on a lock (PostgreSQL); a short pause on SQLite."""
    if backend != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + timeout
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(query).scalar_one() > 0:
                return
        time.sleep(0.02)
    raise AssertionError("the second writer never waited on the first")
