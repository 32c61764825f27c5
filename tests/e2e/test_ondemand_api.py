"""On-demand cover through the partner API: the whole journey with idempotency (also under eight
concurrent retries), certificates verified in every status (API, PDF upload, public page),
windows changed, calendars (upload, URL, API list), geofence pings, partner events, statements,
claims at the exact boundaries, events in the outbox, and tenant isolation on every route."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from polis.api import create_app
from polis.services import ondemand_windows
from polis.store import SqlUnitOfWork, make_engine, session_factory
from polis.store.tables_platform import OutboxRow
from tests.e2e.accounts import Account
from tests.ondemand_fixtures import BUSINESS, api_settings, paris, utc

pytestmark = pytest.mark.db

ICS = Path(__file__).resolve().parents[1] / "fixtures" / "ics"
NOW = utc(2026, 6, 10, 8)  # a Wednesday, 10:00 in Paris


class Clock:
    """The app's clock (``app.state.clock``), moved by the tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def api(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    app = create_app(api_settings(database_url, tmp_path, calendar_fetch_allow_private=True))
    app.state.clock = clock
    with TestClient(app) as client:
        yield client


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _ok(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _error(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _post(api: TestClient, account: Account, path: str, body: Any = None) -> httpx2.Response:
    return api.post(path, json=body, headers={**account.headers, **_key()})


def _onboard(api: TestClient, account: Account, **subscription: Any) -> tuple[str, str]:
    """A verified customer and its subscription (equipment per hour, item camera-1)."""
    customer = _ok(_post(api, account, "/v1/customers", BUSINESS), 201)
    _ok(api.post(f"/v1/customers/{customer['id']}/verify", headers=account.headers))
    body = {
        "customer_id": customer["id"],
        "product": "equipment-micro",
        "unit": "hour",
        "items": [{"ref": "camera-1", "description": "Canon EOS R6 kit"}],
        "risk": {"equipment": "camera"},
    } | subscription
    sub = _ok(_post(api, account, "/v1/subscriptions", body), 201)
    return customer["id"], sub["id"]


def _activate(
    api: TestClient, account: Account, sub: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = _post(api, account, f"/v1/subscriptions/{sub}/windows", body or {"duration": "PT2H"})
    return dict(_ok(response, 201))


def _altered(pdf: bytes) -> bytes:
    match = re.search(rb"<polis:content>([A-Za-z0-9_-]+)</polis:content>", pdf)
    assert match is not None
    raw = match.group(1).decode("ascii")
    content = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    forged = content.replace(b'"amount":"1000.00"', b'"amount":"9000.00"')
    assert forged != content
    return pdf.replace(match.group(1), base64.urlsafe_b64encode(forged).rstrip(b"="))


def _events(database_url: str, tenant: str) -> list[tuple[str, dict[str, Any]]]:
    engine = make_engine(database_url)
    try:
        with SqlUnitOfWork(session_factory(engine)) as uow:
            rows = uow.session.scalars(
                select(OutboxRow).where(OutboxRow.tenant_id == tenant).order_by(OutboxRow.id)
            )
            return [(r.event_type, json.loads(r.payload)) for r in rows]
    finally:
        engine.dispose()


# --- the journey ----------------------------------------------------------------------------------


def test_a_partner_covers_a_camera_for_two_hours_and_the_certificate_checks_out(
    api: TestClient, account: Account, clock: Clock, database_url: str
) -> None:
    h = account.headers
    bad = _post(api, account, "/v1/customers", BUSINESS | {"siret": "73282932000075"})
    assert _error(bad, 422) == {
        "code": "customer.siret_invalid",
        "message": bad.json()["error"]["message"],
        "field": "siret",
    }
    customer = _ok(_post(api, account, "/v1/customers", BUSINESS), 201)
    assert (customer["status"], customer["siren"]) == ("pending", "732829320")
    verified = _ok(api.post(f"/v1/customers/{customer['id']}/verify", json={}, headers=h))
    assert verified["status"] == "verified"
    body = {
        "customer_id": customer["id"],
        "product": "equipment-micro",
        "unit": "hour",
        "items": [{"ref": "camera-1", "description": "Canon EOS R6 kit", "serial": "R6-0042"}],
        "risk": {"equipment": "camera"},
    }
    sub = _ok(_post(api, account, "/v1/subscriptions", body), 201)
    terms = api.get(f"/v1/subscriptions/{sub['id']}/terms", headers=h)
    assert terms.headers["X-Content-SHA256"] == sub["terms_sha256"]
    assert json.loads(terms.content)["options"]["items"][0]["serial"] == "R6-0042"

    headers = {**h, **_key()}
    first = api.post(
        f"/v1/subscriptions/{sub['id']}/windows", json={"duration": "PT2H"}, headers=headers
    )
    retry = api.post(
        f"/v1/subscriptions/{sub['id']}/windows", json={"duration": "PT2H"}, headers=headers
    )
    done = _ok(first, 201)
    assert _ok(retry, 201) == done
    assert (first.headers["Idempotent-Replayed"], retry.headers["Idempotent-Replayed"]) == (
        "false",
        "true",
    )
    window, number = done["window"], done["certificate"]
    assert (window["start"], window["end"]) == ("2026-06-10T08:00:00Z", "2026-06-10T10:00:00Z")
    assert done["price"]["total"] == "3.74"
    ledger = _ok(api.get(f"/v1/customers/{customer['id']}/ledger", headers=h))
    assert [(e["kind"], e["total"]) for e in ledger] == [("charge", "3.74")]  # charged once

    pdf = api.get(f"/v1/certificates/{number}.pdf", headers=h)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    meta = _ok(api.get(f"/v1/certificates/{number}", headers=h))
    assert meta["pdf_sha256"] == pdf.headers["X-Content-SHA256"]
    assert meta["content"]["product"]["terms_sha256"] == sub["terms_sha256"]

    def verify() -> dict[str, Any]:
        return dict(_ok(api.get(f"/v1/certificates/{number}/verify")))  # public: no key

    assert verify()["status"] == "valid"
    upload = api.post(
        "/v1/certificates/verify", files={"file": ("c.pdf", pdf.content, "application/pdf")}
    )
    assert _ok(upload)["status"] == "valid"
    tampered = api.post(
        "/v1/certificates/verify",
        files={"file": ("c.pdf", _altered(pdf.content), "application/pdf")},
    )
    assert _ok(tampered)["status"] == "tampered"
    not_pdf = api.post("/v1/certificates/verify", files={"file": ("x.pdf", b"hello", "text/plain")})
    assert _error(not_pdf, 422)["code"] == "certificate.not_embedded"
    assert _ok(api.get("/v1/certificates/ATT-2026-999999/verify"))["status"] == "unknown"

    clock.now = NOW + timedelta(hours=2)  # the exact end instant
    assert verify()["status"] == "expired"
    revoked = api.post(f"/v1/certificates/{number}/revoke", json={"reason": "fraud"}, headers=h)
    assert _ok(revoked)["revoked_at"] is not None
    assert (verify()["status"], verify()["revocation_reason"]) == ("revoked", "fraud")

    page = api.get(f"/verify/{number}")
    assert page.status_code == 200
    assert 'data-status="revoked"' in page.text
    types = [t for t, _ in _events(database_url, account.tenant_id)]
    assert types.count("window.activated") == 1
    assert "certificate.issued" in types
    assert "certificate.revoked" in types


def test_eight_concurrent_retries_activate_once(api: TestClient, account: Account) -> None:
    customer, sub = _onboard(api, account)
    headers = {**account.headers, **_key()}
    barrier = threading.Barrier(8)

    def post() -> httpx2.Response:
        barrier.wait(5)
        return api.post(
            f"/v1/subscriptions/{sub}/windows", json={"duration": "PT2H"}, headers=headers
        )

    with ThreadPoolExecutor(8) as pool:
        responses = [f.result(60) for f in [pool.submit(post) for _ in range(8)]]
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["window"]["id"] for r in responses}) == 1
    assert [r.headers["Idempotent-Replayed"] for r in responses].count("false") == 1
    windows = _ok(api.get(f"/v1/subscriptions/{sub}/windows", headers=account.headers))
    assert len(windows) == 1
    ledger = _ok(api.get(f"/v1/customers/{customer}/ledger", headers=account.headers))
    assert len(ledger) == 1


def test_concurrent_retries_of_a_refused_activation_get_one_stored_error(
    api: TestClient, account: Account
) -> None:
    _, sub = _onboard(api, account)
    headers = {**account.headers, **_key()}
    body = {"object_ref": "no-such-item", "duration": "PT2H"}
    barrier = threading.Barrier(6)

    def post() -> httpx2.Response:
        barrier.wait(5)
        return api.post(f"/v1/subscriptions/{sub}/windows", json=body, headers=headers)

    with ThreadPoolExecutor(6) as pool:
        responses = [f.result(60) for f in [pool.submit(post) for _ in range(6)]]
    assert len({(r.status_code, r.json()["error"]["code"]) for r in responses}) == 1
    assert 400 <= responses[0].status_code < 500
    assert [r.headers["Idempotent-Replayed"] for r in responses].count("false") == 1
    later = api.post(f"/v1/subscriptions/{sub}/windows", json=body, headers=headers)
    assert (later.status_code, later.headers["Idempotent-Replayed"]) == (
        responses[0].status_code,
        "true",
    )
    other = api.post(f"/v1/subscriptions/{sub}/windows", json={"duration": "PT2H"}, headers=headers)
    assert _error(other, 422)["code"] == "idempotency.key_reused"
    windows = _ok(api.get(f"/v1/subscriptions/{sub}/windows", headers=account.headers))
    assert windows == []


def test_an_activation_needs_an_idempotency_key(api: TestClient, account: Account) -> None:
    _, sub = _onboard(api, account)
    response = api.post(
        f"/v1/subscriptions/{sub}/windows", json={"duration": "PT2H"}, headers=account.headers
    )
    assert _error(response, 422)["code"] == "idempotency.key_required"


def test_windows_are_extended_stopped_cancelled_and_the_cover_follows(
    api: TestClient, account: Account, clock: Clock
) -> None:
    customer, sub = _onboard(api, account)
    h = account.headers
    done = _activate(api, account, sub, {"duration": "PT3H"})
    wid = done["window"]["id"]
    cover = _ok(api.get("/v1/objects/camera-1/cover", headers=h))
    assert (cover["state"], cover["until"]) == ("covered", "2026-06-10T11:00:00Z")
    longer = _ok(_post(api, account, f"/v1/windows/{wid}/extend", {"end": "2026-06-10T15:00"}))
    assert longer["window"]["end"] == "2026-06-10T13:00:00Z"
    clock.now = NOW + timedelta(minutes=70)
    stopped = _ok(_post(api, account, f"/v1/windows/{wid}/stop", {}))
    assert stopped["window"]["state"] == "stopped"
    assert float(stopped["refund"]["total"]) < 0
    assert set(stopped["revoked_certificates"]) == {done["certificate"], longer["certificate"]}
    later = _activate(api, account, sub, {"start": "2026-06-12T09:00", "duration": "PT2H"})
    at = "2026-06-12T07:30:00Z"
    assert _ok(api.get(f"/v1/objects/camera-1/cover?at={at}", headers=h))["state"] == "covered"
    cancelled = _ok(_post(api, account, f"/v1/windows/{later['window']['id']}/cancel"))
    assert cancelled["refund"]["total"] == f"-{later['price']['total']}"
    assert _ok(api.get(f"/v1/objects/camera-1/cover?at={at}", headers=h))["state"] == "not_covered"
    conflict = _post(api, account, f"/v1/windows/{wid}/stop", {})
    assert _error(conflict, 409)["code"] == "state.illegal_transition"
    statement = _ok(api.get(f"/v1/customers/{customer}/statements/2026-06", headers=h))
    assert statement["totals"]["windows"] == 2
    pdf = api.get(f"/v1/customers/{customer}/statements/2026-06.pdf", headers=h)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    quiet = _ok(api.get(f"/v1/customers/{customer}/statements/2026-08", headers=h))
    assert quiet["totals"]["total"] == "0.00"
    assert quiet["windows"] == []


def test_a_night_window_on_the_march_change_and_a_refused_spring_gap(
    api: TestClient, account: Account, clock: Clock
) -> None:
    clock.now = utc(2026, 3, 20, 9)
    _, sub = _onboard(api, account)
    done = _activate(api, account, sub, {"start": "2026-03-29T00:00", "end": "2026-03-29T06:00"})
    assert (done["window"]["duration_hours"], done["price"]["hours"]) == ("5", "5")
    gap = _post(
        api,
        account,
        f"/v1/subscriptions/{sub}/windows",
        {"start": "2026-03-29T02:30", "duration": "PT1H"},
    )
    assert _error(gap, 422) == {
        "code": "time.nonexistent",
        "message": gap.json()["error"]["message"],
        "field": "start",
    }


def test_a_claim_on_a_window_is_covered_at_its_start_not_at_its_end(
    api: TestClient, account: Account, clock: Clock
) -> None:
    _, sub = _onboard(api, account)
    done = _activate(api, account, sub)
    clock.now = NOW + timedelta(hours=3)

    def covered(loss_at: str) -> bool:
        claim = {
            "policy_id": done["window"]["policy_id"],
            "cover_id": "equipment",
            "peril": "theft",
            "loss_at": loss_at,
            "description": "stolen from the bag",
            "estimated_amount": "700",
        }
        declared = _ok(_post(api, account, "/v1/claims", claim), 201)["claim"]["id"]
        preview = _ok(
            api.post(f"/v1/claims/{declared}/offer?dry_run=true", json={}, headers=account.headers)
        )
        return bool(preview["settlement"]["cover"]["covered"])

    assert covered(done["window"]["start"]) is True
    assert covered(done["window"]["end"]) is False


def test_activation_and_expiry_events_reach_the_outbox(
    api: TestClient, account: Account, database_url: str
) -> None:
    _, sub = _onboard(api, account)
    done = _activate(api, account, sub)
    engine = make_engine(database_url)
    try:
        ondemand_windows.publish_expired(
            SqlUnitOfWork(session_factory(engine)), now=NOW + timedelta(hours=2)
        )
    finally:
        engine.dispose()
    events = _events(database_url, account.tenant_id)
    activated = [p for t, p in events if t == "window.activated"]
    expired = [p for t, p in events if t == "window.expired"]
    assert [p["window_id"] for p in activated] == [done["window"]["id"]]
    assert activated[0]["certificate"] == done["certificate"]
    assert [p["window_id"] for p in expired] == [done["window"]["id"]]


# --- triggers ---------------------------------------------------------------------------------------


class _Feed(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def feed() -> Iterator[Callable[[bytes], str]]:
    handler: type[_Feed] = type("Feed", (_Feed,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(body: bytes) -> str:
        handler.body = body
        return f"http://127.0.0.1:{server.server_address[1]}/missions.ics"

    yield serve
    server.shutdown()
    server.server_close()


def test_calendars_by_upload_url_and_api_list(
    api: TestClient, account: Account, clock: Clock, feed: Callable[[bytes], str]
) -> None:
    clock.now = utc(2025, 6, 10, 8)
    _, sub = _onboard(api, account)
    h = account.headers
    story = (ICS / "story_1_booked.ics").read_bytes()
    uploaded = api.post(
        f"/v1/subscriptions/{sub}/calendar?margin_before_minutes=30",
        content=story,
        headers={**h, **_key(), "Content-Type": "text/calendar"},
    )
    synced = _ok(uploaded)
    assert [o["action"] for o in synced["operations"]] == ["open", "open"]
    assert synced["windows"][0]["start"] == paris(2025, 6, 16, 7, 30).isoformat().replace(
        "+00:00", "Z"
    )
    again = api.post(
        f"/v1/subscriptions/{sub}/calendar?margin_before_minutes=30",
        files={"file": ("cal.ics", story, "text/calendar")},
        headers={**h, **_key()},
    )
    assert _ok(again)["operations"] == []  # syncing twice changes nothing
    moved = _ok(
        _post(
            api,
            account,
            f"/v1/subscriptions/{sub}/calendar",
            {"url": feed((ICS / "story_2_moved.ics").read_bytes()), "margin_before_minutes": 30},
        )
    )
    assert [(o["action"], o["reason"]) for o in moved["operations"]] == [("move", "mission_moved")]
    broken = _post(api, account, f"/v1/subscriptions/{sub}/calendar", {"url": "ftp://x/y.ics"})
    assert _error(broken, 422)["code"] == "calendar.url_refused"
    missions = {
        "missions": [
            {"uid": "m-1", "start": "2025-06-20T09:00:00+02:00", "end": "2025-06-20T12:00:00+02:00"}
        ]
    }
    listed = api.put(f"/v1/subscriptions/{sub}/missions", json=missions, headers={**h, **_key()})
    body = _ok(listed)
    assert body["source"] == "api"
    assert {o["action"] for o in body["operations"]} == {"open", "cancel"}


def test_geofence_and_pings_through_the_api(
    api: TestClient, account: Account, clock: Clock
) -> None:
    clock.now = paris(2026, 6, 10, 11, 30)
    _, sub = _onboard(
        api,
        account,
        product="warehouse-goods-day",
        unit="day",
        items=[{"ref": "wh", "description": "Entrepôt"}],
        geofence_ref="rungis",
        risk={"goods": "dry_goods"},
    )
    ring = [[2.350, 48.750], [2.353, 48.750], [2.353, 48.752], [2.350, 48.752], [2.350, 48.750]]
    fence = {"geometry": {"type": "Polygon", "coordinates": [ring]}, "buffer_m": 10}
    _ok(api.put(f"/v1/subscriptions/{sub}/geofence", json=fence, headers=account.headers))
    t0 = paris(2026, 6, 10, 10)
    pings = [
        {"at": (t0 + timedelta(minutes=m)).isoformat(), "lat": 48.751, "lon": 2.3515}
        for m in (0, 5, 10, 15)
    ] + [
        {"at": (t0 + timedelta(minutes=m)).isoformat(), "lat": 48.760, "lon": 2.3515}
        for m in (20, 25, 30, 35)
    ]
    answer = _ok(
        _post(
            api,
            account,
            f"/v1/subscriptions/{sub}/pings",
            {"device_ref": "t-1", "pings": pings[::-1]},
        )
    )
    assert [d["action"] for d in answer["decisions"]] == ["open", "close"]
    windows = _ok(api.get(f"/v1/subscriptions/{sub}/windows", headers=account.headers))
    assert [(w["start"], w["end"]) for w in windows] == [
        ("2026-06-10T08:00:00Z", "2026-06-10T08:20:00Z")
    ]


def test_partner_events_with_duplicates_and_refusals(
    api: TestClient, account: Account, clock: Clock
) -> None:
    _, sub = _onboard(api, account)
    start = {"subscription_id": sub, "partner_ref": "rental-9", "kind": "start",
             "at": "2026-06-10T10:00:00+02:00", "expected_end": "2026-06-10T18:00:00+02:00"}  # fmt: skip
    opened = _ok(_post(api, account, "/v1/partner-events", start))
    assert (opened["action"], opened["window"]["end"]) == ("open", "2026-06-10T16:00:00Z")
    again = _ok(_post(api, account, "/v1/partner-events", start))  # another key, same call
    assert again["replayed"] is True
    assert again["window"]["id"] == opened["window"]["id"]
    clock.now = NOW + timedelta(hours=3)
    stop = start | {"kind": "stop", "at": "2026-06-10T12:30:00+02:00"}
    stop.pop("expected_end")
    closed = _ok(_post(api, account, "/v1/partner-events", stop))
    assert (closed["action"], closed["window"]["end"]) == ("close", "2026-06-10T10:30:00Z")
    refused = _post(api, account, "/v1/partner-events", start | {"at": "2026-06-10T13:00:00+02:00"})
    error = _error(refused, 409)
    assert error["code"] == "partner.ref_already_used"
    assert refused.json()["decision"]["action"] == "refuse"


# --- isolation, public page, documentation ---------------------------------------------------------


def test_another_tenant_reaches_nothing_on_any_route(
    api: TestClient, account: Account, other_account: Account
) -> None:
    customer, sub = _onboard(api, account)
    done = _activate(api, account, sub)
    wid, number = done["window"]["id"], done["certificate"]
    o = other_account.headers
    routes: list[tuple[str, str, Any]] = [
        ("GET", f"/v1/customers/{customer}", None),
        ("POST", f"/v1/customers/{customer}/verify", {}),
        ("GET", f"/v1/customers/{customer}/statements/2026-06", None),
        ("GET", f"/v1/customers/{customer}/statements/2026-06.pdf", None),
        ("GET", f"/v1/customers/{customer}/ledger", None),
        ("POST", "/v1/subscriptions", {"customer_id": customer, "product": "equipment-micro",
                                       "unit": "hour", "items": [{"ref": "x", "description": "y"}],
                                       "risk": {"equipment": "camera"}}),
        ("GET", f"/v1/subscriptions/{sub}", None),
        ("GET", f"/v1/subscriptions/{sub}/terms", None),
        ("POST", f"/v1/subscriptions/{sub}/windows", {"duration": "PT1H"}),
        ("GET", f"/v1/subscriptions/{sub}/windows", None),
        ("GET", f"/v1/windows/{wid}", None),
        ("POST", f"/v1/windows/{wid}/extend", {"end": "2026-06-10T20:00"}),
        ("POST", f"/v1/windows/{wid}/stop", {}),
        ("POST", f"/v1/windows/{wid}/cancel", None),
        ("GET", f"/v1/certificates/{number}", None),
        ("GET", f"/v1/certificates/{number}.pdf", None),
        ("POST", f"/v1/certificates/{number}/revoke", {"reason": "x"}),
        ("POST", f"/v1/subscriptions/{sub}/calendar", {"url": "https://example.org/x.ics"}),
        ("PUT", f"/v1/subscriptions/{sub}/missions", {"missions": []}),
        ("PUT", f"/v1/subscriptions/{sub}/geofence",
         {"geometry": {"type": "Polygon", "coordinates": [[[2.35, 48.75], [2.353, 48.75],
                                                          [2.353, 48.752], [2.35, 48.75]]]}}),
        ("POST", f"/v1/subscriptions/{sub}/pings",
         {"device_ref": "d", "pings": [{"at": "2026-06-10T09:00:00+02:00", "lat": 48.7, "lon": 2.3}]}),
        ("POST", "/v1/partner-events", {"subscription_id": sub, "partner_ref": "p", "kind": "start",
                                        "at": "2026-06-10T10:00:00+02:00"}),
        ("GET", f"/v1/policies/{done['window']['policy_id']}", None),
    ]  # fmt: skip
    for method, path, body in routes:
        response = api.request(method, path, json=body, headers={**o, **_key()})
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"].endswith("not_found"), (method, path)
    listed = _ok(api.get("/v1/customers", headers=o))
    assert customer not in {c["id"] for c in listed}
    cover = _ok(api.get("/v1/objects/camera-1/cover", headers=o))
    assert (cover["state"], cover["current"]) == ("not_covered", [])
    unauthenticated = api.get(f"/v1/windows/{wid}")
    assert unauthenticated.status_code == 401
    # the owner still sees everything
    assert _ok(api.get(f"/v1/windows/{wid}", headers=account.headers))["id"] == wid


def test_the_public_verification_page_speaks_french_then_english(
    api: TestClient, account: Account
) -> None:
    _, sub = _onboard(api, account)
    number = _activate(api, account, sub)["certificate"]
    page = api.get(f"/verify/{number}")
    assert page.status_code == 200
    assert "Attestation valide" in page.text
    assert "Studio Lumière SARL" in page.text
    assert "(UTC+02:00)" in page.text
    api.get("/lang/en")
    english = api.get(f"/verify/{number}")
    assert "Valid certificate" in english.text
    unknown = api.get("/verify/ATT-2026-999999")
    assert unknown.status_code == 404
    assert 'data-status="unknown"' in unknown.text
    pdf = api.get(f"/v1/certificates/{number}.pdf", headers=account.headers).content
    checked = api.post("/verify", files={"file": ("c.pdf", pdf, "application/pdf")})
    assert checked.status_code == 200
    assert 'data-status="valid"' in checked.text


def test_every_on_demand_route_has_openapi_examples(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    ours = {p: ops for p, ops in paths.items() if p.startswith(
        ("/v1/customers", "/v1/subscriptions", "/v1/windows", "/v1/objects",
         "/v1/certificates", "/v1/partner-events")
    )}  # fmt: skip
    assert len(ours) >= 20
    for path, operations in ours.items():
        for method, operation in operations.items():
            text = json.dumps(operation)
            assert '"example' in text, f"{method.upper()} {path} has no example"
    activate = paths["/v1/subscriptions/{subscription_id}/windows"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in activate["parameters"])


def _app(api: TestClient) -> FastAPI:
    return cast(FastAPI, api.app)
