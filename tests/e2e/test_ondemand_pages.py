"""The insured's on-demand pages through the real app: catalogue, sign-up (SIRET errors, CSRF),
the personal space in its cookie, subscribing (terms hash, limits), activating now or scheduled
(price breakdown, certificate download and verification, the March DST gap, the daily limit),
extending, stopping early and cancelling, "covered now", calendars, claims with photos, monthly
statements, another customer's things answering 404, and the pure form helpers."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from polis.api import create_app
from polis.kernel.errors import InvalidInput
from polis.rating.pure import Unit
from polis.services import load_demo
from polis.services.demo import DEMO_TENANT_NAME
from polis.store import SqlUnitOfWork, make_engine, session_factory, upgrade
from polis.web.i18n import translator
from polis.web.ondemand_forms import activation_payload, error_text, input_of, item_ref
from polis.web.quote_form import Formatter
from tests.claim_fixtures import jpeg_bytes
from tests.ondemand_fixtures import api_settings, new_tenant, utc

pytestmark = pytest.mark.db

NOW = utc(2026, 6, 10, 8)  # a Wednesday, 10:00 in Paris
PERSON = {
    "kind": "person",
    "name": "Jeanne Martin",
    "email": "jeanne@martin.example",
    "activity": "photographe",
    "line1": "3 allée des Pins",
    "postcode": "33000",
    "city": "Bordeaux",
}
EQUIPMENT = {
    "description": "Canon EOS R6 et deux objectifs",
    "serial": "R6-0042",
    "unit": "hour",
    "sum_insured": "1000",
    "deductible": "50",
    "equipment": "camera",
    "accept": "on",
}


class Clock:
    """The app's clock (``app.state.clock``), moved by the tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def _app(database_url: str, tmp_path: Path, clock: Clock, tenant: str | None) -> FastAPI:
    app = create_app(api_settings(database_url, tmp_path))
    app.state.clock = clock
    if tenant is not None:
        app.state.ondemand_web_tenant = tenant
    return app


@pytest.fixture
def tenant(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        return new_tenant(SqlUnitOfWork(session_factory(engine)))
    finally:
        engine.dispose()


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock: Clock, tenant: str) -> FastAPI:
    return _app(database_url, tmp_path, clock, tenant)


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


# --- helpers ----------------------------------------------------------------------------------


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


def _error(response: httpx2.Response, status: int) -> tuple[str, str, str]:
    """``(code, field, text)`` of the error shown on the page."""
    assert response.status_code == status, response.text
    match = re.search(
        r'id="error" data-code="([^"]*)" data-field="([^"]*)">\s*<strong id="error-text">([^<]*)',
        response.text,
    )
    assert match is not None, response.text
    return match.group(1), match.group(2), match.group(3)


def _field_error(response: httpx2.Response, status: int, name: str) -> tuple[str, str]:
    """``(code, text)`` of the error shown under the input ``name``."""
    assert response.status_code == status, response.text
    match = re.search(
        rf'<span class="field-error" id="error-{name}" data-code="([^"]*)">([^<]*)', response.text
    )
    assert match is not None, response.text
    return match.group(1), match.group(2)


def _signup(web: TestClient, form: dict[str, str] | None = None) -> httpx2.Response:
    csrf = _csrf(web.get("/ondemand/signup").text)
    return web.post(
        "/ondemand/signup", data={"csrf": csrf} | (form or PERSON), follow_redirects=False
    )


def _space(web: TestClient, *, verified: bool = True) -> str:
    """Sign up (and verify, the demo shortcut); the CSRF token of the space."""
    created = _signup(web)
    assert created.status_code == 303, created.text
    csrf = _csrf(web.get("/ondemand/me").text)
    if verified:
        assert web.post("/ondemand/me/verify", data={"csrf": csrf}).status_code == 200
    return csrf


def _subscribe(web: TestClient, csrf: str, **form: str) -> str:
    """Subscribe to the equipment product; the subscription's page address."""
    done = web.post(
        "/ondemand/products/equipment-micro",
        data={"csrf": csrf} | EQUIPMENT | form,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return done.headers["location"].split("?")[0]


def _activate(web: TestClient, csrf: str, sub: str, **form: str) -> httpx2.Response:
    return web.post(
        f"{sub}/activate",
        data={"csrf": csrf, "mode": "now", "hours": "2"} | form,
        follow_redirects=False,
    )


def _window(web: TestClient, csrf: str, sub: str, **form: str) -> str:
    done = _activate(web, csrf, sub, **form)
    assert done.status_code == 303, done.text
    return done.headers["location"].split("?")[0]


def _ics(uid: str, start: str, end: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polis tests//FR\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260601T080000Z\r\nDTSTART;TZID=Europe/Paris:{start}\r\n"
        f"DTEND;TZID=Europe/Paris:{end}\r\nSUMMARY:Mariage Dupont\r\nSTATUS:CONFIRMED\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


# --- catalogue and tenant ---------------------------------------------------------------------


def test_the_catalogue_shows_each_product_with_its_prices_minimum_and_cap(web: TestClient) -> None:
    page = web.get("/ondemand")
    assert page.status_code == 200
    for product in (
        "equipment-micro",
        "event-liability-day",
        "warehouse-goods-day",
        "delivery-rounds-weekend",
    ):
        assert f'data-product="{product}"' in page.text
    card = page.text.split('id="product-equipment-micro"')[1].split("</article>")[0]
    assert 'data-unit="hour"' in card
    assert 'data-unit="day"' in card
    assert "Minimum par activation" in card
    assert "Plafond par jour" in card
    assert "Prix de l&#39;heure" in card
    assert "0,97\u00a0€" in card  # 0.455 €/h pure for a camera ≤ 1,000 €, taxes included
    assert "samedi et dimanche seulement" in page.text  # the weekend rounds


def test_the_pages_act_for_the_demo_tenant_and_say_how_to_create_it(
    tmp_path: Path, clock: Clock
) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    upgrade(url)
    with TestClient(_app(url, tmp_path, clock, None)) as web:
        missing = web.get("/ondemand")
        assert missing.status_code == 503
        assert "polis demo" in missing.text
        assert web.get("/ondemand/signup").status_code == 503
        engine = make_engine(url)
        try:
            demo = load_demo(SqlUnitOfWork(session_factory(engine)))
        finally:
            engine.dispose()
        assert web.get("/ondemand").status_code == 200
        assert _signup(web).status_code == 303
        assert web.app.state.ondemand_web_tenant == demo.tenant_id  # type: ignore[attr-defined]
        assert DEMO_TENANT_NAME == "Démo Polis"


def test_the_pages_speak_english_with_the_language_switch(web: TestClient) -> None:
    web.get("/lang/en?next=/ondemand")
    page = web.get("/ondemand")
    assert "On-demand cover" in page.text
    assert '<html lang="en">' in page.text


# --- sign up and the personal space -----------------------------------------------------------


def test_a_business_with_a_bad_siret_is_refused_naming_the_field(web: TestClient) -> None:
    bad = _signup(web, PERSON | {"kind": "business", "siret": "73282932000075"})
    code, field, text = _error(bad, 422)
    assert (code, field) == ("customer.siret_invalid", "siret")
    assert "SIRET" in text
    assert "(champ : SIRET)" in bad.text
    assert 'id="field-siret"' in bad.text
    assert "field invalid" in bad.text
    assert _signup(web, PERSON | {"kind": "business", "siren": "732829321"}).status_code == 422
    good = _signup(web, PERSON | {"kind": "business", "siret": "732 829 320 00074"})
    assert good.status_code == 303


def test_sign_up_needs_every_field_and_its_form_token(web: TestClient) -> None:
    code, field, _ = _error(_signup(web, PERSON | {"email": ""}), 422)
    assert (code, field) == ("ondemand.required", "email")
    web.get("/ondemand/signup")
    forged = web.post("/ondemand/signup", data={"csrf": "forged"} | PERSON)
    assert _error(forged, 403)[0] == "auth.forbidden"


def test_signing_up_opens_a_space_in_an_httponly_cookie_and_a_personal_link(
    web: TestClient, app: FastAPI
) -> None:
    created = _signup(web)
    cookie = created.headers["set-cookie"]
    assert "polis_ondemand=" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/ondemand" in cookie
    assert "SameSite=lax" in cookie
    space = web.get("/ondemand/me")
    assert space.status_code == 200
    assert space.headers["cache-control"] == "no-store"
    assert space.headers["referrer-policy"] == "no-referrer"
    assert 'data-status="pending"' in space.text
    assert 'data-tier="starter"' in space.text
    link = re.search(r'value="([^"]+)" id="personal-link"', space.text)
    assert link is not None
    assert link.group(1)
    with TestClient(app) as other:  # another device
        opened = other.get(link.group(1).replace("&amp;", "&"), follow_redirects=False)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/ondemand/me"
        assert "Jeanne Martin" in other.get("/ondemand/me").text
        assert other.get("/ondemand/me?token=forged.token").status_code == 404
    with TestClient(app) as stranger:
        assert stranger.get("/ondemand/me", follow_redirects=False).headers["location"] == (
            "/ondemand/signup"
        )
        stranger.cookies.set("polis_ondemand", "forged.value", path="/ondemand")
        missing = stranger.get("/ondemand/subscriptions/SUB-2026-000001", follow_redirects=False)
        assert missing.headers["location"] == "/ondemand/signup"


def test_the_demo_shortcut_verifies_the_identity(web: TestClient) -> None:
    csrf = _space(web, verified=False)
    assert web.post("/ondemand/me/verify", data={"csrf": "forged"}).status_code == 403
    verified = web.post("/ondemand/me/verify", data={"csrf": csrf})
    assert verified.status_code == 200
    assert 'data-status="verified"' in verified.text
    assert 'id="verify"' not in verified.text


def test_forgetting_the_space_removes_its_cookie(web: TestClient) -> None:
    csrf = _space(web)
    gone = web.post("/ondemand/me/forget", data={"csrf": csrf}, follow_redirects=False)
    assert gone.status_code == 303
    assert 'polis_ondemand=""' in gone.headers["set-cookie"]


# --- choose a product and subscribe -----------------------------------------------------------


def test_the_product_page_explains_the_exclusions_with_examples(web: TestClient) -> None:
    page = web.get("/ondemand/products/event-liability-day")
    assert page.status_code == 200
    assert page.text.count('class="card od-exclusion"') == 3
    assert "Couvert :" in page.text
    assert "Pas couvert :" in page.text
    assert "Créez d&#39;abord votre espace" in page.text  # no space yet: no form
    assert web.get("/ondemand/products/home").status_code == 404  # not sold on demand
    assert web.get("/ondemand/products/nothing").status_code == 404


def test_subscribing_shows_the_hash_of_the_terms_snapshot(web: TestClient) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    page = web.get(sub + "?subscribed=1")
    match = re.search(r'id="terms-hash">([0-9a-f]{64})<', page.text)
    assert match is not None
    snapshot = web.get(f"{sub}/terms.json")
    assert snapshot.status_code == 200
    assert hashlib.sha256(snapshot.content).hexdigest() == match.group(1)
    assert snapshot.headers["x-content-sha256"] == match.group(1)
    assert json.loads(snapshot.content)["product"]["id"] == "equipment-micro"
    assert 'id="subscribed"' in page.text
    assert 'data-state="not_covered"' in page.text


def test_subscribing_is_refused_with_the_reason_before_verification_and_above_the_limits(
    web: TestClient,
) -> None:
    csrf = _space(web, verified=False)
    code, _, text = _error(
        web.post("/ondemand/products/equipment-micro", data={"csrf": csrf} | EQUIPMENT), 409
    )
    assert code == "customer.not_verified"
    assert "vérifiée" in text
    web.post("/ondemand/me/verify", data={"csrf": csrf})
    above = web.post(
        "/ondemand/products/equipment-micro",
        data={"csrf": csrf} | EQUIPMENT | {"sum_insured": "10000"},
    )
    code, field, text = _error(above, 409)
    assert (code, field) == ("limit.sum_insured_exceeded", "sum_insured")
    assert "dépasse votre limite actuelle de 3\u202f000" in text
    unaccepted = EQUIPMENT | {"accept": ""}
    code, field, _ = _error(
        web.post("/ondemand/products/equipment-micro", data={"csrf": csrf} | unaccepted), 422
    )
    assert (code, field) == ("ondemand.accept", "accept")


# --- activate, certificate, change ------------------------------------------------------------


def test_activating_now_for_two_hours_shows_the_price_and_the_certificate(
    web: TestClient,
) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    done = _activate(web, csrf, sub)
    assert done.status_code == 303
    assert done.headers["location"].endswith("?done=activated")
    page = web.get(done.headers["location"])
    assert page.status_code == 200
    assert 'data-phase="active"' in page.text
    assert "du 10/06/2026 10:00 (UTC+02:00) au 10/06/2026 12:00 (UTC+02:00)" in page.text
    assert '<output id="total">3,74\u00a0€</output>' in page.text  # 1.50 minimum + fee, taxed
    assert "dont taxes 0,31\u00a0€" in page.text
    assert "Prime pure : 2 h × 0,455 € = 0,91 €" in page.text
    assert "portée au minimum par activation (1,50\u00a0€)" in page.text
    assert "Prix de l&#39;heure" in page.text
    assert "Minimum par activation" in page.text
    number = re.search(r'href="/verify/(ATT-\d{4}-\d{6})" id="certificate-verify"', page.text)
    assert number is not None
    pdf = web.get(f"/ondemand/certificates/{number.group(1)}.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].startswith("attachment;")
    verified = web.get(f"/verify/{number.group(1)}")
    assert 'data-status="valid"' in verified.text
    sub_page = web.get(sub)
    assert 'data-state="covered"' in sub_page.text
    assert "jusqu&#39;au 10/06/2026 12:00 (UTC+02:00)" in sub_page.text


def test_a_start_in_the_march_dst_gap_is_refused_naming_the_field(web: TestClient) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    gap = _activate(
        web, csrf, sub, mode="schedule", start="2027-03-28T02:30", end="2027-03-28T05:00"
    )
    code, text = _field_error(gap, 422, "start")
    assert code == "time.nonexistent"
    assert "02:00 à 03:00" in text
    assert 'id="error"' not in gap.text  # said once, under the input it is about
    assert 'aria-invalid="true" aria-describedby="error-start"' in gap.text
    end_gap = _activate(
        web, csrf, sub, mode="schedule", start="2027-03-28T01:00", end="2027-03-28T02:15"
    )
    assert _field_error(end_gap, 422, "end")[0] == "time.nonexistent"
    night = _activate(
        web, csrf, sub, mode="schedule", start="2027-03-28T00:00", end="2027-03-28T06:00"
    )
    assert night.status_code == 303
    window = web.get(night.headers["location"])
    assert "5 h" in window.text  # six hours on the clock, five real hours
    assert "au 28/03/2027 06:00 (UTC+02:00)" in window.text
    assert 'data-phase="scheduled"' in window.text


def test_activating_beyond_the_daily_limit_is_refused_with_the_reason(web: TestClient) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    for hours in ("1", "2", "3"):  # the starter tier: 3 activations per day
        assert _activate(web, csrf, sub, hours=hours).status_code == 303
    code, field, text = _error(_activate(web, csrf, sub), 409)
    assert (code, field) == ("limit.daily_activations_exceeded", "start")
    assert "limite de 3 activations par jour" in text


def test_activation_forms_need_the_space_token(web: TestClient) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    assert _error(_activate(web, "forged", sub), 403)[0] == "auth.forbidden"
    assert _field_error(_activate(web, csrf, sub, hours="0"), 422, "hours")[0] == (
        "ondemand.out_of_range"
    )


def test_extending_then_stopping_early_shows_the_refund(web: TestClient, clock: Clock) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    window = _window(web, csrf, sub)
    extended = web.post(
        f"{window}/extend", data={"csrf": csrf, "end": "2026-06-10T15:00"}, follow_redirects=False
    )
    assert extended.status_code == 303, extended.text
    page = web.get(extended.headers["location"])
    assert "au 10/06/2026 15:00 (UTC+02:00)" in page.text
    assert 'data-reason="extension"' in page.text
    too_early = web.post(f"{window}/extend", data={"csrf": csrf, "end": "2026-06-10T11:00"})
    assert _error(too_early, 422)[:2] == ("window.extend_not_later", "end")
    clock.now = NOW + timedelta(minutes=30)
    stopped = web.post(f"{window}/stop", data={"csrf": csrf}, follow_redirects=False)
    assert stopped.status_code == 303
    page = web.get(stopped.headers["location"])
    assert 'data-done="stopped"' in page.text
    assert 'data-reason="stop"' in page.text
    refund = re.search(
        r'data-reason="stop">.*?class="num entry-total">(-[0-9,]+)\u00a0€', page.text, re.S
    )
    assert refund is not None  # started hour due, the rest back less the fee
    assert Decimal(refund.group(1).replace(",", ".")) < 0
    assert "au 10/06/2026 10:30 (UTC+02:00)" in page.text  # cover ended at the stop
    assert 'data-phase="ended"' in page.text


def test_cancelling_a_scheduled_window_refunds_everything(web: TestClient) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    window = _window(
        web, csrf, sub, mode="schedule", start="2026-06-12T09:00", end="2026-06-12T12:00"
    )
    assert 'data-state="scheduled"' in web.get(sub).text
    cancelled = web.post(f"{window}/cancel", data={"csrf": csrf}, follow_redirects=False)
    assert cancelled.status_code == 303
    page = web.get(cancelled.headers["location"])
    assert '<output id="total">0,00\u00a0€</output>' in page.text
    assert 'data-phase="cancelled"' in page.text
    assert 'data-state="not_covered"' in web.get(sub).text


# --- calendar ---------------------------------------------------------------------------------


def test_an_uploaded_calendar_opens_cover_for_tomorrows_mission_and_a_resync_changes_nothing(
    web: TestClient,
) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    ics = _ics("mission-1@polis.test", "20260611T090000", "20260611T120000")
    synced = web.post(
        f"{sub}/calendar",
        data={"csrf": csrf, "margin_before_minutes": "30"},
        files={"ics": ("missions.ics", ics, "text/calendar")},
    )
    assert synced.status_code == 200, synced.text
    assert 'data-action="open" data-applied="true"' in synced.text
    assert "du 11/06/2026 08:30 (UTC+02:00) au 11/06/2026 12:00 (UTC+02:00)" in synced.text
    assert synced.text.count("data-window=") == 1
    again = web.post(
        f"{sub}/calendar",
        data={"csrf": csrf, "margin_before_minutes": "30"},
        files={"ics": ("missions.ics", ics, "text/calendar")},
    )
    assert "0 changement(s), 1 inchangée(s)" in again.text
    page = web.get(sub)
    assert 'data-source="calendar"' in page.text
    assert "Mariage Dupont" in page.text  # the mission, on the subscription's page
    assert 'data-state="scheduled"' in page.text


def test_calendar_errors_name_the_field(web: TestClient) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    nothing = web.post(f"{sub}/calendar", data={"csrf": csrf})
    assert _error(nothing, 422)[1] == "ics"
    private = web.post(f"{sub}/calendar", data={"csrf": csrf, "url": "http://127.0.0.1/m.ics"})
    assert _error(private, 422)[:2] == ("calendar.url_refused", "url")
    broken = web.post(
        f"{sub}/calendar",
        data={"csrf": csrf},
        files={"ics": ("missions.ics", b"not a calendar", "text/calendar")},
    )
    assert _error(broken, 422)[1] == "ics"


# --- claims -----------------------------------------------------------------------------------


def test_a_claim_with_a_photo_gets_its_number_and_the_insured_link(
    web: TestClient, clock: Clock
) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    window = _window(web, csrf, sub).rsplit("/", 1)[1]
    clock.now = NOW + timedelta(minutes=45)
    form = web.get(f"{sub}/claim?window={window}")
    assert f'<option value="{window}" selected>' in form.text
    declared = web.post(
        f"{sub}/claim",
        data={
            "csrf": csrf,
            "window": window,
            "peril": "equipment:theft",
            "description": "volé dans le sac pendant la séance",
            "estimated_amount": "1 200,50",
        },
        files={"photos": ("sac.jpg", jpeg_bytes(), "image/jpeg")},
    )
    assert declared.status_code == 201, declared.text
    number = re.search(r'<output id="claim-number">(CLM-\d{4}-\d{6})</output>', declared.text)
    assert number is not None
    assert "1\u202f200,50\u00a0€" in declared.text
    assert "10/06/2026 10:45 (UTC+02:00)" in declared.text  # empty time: now
    assert declared.text.count("data-evidence=") == 1
    link = re.search(r'href="([^"]+)" id="insured-link"', declared.text)
    assert link is not None
    assert f"/my/claims/{number.group(1)}?token=" in link.group(1)
    insured = web.get(link.group(1).replace("&amp;", "&"))
    assert insured.status_code == 200
    assert 'data-status="declared"' in insured.text


def test_a_claim_outside_its_window_or_with_a_wrong_file_is_refused_before_declaring(
    web: TestClient, clock: Clock
) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    window = _window(web, csrf, sub).rsplit("/", 1)[1]
    clock.now = NOW + timedelta(hours=5)
    form = {
        "csrf": csrf,
        "window": window,
        "peril": "equipment:accidental_damage",
        "description": "l'objectif est tombé",
        "estimated_amount": "300",
    }
    late = web.post(f"{sub}/claim", data=form | {"loss_at": "2026-06-10T13:00"})
    code, field, text = _error(late, 422)
    assert (code, field) == ("ondemand.outside_window", "loss_at")
    assert "du 10/06/2026 10:00 (UTC+02:00) au 10/06/2026 12:00 (UTC+02:00)" in text
    future = web.post(f"{sub}/claim", data=form | {"loss_at": "2026-06-10T16:00"})
    assert _error(future, 422)[:2] == ("ondemand.future", "loss_at")
    text_file = web.post(
        f"{sub}/claim",
        data=form | {"loss_at": "2026-06-10T11:00"},
        files={"photos": ("notes.txt", b"just text", "text/plain")},
    )
    assert _error(text_file, 422)[:2] == ("evidence.type_refused", "photos")
    assert "notes.txt" in text_file.text
    assert web.post(f"{sub}/claim", data=form | {"peril": "equipment:flood"}).status_code == 422
    ok = web.post(f"{sub}/claim", data=form | {"loss_at": "2026-06-10T11:00"})
    assert ok.status_code == 201
    assert "CLM-" in ok.text
    assert "data-evidence=" not in ok.text


# --- statements -------------------------------------------------------------------------------


def test_the_monthly_statement_as_a_page_json_and_pdf(web: TestClient) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    window = _window(web, csrf, sub).rsplit("/", 1)[1]
    page = web.get("/ondemand/me/statement?month=2026-06")
    assert page.status_code == 200
    assert f'data-window="{window}"' in page.text
    assert '<output id="statement-total">3,74\u00a0€</output>' in page.text
    data = web.get("/ondemand/me/statement.json?month=2026-06").json()
    assert data["month"] == "2026-06"
    assert data["totals"]["total"] == "3.74"
    assert [w["window_id"] for w in data["windows"]] == [window]
    pdf = web.get("/ondemand/me/statement.pdf?month=2026-06")
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"] == 'attachment; filename="releve-2026-06.pdf"'
    quiet = web.get("/ondemand/me/statement?month=2026-05")
    assert 'id="quiet"' in quiet.text
    assert "0,00\u00a0€" in quiet.text
    assert _error(web.get("/ondemand/me/statement?month=juin"), 422)[1] == "month"
    assert web.get("/ondemand/me/statement.json?month=13-2026").status_code == 422


# --- isolation --------------------------------------------------------------------------------


def test_another_customers_subscription_window_and_certificate_answer_404(
    web: TestClient, app: FastAPI
) -> None:
    csrf = _space(web)
    sub = _subscribe(web, csrf)
    window = _window(web, csrf, sub)
    page = web.get(window)
    number = re.search(r'href="/ondemand/certificates/(ATT-[0-9-]+)\.pdf"', page.text)
    assert number is not None
    with TestClient(app) as other:
        other_csrf = _space(other)
        assert other.get(sub).status_code == 404
        assert other.get(f"{sub}/terms.json").status_code == 404
        assert other.get(f"{sub}/claim").status_code == 404
        assert other.get(window).status_code == 404
        assert other.get(f"/ondemand/certificates/{number.group(1)}.pdf").status_code == 404
        assert _activate(other, other_csrf, sub).status_code == 404
        stop = other.post(f"{window}/stop", data={"csrf": other_csrf})
        assert stop.status_code == 404
        assert 'data-phase="active"' in web.get(window).text


# --- the pure helpers -------------------------------------------------------------------------


def test_form_helpers_map_fields_refs_durations_and_errors() -> None:
    assert item_ref("Canon EOS R6 — kit n°2", "CUS-2026-000007") == (
        "canon-eos-r6-kit-n2-cus-2026-000007"
    )
    assert item_ref("—") == "item"
    assert input_of("address.postcode") == "postcode"
    assert input_of("risk.attendees") == "attendees"
    assert input_of("items[0].ref") == "description"
    assert input_of("duration") == "hours"
    assert input_of(None) is None
    now = utc(2026, 10, 24, 20)  # Saturday 22:00 in Paris, the night before the change
    two_days = activation_payload({"days": "2"}, Unit.DAY, now)
    assert two_days["end"] == "2026-10-26T00:00:00+01:00"  # winter time by then
    assert activation_payload({"hours": "1,5"}, Unit.HOUR, now)["duration"] == timedelta(minutes=90)
    with pytest.raises(InvalidInput) as caught:
        activation_payload({"days": "1.5"}, Unit.DAY, now)
    assert caught.value.field == "days"
    t, fmt = translator("fr"), Formatter("fr")
    limit = InvalidInput("x", code="limit.daily_activations_exceeded", limit="10")
    assert "10 activations" in error_text(limit, t, fmt)
    unknown = InvalidInput("the service's own words", code="something.else")
    assert error_text(unknown, t, fmt) == "the service's own words"
    broken = InvalidInput("kept", code="ondemand.outside_window")  # its values are missing
    assert error_text(broken, t, fmt) == "kept"
