"""Triggers persisted: calendars (ICS files, URLs, API lists: windows appear, follow moved
missions, are cancelled and not billed; syncing twice changes nothing), geofence pings (in/out,
out of order, duplicated), partner start/stop calls (duplicates, a stop before its start), and
reminders (sent once by e-mail and webhook)."""

from __future__ import annotations

import email
import email.policy
import json
import random
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.ondemand_fixtures import (
    ACTOR,
    issuer,
    new_tenant,
    paris,
    subscribe,
    utc,
    verified_customer,
)

from polis.kernel.errors import Conflict, InvalidInput, NotFound
from polis.notify.mail import FileMailSender
from polis.services import ondemand_billing, ondemand_windows, triggers
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.triggers import FetchLimits
from polis.store import SqlUnitOfWork
from polis.store.tables_ondemand import OnDemandLedgerRow, OnDemandReminderRow
from polis.store.tables_platform import OutboxRow

pytestmark = pytest.mark.db

ICS = Path(__file__).resolve().parents[1] / "fixtures" / "ics"
NOW = utc(2025, 6, 10, 8)  # Tuesday 10 June 2025, 10:00 in Paris
D = Decimal


@pytest.fixture(scope="module")
def signer_issuer() -> CertificateIssuer:
    return issuer()


@pytest.fixture
def tenant(uow: SqlUnitOfWork) -> str:
    return new_tenant(uow)


@pytest.fixture
def sub(uow: SqlUnitOfWork, tenant: str) -> str:
    customer = verified_customer(uow, tenant, NOW)
    return subscribe(
        uow, tenant, customer, NOW, items=[{"ref": "tools", "description": "Outillage"}]
    ).id


def _ics(
    uow: SqlUnitOfWork,
    tenant: str,
    sub: str,
    issuer_: CertificateIssuer,
    name: str,
    *,
    now: datetime = NOW,
    **settings: Any,
) -> triggers.SyncView:
    data = (ICS / name).read_bytes()
    return triggers.import_ics(uow, tenant, sub, data, settings, ACTOR, issuer=issuer_, now=now)


def _live(view: triggers.SyncView) -> dict[str, tuple[datetime, datetime]]:
    return {w.source_ref or "": (w.start, w.end) for w in view.windows if w.state != "cancelled"}


class _Entry:
    def __init__(self, row: OnDemandLedgerRow) -> None:
        self.window_id, self.kind, self.total, self.detail = (
            row.window_id,
            row.kind,
            row.total,
            row.detail,
        )


def _ledger(uow: SqlUnitOfWork, tenant: str) -> list[_Entry]:
    with uow:
        query = select(OnDemandLedgerRow).where(OnDemandLedgerRow.tenant_id == tenant)
        return [_Entry(r) for r in uow.session.scalars(query.order_by(OnDemandLedgerRow.id))]


# --- calendar -------------------------------------------------------------------------------------


def test_an_ics_import_opens_a_window_per_confirmed_mission_and_twice_changes_nothing(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    first = _ics(uow, tenant, sub, signer_issuer, "story_1_booked.ics")
    assert [(o.action, o.mission, o.applied) for o in first.operations] == [
        ("open", "chantier-dupont@polis.test", True),
        ("open", "chantier-martin@polis.test", True),
    ]
    assert _live(first) == {
        "chantier-dupont@polis.test": (paris(2025, 6, 16, 8), paris(2025, 6, 16, 17)),
        "chantier-martin@polis.test": (paris(2025, 6, 18, 8), paris(2025, 6, 18, 17)),
    }
    entries = len(_ledger(uow, tenant))
    again = _ics(uow, tenant, sub, signer_issuer, "story_1_booked.ics")
    assert again.operations == []
    assert again.unchanged == 2
    later = _ics(uow, tenant, sub, signer_issuer, "story_1_booked.ics", now=NOW + timedelta(days=1))
    assert later.operations == []
    assert len(_ledger(uow, tenant)) == entries
    assert _live(again) == _live(first)


def test_a_moved_mission_moves_its_cover_and_a_cancelled_one_is_not_billed(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    first = _live(_ics(uow, tenant, sub, signer_issuer, "story_1_booked.ics"))
    moved = _ics(uow, tenant, sub, signer_issuer, "story_2_moved.ics")
    assert [(o.action, o.reason) for o in moved.operations] == [("move", "mission_moved")]
    assert _live(moved)["chantier-dupont@polis.test"] == (
        paris(2025, 6, 17, 9),
        paris(2025, 6, 17, 18),
    )
    back = _ics(uow, tenant, sub, signer_issuer, "story_3_moved_back.ics")
    assert _live(back) == first
    cancelled = _ics(uow, tenant, sub, signer_issuer, "story_4_cancelled.ics")
    assert [(o.action, o.reason) for o in cancelled.operations] == [("cancel", "mission_cancelled")]
    assert list(_live(cancelled)) == ["chantier-martin@polis.test"]
    dupont = [
        e for e in _ledger(uow, tenant) if e.window_id not in {w.id for w in cancelled.windows}
    ]
    assert sum((e.total for e in dupont), D("0.00")) == 0  # every dupont window nets to nothing
    assert _ics(uow, tenant, sub, signer_issuer, "story_4_cancelled.ics").operations == []


def test_a_running_mission_cancelled_is_stopped_now_and_billed_until_then(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    _ics(uow, tenant, sub, signer_issuer, "story_1_booked.ics")
    during = paris(2025, 6, 16, 11)
    stopped = _ics(uow, tenant, sub, signer_issuer, "story_4_cancelled.ics", now=during)
    assert [(o.action, o.reason) for o in stopped.operations] == [("stop", "mission_cancelled")]
    window = next(w for w in stopped.windows if w.source_ref == "chantier-dupont@polis.test")
    assert (window.state, window.end) == ("stopped", during)


def test_an_api_list_is_complete_and_margins_widen_the_cover(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    missions = [
        {"uid": "m-1", "start": "2025-06-12T09:00:00+02:00", "end": "2025-06-12T12:00:00+02:00"},
        {"uid": "m-2", "start": "2025-06-13T09:00:00+02:00", "end": "2025-06-13T12:00:00+02:00"},
    ]
    body = {"missions": missions, "margin_before_minutes": 30, "margin_after_minutes": 15}
    view = triggers.sync_missions(uow, tenant, sub, body, ACTOR, issuer=signer_issuer, now=NOW)
    assert _live(view)["m-1"] == (paris(2025, 6, 12, 8, 30), paris(2025, 6, 12, 12, 15))
    again = triggers.sync_missions(uow, tenant, sub, body, ACTOR, issuer=signer_issuer, now=NOW)
    assert again.operations == []
    shorter = triggers.sync_missions(
        uow, tenant, sub, body | {"missions": missions[:1]}, ACTOR, issuer=signer_issuer, now=NOW
    )
    assert [(o.action, o.reason) for o in shorter.operations] == [("cancel", "mission_removed")]
    with pytest.raises(InvalidInput) as raised:
        triggers.sync_missions(
            uow,
            tenant,
            sub,
            {"missions": [{"uid": "x", "start": "2025-06-12T09:00", "end": "2025-06-12T10:00"}]},
            ACTOR,
            issuer=signer_issuer,
            now=NOW,
        )
    assert raised.value.field == "missions[0].start"


def test_a_broken_or_empty_feed_never_cancels_anything(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    _ics(uow, tenant, sub, signer_issuer, "story_1_booked.ics")
    with pytest.raises(InvalidInput) as raised:
        triggers.import_ics(
            uow, tenant, sub, b"<html>502 Bad Gateway</html>", {}, ACTOR, issuer=signer_issuer,
            now=NOW,
        )  # fmt: skip
    assert raised.value.field == "ics"
    empty = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nEND:VCALENDAR\r\n"
    with pytest.raises(Conflict) as refused:
        triggers.import_ics(uow, tenant, sub, empty, {}, ACTOR, issuer=signer_issuer, now=NOW)
    assert refused.value.code == "calendar.empty_feed"
    assert len(_live(_ics(uow, tenant, sub, signer_issuer, "story_1_booked.ics"))) == 2
    meant = triggers.import_ics(
        uow, tenant, sub, empty, {"allow_empty": True}, ACTOR, issuer=signer_issuer, now=NOW
    )
    assert {o.action for o in meant.operations} == {"cancel"}


def test_feed_issues_are_reported_and_the_good_events_used(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    view = _ics(uow, tenant, sub, signer_issuer, "broken_events.ics")
    assert len(view.issues) >= 4
    assert "bien-forme@polis.test" in _live(view)


def _transport(status: int, body: bytes) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": "text/calendar"})

    return httpx.MockTransport(handler)


def test_a_calendar_url_is_fetched_with_limits_and_clear_errors(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    data = (ICS / "story_1_booked.ics").read_bytes()
    url = "https://calendar.example.org/missions.ics"
    view = triggers.sync_calendar_url(
        uow, tenant, sub, {"url": url}, ACTOR, issuer=signer_issuer, now=NOW,
        transport=_transport(200, data),
    )  # fmt: skip
    assert view.source == "url"
    assert len(_live(view)) == 2

    def failure(payload: dict[str, Any], transport: httpx.BaseTransport | None, **kw: Any) -> str:
        with pytest.raises(InvalidInput) as raised:
            triggers.sync_calendar_url(
                uow, tenant, sub, payload, ACTOR, issuer=signer_issuer, now=NOW,
                transport=transport, **kw,
            )  # fmt: skip
        assert raised.value.field == "url"
        return raised.value.code

    assert failure({"url": url}, _transport(404, b"nope")) == "calendar.fetch_failed"
    assert (
        failure({"url": url}, _transport(200, data), limits=FetchLimits(max_bytes=100))
        == "calendar.too_large"
    )
    assert failure({"url": "ftp://example.org/x.ics"}, None) == "calendar.url_refused"
    assert failure({"url": "file:///etc/passwd"}, None) == "calendar.url_refused"
    assert failure({"url": "http://127.0.0.1:9/x.ics"}, None) == "calendar.url_refused"

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    assert failure({"url": url}, httpx.MockTransport(slow)) == "calendar.fetch_failed"


def test_calendars_of_another_tenant_are_not_reachable(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    other = new_tenant(uow)
    with pytest.raises(NotFound):
        _ics(uow, other, sub, signer_issuer, "story_1_booked.ics")
    with pytest.raises(NotFound):
        triggers.sync_missions(
            uow, other, sub, {"missions": []}, ACTOR, issuer=signer_issuer, now=NOW
        )


# --- geofence -------------------------------------------------------------------------------------

RING = [[2.350, 48.750], [2.353, 48.750], [2.353, 48.752], [2.350, 48.752], [2.350, 48.750]]
INSIDE = (48.751, 2.3515)
OUTSIDE = (48.760, 2.3515)


@pytest.fixture
def warehouse(uow: SqlUnitOfWork, tenant: str) -> str:
    customer = verified_customer(uow, tenant, NOW)
    sub = subscribe(
        uow, tenant, customer, NOW, product="warehouse-goods-day", unit="day",
        items=[{"ref": "wh", "description": "Entrepôt de Rungis"}], geofence_ref="rungis",
    ).id  # fmt: skip
    triggers.set_geofence(
        uow, tenant, sub, {"geometry": {"type": "Polygon", "coordinates": [RING]}}, ACTOR, now=NOW
    )
    return sub


def _pings(start: datetime, minutes: list[int], where: tuple[float, float]) -> list[dict[str, Any]]:
    return [
        {"at": (start + timedelta(minutes=m)).isoformat(), "lat": where[0], "lon": where[1]}
        for m in minutes
    ]


def _send(
    uow: SqlUnitOfWork,
    tenant: str,
    sub: str,
    issuer_: CertificateIssuer,
    pings: list[dict[str, Any]],
    now: datetime,
) -> triggers.PingsView:
    return triggers.receive_device_pings(
        uow, tenant, sub, {"device_ref": "tracker-7", "pings": pings}, ACTOR, issuer=issuer_,
        now=now,
    )  # fmt: skip


def test_pings_in_and_out_make_one_window_whatever_the_order_and_duplicates(
    uow: SqlUnitOfWork, tenant: str, warehouse: str, signer_issuer: CertificateIssuer
) -> None:
    t0 = paris(2025, 6, 10, 9)
    inside = _pings(t0, list(range(0, 61, 5)), INSIDE)
    outside = _pings(t0, [63, 66, 69, 72, 75], OUTSIDE)
    batch = inside + outside + inside[:4]  # duplicated deliveries
    random.Random(7).shuffle(batch)
    view = _send(uow, tenant, warehouse, signer_issuer, batch, now=t0 + timedelta(minutes=80))
    assert view.duplicate == 4
    assert [(d.action, d.applied) for d in view.decisions] == [("open", True), ("close", True)]
    windows = ondemand_windows.list_windows(uow, tenant, warehouse, now=NOW)
    assert [(w.start, w.end, w.source) for w in windows] == [
        (t0, t0 + timedelta(minutes=63), "geofence")
    ]
    again = _send(uow, tenant, warehouse, signer_issuer, batch, now=t0 + timedelta(minutes=81))
    assert again.decisions == []
    assert again.accepted == 0
    assert len(ondemand_windows.list_windows(uow, tenant, warehouse, now=NOW)) == 1


def test_an_entry_opens_cover_at_once_and_the_exit_closes_it_later(
    uow: SqlUnitOfWork, tenant: str, warehouse: str, signer_issuer: CertificateIssuer
) -> None:
    t0 = paris(2025, 6, 10, 9)
    first = _send(
        uow, tenant, warehouse, signer_issuer, _pings(t0, [0, 3, 6, 9], INSIDE),
        now=t0 + timedelta(minutes=10),
    )  # fmt: skip
    assert first.phase == "inside"
    assert first.window is not None
    assert first.window.start == t0
    assert first.window.end > t0 + timedelta(minutes=9)
    status = ondemand_windows.get_cover_status(uow, tenant, "wh", at=t0 + timedelta(minutes=8))
    assert status.state == "covered"
    # late pings arrive out of order with the exit
    second = _send(
        uow, tenant, warehouse, signer_issuer,
        _pings(t0, [30, 20, 40], INSIDE) + _pings(t0, [52, 45, 58, 61], OUTSIDE),
        now=t0 + timedelta(minutes=62),
    )  # fmt: skip
    assert [d.action for d in second.decisions] == ["close"]
    windows = ondemand_windows.list_windows(uow, tenant, warehouse, now=NOW)
    assert [(w.start, w.end, w.state) for w in windows] == [
        (t0, t0 + timedelta(minutes=45), "stopped")
    ]
    # a day product: the started local day stays due, no refund fee on a trigger close
    refunds = [e for e in _ledger(uow, tenant) if e.kind == "refund"]
    assert len(refunds) == 1
    assert "refund_fee" not in refunds[0].detail


def test_geofence_pings_need_a_fence_and_stay_within_the_tenant(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    t0 = paris(2025, 6, 10, 9)
    with pytest.raises(NotFound) as raised:
        _send(uow, tenant, sub, signer_issuer, _pings(t0, [0], INSIDE), now=t0)
    assert raised.value.code == "geofence.not_found"
    with pytest.raises(InvalidInput) as invalid:
        triggers.set_geofence(
            uow, tenant, sub,
            {"geometry": {"type": "Polygon", "coordinates": [RING[:-1]]}}, ACTOR, now=NOW,
        )  # fmt: skip
    assert (invalid.value.field or "").startswith("geometry")
    other = new_tenant(uow)
    with pytest.raises(NotFound):
        triggers.set_geofence(
            uow, other, sub, {"geometry": {"type": "Polygon", "coordinates": [RING]}}, ACTOR
        )
    with pytest.raises(InvalidInput) as future:
        _send(uow, tenant, sub, signer_issuer, _pings(t0, [60], INSIDE), now=t0)
    assert future.value.field == "pings[0].at"


# --- partner events -------------------------------------------------------------------------------


def _call(
    uow: SqlUnitOfWork,
    tenant: str,
    sub: str,
    issuer_: CertificateIssuer,
    kind: str,
    at: datetime,
    key: str,
    *,
    now: datetime,
    ref: str = "rental-1",
    **extra: Any,
) -> triggers.PartnerEventView:
    body = {"subscription_id": sub, "partner_ref": ref, "kind": kind, "at": at.isoformat()}
    return triggers.handle_partner_event(
        uow, tenant, body | extra, key, ACTOR, issuer=issuer_, now=now
    )


def test_partner_start_and_stop_with_duplicates_make_one_window(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    start, stop = paris(2025, 6, 10, 9), paris(2025, 6, 10, 13, 20)
    opened = _call(
        uow, tenant, sub, signer_issuer, "start", start, "k1", now=start + timedelta(minutes=1),
        expected_end=paris(2025, 6, 10, 18).isoformat(),
    )  # fmt: skip
    assert (opened.action, opened.status) == ("open", "open")
    assert opened.window is not None
    assert opened.window.end == paris(2025, 6, 10, 18)
    assert opened.certificate is not None
    duplicate = _call(
        uow, tenant, sub, signer_issuer, "start", start, "k2", now=start + timedelta(minutes=2)
    )
    assert duplicate.replayed
    assert duplicate.window
    assert duplicate.window.id == opened.window.id
    closed = _call(uow, tenant, sub, signer_issuer, "stop", stop, "k3", now=stop)
    assert closed.action == "close"
    assert closed.window is not None
    assert (closed.window.start, closed.window.end) == (start, stop)
    again = _call(uow, tenant, sub, signer_issuer, "stop", stop, "k4", now=stop)
    assert again.replayed
    assert again.action == "close"
    refused = _call(
        uow, tenant, sub, signer_issuer, "start", stop + timedelta(hours=1), "k5", now=stop
    )
    assert (refused.action, refused.reason) == ("refuse", "ref_already_used")
    windows = ondemand_windows.list_windows(uow, tenant, sub, now=NOW)
    assert len(windows) == 1
    # 13:20 is in the 5th started hour: 5 hours stay due, no refund fee on a partner close
    refund = next(e for e in _ledger(uow, tenant) if e.kind == "refund")
    assert "refund_fee" not in refund.detail


def test_a_stop_before_its_start_is_held_then_recorded(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    start, stop = paris(2025, 6, 10, 9), paris(2025, 6, 10, 11)
    held = _call(uow, tenant, sub, signer_issuer, "stop", stop, "a", now=stop, ref="r-2")
    assert (held.action, held.window) == ("hold", None)
    recorded = _call(uow, tenant, sub, signer_issuer, "start", start, "b", now=stop, ref="r-2")
    assert recorded.action == "open_closed"
    assert recorded.window is not None
    assert (recorded.window.start, recorded.window.end) == (start, stop)


def test_partner_calls_too_old_or_on_another_subscription_are_refused(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    with pytest.raises(InvalidInput) as raised:
        _call(uow, tenant, sub, signer_issuer, "start", NOW - timedelta(days=3), "x", now=NOW)
    assert raised.value.code == "trigger.too_late"
    _call(uow, tenant, sub, signer_issuer, "start", NOW, "y", now=NOW, ref="r-3")
    customer = verified_customer(uow, tenant, NOW)
    second = subscribe(uow, tenant, customer, NOW).id
    with pytest.raises(Conflict) as taken:
        _call(uow, tenant, second, signer_issuer, "start", NOW, "z", now=NOW, ref="r-3")
    assert taken.value.code == "partner.reference_taken"
    with pytest.raises(NotFound):
        _call(uow, new_tenant(uow), sub, signer_issuer, "start", NOW, "w", now=NOW)


# --- reminders ------------------------------------------------------------------------------------


def _mails(tmp_path: Path) -> list[str]:
    """The reminders written about this test's mission (the job runs over every tenant)."""
    texts = []
    for path in (tmp_path / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body()
        assert body is not None
        texts.append(f"{message['Subject']}\n{body.get_content()}")
    return [t for t in texts if "Repérage du lieu" in t]


def test_a_mission_without_cover_is_reminded_once_by_mail_and_webhook(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer, tmp_path: Path
) -> None:
    synced = _ics(uow, tenant, sub, signer_issuer, "photographer.ics")
    assert "reperage@polis.test" not in _live(synced)  # tentative: not covered by the calendar
    sender = FileMailSender(tmp_path / "mail")
    too_early = triggers.run_reminders(uow, sender, now=paris(2025, 6, 11, 13))
    assert not [s for s in too_early.sent if "reperage" in s["mission"]]
    day_before = triggers.run_reminders(uow, sender, now=paris(2025, 6, 11, 14, 30))
    mine = [s for s in day_before.sent if s["mission"] == "reperage@polis.test"]
    assert sorted(s["channel"] for s in mine) == ["email", "webhook"]
    assert len(_mails(tmp_path)) == 1
    twice = triggers.run_reminders(uow, sender, now=paris(2025, 6, 11, 14, 31))
    assert not [s for s in twice.sent if s["mission"] == "reperage@polis.test"]
    hour_before = triggers.run_reminders(uow, sender, now=paris(2025, 6, 12, 13, 10))
    assert len([s for s in hour_before.sent if s["mission"] == "reperage@polis.test"]) == 2
    assert len(_mails(tmp_path)) == 2
    with uow:
        events = [
            json.loads(e.payload)
            for e in uow.session.scalars(
                select(OutboxRow).where(
                    OutboxRow.tenant_id == tenant, OutboxRow.event_type == "reminder.due"
                )
            )
        ]
        recorded = [
            r.status
            for r in uow.session.scalars(
                select(OnDemandReminderRow).where(OnDemandReminderRow.tenant_id == tenant)
            )
        ]
    assert [e["mission"] for e in events] == ["reperage@polis.test"] * 2
    assert events[0]["message_key"] == "ondemand.reminder.mission_without_cover"
    assert recorded == ["sent"] * 4


def test_statement_of_a_calendar_month(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    _ics(uow, tenant, sub, signer_issuer, "story_1_booked.ics")
    customer = ondemand_windows.list_windows(uow, tenant, sub, now=NOW)[0].customer_id
    june = ondemand_billing.statement(uow, tenant, customer, "2025-06")
    assert june["totals"]["windows"] == 2
    assert june["totals"]["hours"] == "18"
    assert D(june["totals"]["total"]) > 0
