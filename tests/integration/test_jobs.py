"""The periodic jobs (``polis.services.jobs``, ``polis worker``): each job does its work once per
due item and a second tick at the same instant changes nothing; a job that crashes (or one bad
item) does not stop the others. Each test has a database of its own (the jobs run over every
tenant), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.ondemand_fixtures import (
    ACTOR,
    issuer,
    new_tenant,
    paris,
    seed,
    subscribe,
    utc,
    verified_customer,
)
from typer.testing import CliRunner

from polis.api.routers.webhooks import background_worker
from polis.cli.main import app
from polis.config import Settings
from polis.notify.mail import FileMailSender
from polis.ondemand.triggers_partner import PartnerRules
from polis.services import audit, jobs, ondemand_windows, triggers, webhooks
from polis.services.jobs import Jobs, JobSettings, Tick
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.webhooks import DeliveryReport
from polis.store import SqlUnitOfWork, make_engine, session_factory, upgrade
from polis.store.tables_ondemand import OnDemandWindowRow
from polis.store.tables_platform import OutboxRow

pytestmark = pytest.mark.db

ICS = Path(__file__).resolve().parents[1] / "fixtures" / "ics"
NOW = utc(2025, 6, 10, 8)  # Tuesday 10 June 2025, 10:00 in Paris (the dates of the ICS fixtures)
FEED_URL = "https://calendar.example.org/missions.ics"
RING = [[2.350, 48.750], [2.353, 48.750], [2.353, 48.752], [2.350, 48.752], [2.350, 48.750]]
INSIDE = (48.751, 2.3515)


@dataclass
class RecordingSender:
    """A webhook receiver that answers 200 and keeps what it got."""

    posted: list[dict[str, Any]] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.posted.append(json.loads(body))
        return 200


@dataclass
class Feed:
    """The calendar server: the ICS file it serves now (``None``: HTTP 500)."""

    name: str | None = "story_1_booked.ics"
    requests: int = 0

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            self.requests += 1
            if self.name is None or str(request.url) != FEED_URL:
                return httpx.Response(500, content=b"down")
            return httpx.Response(200, content=(ICS / self.name).read_bytes())

        return httpx.MockTransport(handler)


@dataclass
class World:
    factory: sessionmaker[Session]
    tenant: str
    issuer: CertificateIssuer
    mail_dir: Path
    sender: RecordingSender = field(default_factory=RecordingSender)
    feed: Feed = field(default_factory=Feed)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.factory)

    def jobs(self, **overrides: Any) -> Jobs:
        values: dict[str, Any] = {
            "issuer": self.issuer,
            "deliveries": webhooks.Worker(self.uow, self.sender),
            "mail": FileMailSender(self.mail_dir),
            "settings": JobSettings(calendar_resync=timedelta(minutes=30)),
            "transport": self.feed.transport(),
        }
        return Jobs(self.uow, **(values | overrides))

    def events(self, event_type: str) -> list[dict[str, Any]]:
        with self.uow() as uow:
            rows = uow.session.scalars(
                select(OutboxRow)
                .where(OutboxRow.tenant_id == self.tenant, OutboxRow.event_type == event_type)
                .order_by(OutboxRow.id)
            )
            return [json.loads(r.payload) for r in rows]

    def windows(self) -> list[Stored]:
        with self.uow() as uow:
            query = select(OnDemandWindowRow).where(OnDemandWindowRow.tenant_id == self.tenant)
            rows = uow.session.scalars(query.order_by(OnDemandWindowRow.starts_at))
            return [Stored(r.id, r.state, r.starts_at, r.ends_at) for r in rows]


@dataclass(frozen=True)
class Stored:
    id: str
    state: str
    starts_at: datetime
    ends_at: datetime


@pytest.fixture
def database(fresh_database_url: str) -> Iterator[Engine]:
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def world(database: Engine, tmp_path: Path) -> World:
    factory = session_factory(database)
    tenant = new_tenant(SqlUnitOfWork(factory))
    return World(factory, tenant, issuer(), tmp_path / "mail")


def _subscription(world: World, **overrides: Any) -> str:
    customer = verified_customer(world.uow(), world.tenant, NOW)
    return subscribe(world.uow(), world.tenant, customer, NOW, **overrides).id


def _did(tick: Tick, job: str, count: str) -> int:
    return tick.result(job).counts[count]


# --- each job, once per due item -------------------------------------------------------------------


def test_expiry_publishes_window_expired_once(world: World) -> None:
    sub = _subscription(world)
    ondemand_windows.activate_window(
        world.uow(), world.tenant, sub, {"duration": "PT2H"}, ACTOR, issuer=world.issuer, now=NOW
    )
    worker = world.jobs(jobs=["expiry"])
    assert _did(worker.run_once(NOW + timedelta(hours=1)), "expiry", "expired") == 0
    first = worker.run_once(NOW + timedelta(hours=2))
    assert first.ok
    assert _did(first, "expiry", "expired") == 1
    assert _did(worker.run_once(NOW + timedelta(hours=2)), "expiry", "expired") == 0
    assert _did(worker.run_once(NOW + timedelta(hours=3)), "expiry", "expired") == 0
    assert [e["window_id"] for e in world.events("window.expired")] == [world.windows()[0].id]


def test_a_silent_device_has_its_window_closed_by_a_tick_once(world: World) -> None:
    sub = _subscription(
        world, product="warehouse-goods-day", unit="day",
        items=[{"ref": "wh", "description": "Entrepôt de Rungis"}], geofence_ref="rungis",
    )  # fmt: skip
    triggers.set_geofence(
        world.uow(), world.tenant, sub, {"geometry": {"type": "Polygon", "coordinates": [RING]}},
        ACTOR, now=NOW,
    )  # fmt: skip
    t0 = paris(2025, 6, 10, 9)
    pings = [
        {"at": (t0 + timedelta(minutes=m)).isoformat(), "lat": INSIDE[0], "lon": INSIDE[1]}
        for m in (0, 3, 6, 9)
    ]
    entered = triggers.receive_device_pings(
        world.uow(), world.tenant, sub, {"device_ref": "tracker-7", "pings": pings}, ACTOR,
        issuer=world.issuer, now=t0 + timedelta(minutes=10),
    )  # fmt: skip
    assert entered.phase == "inside"
    worker = world.jobs(jobs=["geofence"])
    soon = worker.run_once(t0 + timedelta(minutes=30))  # still within the silence allowed
    assert (_did(soon, "geofence", "ticked"), _did(soon, "geofence", "decisions")) == (1, 0)
    assert world.windows()[0].state == "booked"
    silent = t0 + timedelta(hours=3)  # no ping for more than an hour (max_silence)
    tick = worker.run_once(silent)
    assert tick.ok, tick.result("geofence").error
    assert (_did(tick, "geofence", "moved"), _did(tick, "geofence", "decisions")) == (1, 1)
    [window] = world.windows()
    assert (window.state, window.ends_at) == ("stopped", t0 + timedelta(minutes=9, hours=1))
    again = worker.run_once(silent)
    assert _did(again, "geofence", "ticked") == 0  # the device is outside: nothing to tick
    assert world.windows()[0].ends_at == window.ends_at
    assert len(world.events("window.stopped")) == 1


def test_a_partner_stop_without_its_start_is_flagged_once(world: World) -> None:
    sub = _subscription(world)
    stop = paris(2025, 6, 10, 11)
    held = triggers.handle_partner_event(
        world.uow(), world.tenant,
        {"subscription_id": sub, "partner_ref": "rental-9", "kind": "stop", "at": stop.isoformat()},
        "k1", ACTOR, issuer=world.issuer, now=stop,
    )  # fmt: skip
    assert held.action == "hold"
    rules = PartnerRules(orphan_stop_after=timedelta(hours=6))
    worker = world.jobs(jobs=["partners"], settings=JobSettings(partner_rules=rules))
    early = worker.run_once(stop + timedelta(hours=5))
    assert (_did(early, "partners", "waiting"), _did(early, "partners", "flagged")) == (1, 0)
    late = worker.run_once(stop + timedelta(hours=7))
    assert _did(late, "partners", "flagged") == 1
    again = worker.run_once(stop + timedelta(hours=7))
    assert (_did(again, "partners", "waiting"), _did(again, "partners", "flagged")) == (0, 0)
    [event] = world.events("partner.stop_orphaned")
    assert (event["partner_ref"], event["reason"]) == ("rental-9", "stop_without_start")
    actions = [e.action for e in audit.list_entries(world.uow(), world.tenant, limit=1000)]
    assert actions.count("partner.stop_orphaned") == 1
    # the rental did happen after all: its start still records it
    start = stop - timedelta(hours=2)
    recorded = triggers.handle_partner_event(
        world.uow(), world.tenant,
        {"subscription_id": sub, "partner_ref": "rental-9", "kind": "start",
         "at": start.isoformat()},
        "k2", ACTOR, issuer=world.issuer, now=stop + timedelta(hours=8),
    )  # fmt: skip
    assert recorded.action == "open_closed"


def test_reminders_are_sent_once(world: World) -> None:
    sub = _subscription(world, items=[{"ref": "tools", "description": "Outillage"}])
    triggers.import_ics(
        world.uow(), world.tenant, sub, (ICS / "photographer.ics").read_bytes(), {}, ACTOR,
        issuer=world.issuer, now=NOW,
    )  # fmt: skip
    worker = world.jobs(jobs=["reminders"])
    day_before = paris(2025, 6, 11, 14, 30)
    tick = worker.run_once(day_before)
    assert tick.ok
    assert _did(tick, "reminders", "sent") == 2  # by e-mail and by webhook
    assert _did(worker.run_once(day_before), "reminders", "sent") == 0
    assert len(list(world.mail_dir.glob("*.eml"))) == 1
    assert [e["mission"] for e in world.events("reminder.due")] == ["reperage@polis.test"]


def test_calendar_urls_are_synced_again_at_most_every_interval(world: World) -> None:
    sub = _subscription(world, items=[{"ref": "tools", "description": "Outillage"}])
    triggers.sync_calendar_url(
        world.uow(), world.tenant, sub, {"url": FEED_URL}, ACTOR, issuer=world.issuer, now=NOW,
        transport=world.feed.transport(),
    )  # fmt: skip
    booked = [(w.starts_at, w.ends_at) for w in world.windows() if w.state != "cancelled"]
    assert len(booked) == 2
    worker = world.jobs(jobs=["calendars"])
    fetched = world.feed.requests
    assert _did(worker.run_once(NOW + timedelta(minutes=10)), "calendars", "due") == 0
    assert world.feed.requests == fetched  # synced 10 minutes ago: not fetched
    world.feed.name = "story_2_moved.ics"  # the photographer moved a mission
    tick = worker.run_once(NOW + timedelta(minutes=31))
    assert tick.ok, tick.result("calendars").error
    assert (_did(tick, "calendars", "synced"), _did(tick, "calendars", "applied")) == (1, 1)
    moved = [(w.starts_at, w.ends_at) for w in world.windows() if w.state != "cancelled"]
    assert moved != booked
    assert _did(worker.run_once(NOW + timedelta(minutes=32)), "calendars", "due") == 0
    # the feed comes back unchanged at the next interval: nothing to do
    same = worker.run_once(NOW + timedelta(minutes=62))
    assert (_did(same, "calendars", "synced"), _did(same, "calendars", "applied")) == (1, 0)
    # a failing server is reported, and not asked again before the interval
    world.feed.name = None
    failed = worker.run_once(NOW + timedelta(minutes=93))
    assert not failed.ok
    assert "calendar.fetch_failed" in (failed.result("calendars").error or "")
    asked = world.feed.requests
    assert _did(worker.run_once(NOW + timedelta(minutes=100)), "calendars", "due") == 0
    assert world.feed.requests == asked
    world.feed.name = "story_2_moved.ics"
    assert _did(worker.run_once(NOW + timedelta(minutes=124)), "calendars", "synced") == 1


def test_webhooks_are_delivered_once(world: World) -> None:
    sub = _subscription(world)
    webhooks.register_endpoint(
        world.uow(), world.tenant, url="https://partner.example/hooks", events=[], actor=ACTOR
    )
    ondemand_windows.activate_window(
        world.uow(), world.tenant, sub, {"duration": "PT2H"}, ACTOR, issuer=world.issuer, now=NOW
    )
    worker = world.jobs(jobs=["webhooks"])
    tick = worker.run_once(NOW)
    assert _did(tick, "webhooks", "delivered") == 2
    assert _did(worker.run_once(NOW), "webhooks", "delivered") == 0
    assert [p["type"] for p in world.sender.posted] == ["certificate.issued", "window.activated"]


# --- every job in one tick; crashes stay contained --------------------------------------------------


def _everything_due(world: World) -> str:
    """A window about to expire, a partner stop waiting, a mission without cover, a calendar URL."""
    sub = _subscription(world, items=[{"ref": "tools", "description": "Outillage"}])
    ondemand_windows.activate_window(
        world.uow(), world.tenant, sub, {"duration": "PT1H"}, ACTOR, issuer=world.issuer, now=NOW
    )
    triggers.handle_partner_event(
        world.uow(), world.tenant,
        {"subscription_id": sub, "partner_ref": "r-1", "kind": "stop", "at": NOW.isoformat()},
        "k", ACTOR, issuer=world.issuer, now=NOW,
    )  # fmt: skip
    triggers.import_ics(
        world.uow(), world.tenant, sub, (ICS / "photographer.ics").read_bytes(), {}, ACTOR,
        issuer=world.issuer, now=NOW,
    )  # fmt: skip
    other = _subscription(world, items=[{"ref": "tools", "description": "Outillage"}])
    triggers.sync_calendar_url(
        world.uow(), world.tenant, other, {"url": FEED_URL}, ACTOR, issuer=world.issuer, now=NOW,
        transport=world.feed.transport(),
    )  # fmt: skip
    webhooks.register_endpoint(
        world.uow(), world.tenant, url="https://partner.example/hooks", events=[], actor=ACTOR
    )
    return sub


def test_every_job_runs_in_one_tick_and_a_second_tick_changes_nothing(world: World) -> None:
    _everything_due(world)
    worker = world.jobs()
    assert worker.jobs == jobs.JOB_NAMES
    when = paris(2025, 6, 11, 14, 30)  # a day later: everything above is due
    first = worker.run_once(when)
    assert first.ok, [(r.job, r.error) for r in first.results if not r.ok]
    done = {r.job: dict(r.counts) for r in first.results}
    assert done["expiry"]["expired"] >= 1
    assert done["partners"]["flagged"] == 1
    assert done["reminders"]["sent"] == 2
    assert done["calendars"]["synced"] == 1
    assert done["webhooks"]["delivered"] == len(world.sender.posted) > 0
    posted = [p["type"] for p in world.sender.posted]
    assert {"window.expired", "partner.stop_orphaned", "reminder.due"} <= set(posted)
    second = worker.run_once(when)
    assert second.ok
    for result in second.results:
        busy = {k: v for k, v in result.counts.items() if v and k not in ("items",)}
        assert busy == {}, (result.job, busy)
    assert len(world.sender.posted) == len(posted)


def test_a_crashing_job_does_not_stop_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _everything_due(world)

    class Broken:
        def run_once(self, now: datetime | None = None) -> DeliveryReport:
            raise ConnectionError("the webhook queue is unreachable")

    def no_expiry(*_: Any, **__: Any) -> int:
        raise RuntimeError("expiry is broken")

    monkeypatch.setattr("polis.services.ondemand_windows.publish_expired", no_expiry)
    worker = world.jobs(deliveries=Broken())
    tick = worker.run_once(paris(2025, 6, 11, 14, 30))
    failed = {r.job: r.error for r in tick.results if not r.ok}
    assert failed == {
        "expiry": "RuntimeError: expiry is broken",
        "webhooks": "ConnectionError: the webhook queue is unreachable",
    }
    assert _did(tick, "partners", "flagged") == 1
    assert _did(tick, "reminders", "sent") == 2
    assert _did(tick, "calendars", "synced") == 1


def test_one_bad_item_does_not_stop_the_others_of_its_job(world: World) -> None:
    good = _subscription(world, items=[{"ref": "tools", "description": "Outillage"}])
    bad = _subscription(world, items=[{"ref": "tools", "description": "Outillage"}])
    for sub in (bad, good):
        triggers.sync_calendar_url(
            world.uow(), world.tenant, sub, {"url": FEED_URL}, ACTOR, issuer=world.issuer,
            now=NOW, transport=world.feed.transport(),
        )  # fmt: skip
    with world.uow() as uow:  # the bad one's server moved away
        calendar = uow.ondemand.calendar(bad, "tools")
        assert calendar is not None
        calendar.url = "https://calendar.example.org/gone.ics"
        uow.commit()
    tick = world.jobs(jobs=["calendars"]).run_once(NOW + timedelta(hours=1))
    result = tick.result("calendars")
    assert (result.counts["synced"], result.counts["failed"]) == (1, 1)
    assert not result.ok
    assert "gone.ics" in (result.error or "")


def test_without_a_signing_key_the_jobs_that_open_windows_say_so(world: World) -> None:
    sub = _subscription(world, items=[{"ref": "tools", "description": "Outillage"}])
    triggers.sync_calendar_url(
        world.uow(), world.tenant, sub, {"url": FEED_URL}, ACTOR, issuer=world.issuer, now=NOW,
        transport=world.feed.transport(),
    )  # fmt: skip
    tick = world.jobs(issuer=None).run_once(NOW + timedelta(hours=1))
    assert "no certificate signing key" in (tick.result("calendars").error or "")
    assert tick.result("expiry").ok


# --- the entry points ---------------------------------------------------------------------------------


def _settings(database: Engine, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database.url.render_as_string(hide_password=False),
        "var_dir": tmp_path / "var",
        "mail_dir": tmp_path / "mail",
        "certificate_signing_key": seed(),
        "log_format": "console",
        "jobs_in_process": None,
        "webhook_worker_in_process": None,
    }
    return Settings(**(values | overrides))


def test_polis_worker_once_prints_what_each_job_did(
    world: World, database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = _subscription(world)
    ondemand_windows.activate_window(
        world.uow(), world.tenant, sub, {"duration": "PT1M"}, ACTOR, issuer=world.issuer,
        now=utc(2025, 1, 1),
    )  # fmt: skip
    settings = _settings(database, tmp_path)
    for name, value in (
        ("POLIS_DATABASE_URL", settings.database_url),
        ("POLIS_VAR_DIR", str(settings.var_dir)),
        ("POLIS_MAIL_DIR", str(settings.mail_root)),
        ("POLIS_CERTIFICATE_SIGNING_KEY", seed()),
    ):
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    done = runner.invoke(app, ["worker", "--once"], terminal_width=160)
    assert done.exit_code == 0, done.output
    for job in jobs.JOB_NAMES:
        assert job in done.output
    assert "1 window(s) expired" in done.output
    only = runner.invoke(app, ["worker", "--once", "--job", "expiry"], terminal_width=160)
    assert only.exit_code == 0
    assert "0 window(s) expired" in only.output
    assert "webhooks" not in only.output
    wrong = runner.invoke(app, ["worker", "--once", "--job", "nope"])
    assert wrong.exit_code == 2


def test_the_server_runs_the_jobs_in_the_background_when_asked(
    world: World, database: Engine, tmp_path: Path
) -> None:
    sub = _subscription(world)
    ondemand_windows.activate_window(
        world.uow(), world.tenant, sub, {"duration": "PT1M"}, ACTOR, issuer=world.issuer,
        now=utc(2025, 1, 1),
    )  # fmt: skip
    off = _settings(database, tmp_path, webhook_worker_in_process=False)
    assert not off.runs_jobs_in_process
    on = _settings(database, tmp_path, jobs_in_process=True, worker_interval_seconds=0.05)

    async def serve(settings: Settings, until: Callable[[], bool]) -> bool:
        async with background_worker(settings, world.factory):
            for _ in range(100):
                if until():
                    return True
                await asyncio.sleep(0.05)
        return False

    def expired() -> bool:
        return bool(world.events("window.expired"))

    assert not asyncio.run(serve(off, expired))  # jobs off: nothing happens
    assert asyncio.run(serve(on, expired))


def test_settings_decide_where_the_jobs_run(tmp_path: Path) -> None:
    def settings(url: str, **values: Any) -> Settings:
        unset: dict[str, Any] = {"jobs_in_process": None, "webhook_worker_in_process": None}
        return Settings(database_url=url, **(unset | values))

    sqlite, postgres = f"sqlite:///{tmp_path / 'p.db'}", "postgresql+psycopg://u@127.0.0.1/db"
    assert settings(sqlite).runs_jobs_in_process
    assert not settings(postgres).runs_jobs_in_process
    assert settings(postgres, jobs_in_process=True).runs_jobs_in_process
    assert settings(postgres, webhook_worker_in_process=True).runs_jobs_in_process  # follows it
    assert not settings(sqlite, jobs_in_process=False).runs_jobs_in_process
    assert not settings(sqlite, webhook_worker_in_process=False).runs_jobs_in_process
