"""Reminders go out at most once with several workers (``docs/triggers.md``, "Reminders"): each is
claimed in a committed transaction of its own before it is sent — two workers that planned the same
reminders at the same instant send one mail and publish one ``reminder.due`` event between them, on
SQLite and on PostgreSQL; a send that fails releases its claim; a worker that dies between the
claim and the send loses that reminder rather than sending it twice."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.ondemand_fixtures import (
    ACTOR,
    BUSINESS,
    issuer,
    new_tenant,
    paris,
    subscribe,
    utc,
    verified_customer,
)

from polis.services import triggers
from polis.services.triggers import reminders as reminders_module
from polis.services.triggers.reminders import ReminderReport
from polis.store import SqlUnitOfWork, UnitOfWork
from polis.store.tables_ondemand import OnDemandReminderRow
from polis.store.tables_platform import OutboxRow

pytestmark = pytest.mark.db

ICS = Path(__file__).resolve().parents[1] / "fixtures" / "ics" / "photographer.ics"
SYNCED = utc(2025, 6, 10, 8)
DAY_BEFORE = paris(2025, 6, 11, 14, 30)  # 24 h before the tentative "Repérage du lieu"
HOUR_BEFORE = paris(2025, 6, 12, 13, 10)


class RecordingSender:
    """A mail sender that takes its time (so that workers overlap) and records what it sent."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        time.sleep(self.delay)
        with self._lock:
            self.sent.append((to, subject))

    def to(self, address: str) -> list[str]:
        return [subject for to, subject in self.sent if to == address]


class FailingSender(RecordingSender):
    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        raise ConnectionError("the SMTP server is down")


class Died(BaseException):
    """The worker's process ends here (killed, out of memory…)."""


class DyingSender(RecordingSender):
    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        raise Died


def _insured(uow: SqlUnitOfWork) -> tuple[str, str]:
    """A tenant whose customer (a mailbox of its own) has a tentative mission without cover."""
    tenant = new_tenant(uow)
    address = f"{uuid.uuid4().hex[:12]}@studio.example"
    customer = verified_customer(uow, tenant, SYNCED, {**BUSINESS, "email": address})
    sub = subscribe(uow, tenant, customer, SYNCED).id
    triggers.import_ics(uow, tenant, sub, ICS.read_bytes(), {}, ACTOR, issuer=issuer(), now=SYNCED)
    return tenant, address


def _recorded(uow: SqlUnitOfWork, tenant: str) -> tuple[list[str], list[str]]:
    """The tenant's reminder rows (status by channel) and ``reminder.due`` events (missions)."""
    with uow:
        rows = uow.session.scalars(
            select(OnDemandReminderRow).where(OnDemandReminderRow.tenant_id == tenant)
        )
        statuses = sorted(f"{r.channel}:{r.status}" for r in rows)
        events = uow.session.scalars(
            select(OutboxRow).where(
                OutboxRow.tenant_id == tenant, OutboxRow.event_type == "reminder.due"
            )
        )
        missions = [json.loads(e.payload)["mission"] for e in events]
    return statuses, missions


def _concurrently(
    factory: sessionmaker[Session], sender: RecordingSender, now: datetime, workers: int = 2
) -> list[ReminderReport]:
    """``workers`` runs at once, each on its own sessions, all planned before any claims."""
    reports: list[ReminderReport] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            reports.append(triggers.run_reminders(SqlUnitOfWork(factory), sender, now=now))
        except BaseException as e:  # noqa: BLE001 - reported to the test thread
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(reports) == workers
    return reports


@pytest.fixture
def planned_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make two workers plan before either claims: the race the claim must settle."""
    barrier = threading.Barrier(2, timeout=60)
    plan = reminders_module._plan

    def plan_then_wait(uow: UnitOfWork, moment: datetime) -> list[Any]:
        items = plan(uow, moment)
        barrier.wait()
        return items

    monkeypatch.setattr(reminders_module, "_plan", plan_then_wait)


@pytest.mark.usefixtures("planned_together")
def test_two_workers_planning_the_same_reminders_send_each_once(
    uow: SqlUnitOfWork, factory: sessionmaker[Session]
) -> None:
    tenant, address = _insured(uow)
    sender = RecordingSender()
    reports = _concurrently(factory, sender, DAY_BEFORE)
    assert len(sender.to(address)) == 1
    statuses, missions = _recorded(uow, tenant)
    assert statuses == ["email:sent", "webhook:sent"]
    assert missions == ["reperage@polis.test"]
    mine = [
        (s["channel"], s["address"])
        for report in reports
        for s in report.sent
        if s["address"] in (address, f"tenant:{tenant}")
    ]
    assert sorted(mine) == [("email", address), ("webhook", f"tenant:{tenant}")]


def test_workers_running_at_once_without_help_also_send_each_reminder_once(
    uow: SqlUnitOfWork, factory: sessionmaker[Session]
) -> None:
    tenant, address = _insured(uow)
    sender = RecordingSender(delay=0.02)
    _concurrently(factory, sender, DAY_BEFORE, workers=3)
    _concurrently(factory, sender, HOUR_BEFORE, workers=3)
    assert len(sender.to(address)) == 2  # the day before, the hour before
    statuses, missions = _recorded(uow, tenant)
    assert statuses == ["email:sent"] * 2 + ["webhook:sent"] * 2
    assert missions == ["reperage@polis.test"] * 2


def test_a_send_that_fails_releases_its_claim_and_is_tried_again(
    uow: SqlUnitOfWork, factory: sessionmaker[Session]
) -> None:
    tenant, address = _insured(uow)
    failed = triggers.run_reminders(SqlUnitOfWork(factory), FailingSender(), now=DAY_BEFORE)
    assert any("SMTP server is down" in f["error"] for f in failed.failed)
    assert _recorded(uow, tenant)[0] == ["webhook:sent"]  # the webhook went out; the mail did not
    sender = RecordingSender(delay=0)
    triggers.run_reminders(SqlUnitOfWork(factory), sender, now=DAY_BEFORE)
    assert len(sender.to(address)) == 1
    assert _recorded(uow, tenant) == (["email:sent", "webhook:sent"], ["reperage@polis.test"])


def test_a_worker_that_dies_between_claim_and_send_never_sends_that_reminder(
    uow: SqlUnitOfWork, factory: sessionmaker[Session]
) -> None:
    tenant, address = _insured(uow)
    with pytest.raises(Died):
        triggers.run_reminders(SqlUnitOfWork(factory), DyingSender(), now=DAY_BEFORE)
    assert "email:claimed" in _recorded(uow, tenant)[0]
    sender = RecordingSender(delay=0)
    triggers.run_reminders(SqlUnitOfWork(factory), sender, now=DAY_BEFORE)
    triggers.run_reminders(SqlUnitOfWork(factory), sender, now=HOUR_BEFORE)
    assert len(sender.to(address)) == 1  # the hour before only: the lost one is not sent late
    statuses, _ = _recorded(uow, tenant)
    assert statuses.count("email:claimed") == 1
    assert statuses.count("email:sent") == 1
