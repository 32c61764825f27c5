"""The claims pages through the real app: sign-in, queue, declaration form, the claim page and its
actions, the insured's page, CSRF, and tenant isolation on every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from polis.services import tenants
from polis.store import SqlUnitOfWork, make_engine, session_factory
from tests.claim_fixtures import claims_client, jpeg_bytes, pdf_bytes, policy_payload
from tests.e2e.accounts import Account

pytestmark = pytest.mark.db


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with claims_client(database_url, tmp_path / "evidence") as client:
        yield client


def _login(web: TestClient, account: Account) -> str:
    """Sign in; returns the CSRF token of the session."""
    web.cookies.clear()
    page = web.post("/claims/login", data={"api_key": account.key, "next": "/claims/new"})
    assert page.status_code == 200, page.text
    return _csrf(page.text)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match is not None
    return match.group(1)


def _policy(web: TestClient, account: Account) -> str:
    response = web.post("/v1/policies", json=policy_payload(), headers=account.headers)
    assert response.status_code == 201
    policy: str = response.json()["id"]
    return policy


def _declare(web: TestClient, csrf: str, policy: str, loss_at: str = "") -> tuple[str, str]:
    """Declare through the form; returns the claim number and the insured's link."""
    now = datetime.now().strftime("%Y-%m-%dT%H:%M")  # the form takes Paris wall-clock time
    form = {
        "csrf": csrf,
        "policy_id": policy,
        "cover_id": "equipment",
        "peril": "accidental_damage",
        "loss_at": loss_at or now[:11] + "00:00",
        "estimated_amount": "1200,00",
        "description": "the camera fell from the tripod",
        "circumstances": "",
    }
    page = web.post("/claims/new", data=form)
    assert page.status_code == 200, page.text
    number = re.search(r'id="declared">[^<]*?(CLM-\d{4}-\d{6})', page.text)
    link = re.search(r'id="insured-link">([^<]+)<', page.text)
    assert number is not None
    assert link is not None
    return number.group(1), link.group(1).replace("&amp;", "&")


def _post(web: TestClient, url: str, **form: str) -> str:
    page = web.post(url, data=form)
    assert page.status_code == 200, page.text
    return page.text


def test_pages_need_a_session_and_send_to_the_sign_in(web: TestClient) -> None:
    response = web.get("/claims/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/claims/login?next=/claims/queue"
    login = web.get("/claims/login")
    assert '<html lang="fr">' in login.text
    assert 'id="api_key"' in login.text


def test_a_wrong_key_does_not_sign_in(web: TestClient) -> None:
    page = web.post("/claims/login", data={"api_key": "polis_000000000000_nope"})
    assert page.status_code == 401
    assert "auth.unauthenticated" in page.text
    assert "polis_session" not in web.cookies


def test_the_session_cookie_is_httponly_and_signed(web: TestClient, account: Account) -> None:
    response = web.post("/claims/login", data={"api_key": account.key}, follow_redirects=False)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert account.key not in cookie
    genuine = web.cookies["polis_session"]
    web.cookies.clear()
    web.cookies.set("polis_session", genuine[:-4] + ("0000" if genuine[-4:] != "0000" else "1111"))
    assert web.get("/claims/queue", follow_redirects=False).status_code == 303


def test_a_revoked_key_ends_its_web_session(
    web: TestClient, account: Account, database_url: str
) -> None:
    _login(web, account)
    engine = make_engine(database_url)
    try:
        uow = SqlUnitOfWork(session_factory(engine))
        [key] = tenants.list_api_keys(uow, account.tenant_id)
        tenants.revoke_api_key(uow, account.tenant_id, key.id, actor="test")
    finally:
        engine.dispose()
    assert web.get("/claims/queue", follow_redirects=False).status_code == 303


def test_a_handler_takes_a_claim_from_declaration_to_closing_on_the_web(
    web: TestClient, account: Account
) -> None:
    csrf = _login(web, account)
    number, _ = _declare(web, csrf, _policy(web, account))
    queue = web.get("/claims/queue").text
    assert f'href="/claims/{number}"' in queue
    photo = jpeg_bytes(datetime(2026, 3, 2, 10, 5, 0), offset="+01:00")
    files = {"file": ("IMG_0001.jpg", photo, "image/jpeg")}
    page = web.post(f"/claims/{number}/evidence", data={"csrf": csrf}, files=files).text
    assert "IMG_0001.jpg" in page
    assert "2026-03-02 10:05" in page  # EXIF capture time, Paris time
    sha = re.search(r'class="hash" title="([0-9a-f]{64})"', page)
    assert sha is not None
    _post(web, f"/claims/{number}/status", csrf=csrf, status="under_assessment", reason="")
    page = _post(web, f"/claims/{number}/reserve", csrf=csrf, amount="1 100,00", reason="expert")
    assert 'id="reserve-amount">1 100,00 €' in page
    page = _post(
        web,
        f"/claims/{number}/offer",
        csrf=csrf,
        loss_amount="1200",
        actual_value="1500",
        depreciation_rate="0,20",
    )
    assert 'id="indemnity">810,00 €' in page
    assert 'data-reason="depreciation"' in page
    assert 'data-reason="deductible"' in page
    assert "Le calcul, étape par étape" in page
    page = _post(web, f"/claims/{number}/answer", csrf=csrf, answer="accept")
    assert 'data-status="accepted"' in page
    page = _post(web, f"/claims/{number}/payment", csrf=csrf, amount="810", reference="VIR-1")
    assert 'data-status="paid"' in page
    page = _post(web, f"/claims/{number}/status", csrf=csrf, status="closed", reason="done")
    assert 'data-status="closed"' in page
    assert 'id="reserve-amount">0,00 €' in page
    for action in ("claim.declared", "claim.offer_made", "claim.payment_recorded"):
        assert f'data-action="{action}"' in page
    evidence_id = re.search(r'data-evidence="(EVD-\d{4}-\d{6})"', page)
    assert evidence_id is not None
    download = web.get(f"/claims/{number}/evidence/{evidence_id.group(1)}")
    assert download.content == photo


def test_an_illegal_action_shows_the_error_with_409(web: TestClient, account: Account) -> None:
    csrf = _login(web, account)
    number, _ = _declare(web, csrf, _policy(web, account))
    page = web.post(f"/claims/{number}/status", data={"csrf": csrf, "status": "closed"})
    assert page.status_code == 409
    assert "state.illegal_transition" in page.text
    assert 'data-status="declared"' in page.text
    refused = web.post(
        f"/claims/{number}/evidence",
        data={"csrf": csrf},
        files={"file": ("a.txt", b"plain text", "text/plain")},
    )
    assert refused.status_code == 415
    assert "evidence.unsupported_type" in refused.text


def test_a_form_without_the_session_csrf_token_is_refused(
    web: TestClient, account: Account
) -> None:
    csrf = _login(web, account)
    number, _ = _declare(web, csrf, _policy(web, account))
    page = web.post(f"/claims/{number}/status", data={"csrf": "0" * 32, "status": "withdrawn"})
    assert page.status_code == 403
    assert 'data-status="declared"' in page.text


def test_a_late_declaration_is_flagged_on_the_form_result_and_in_the_queue(
    web: TestClient, account: Account
) -> None:
    csrf = _login(web, account)
    policy = _policy(web, account)
    late, _ = _declare(web, csrf, policy, loss_at="2026-03-02T10:00")
    page = web.get("/claims/queue").text
    assert re.search(rf'class="late" data-claim="{late}"', page)
    withdrawn = web.get("/claims/queue?status=withdrawn&open=off").text
    assert late not in withdrawn


def test_the_declaration_form_names_the_bad_field(web: TestClient, account: Account) -> None:
    csrf = _login(web, account)
    form = {"csrf": csrf, "policy_id": _policy(web, account), "cover_id": "fire"}
    form |= {"peril": "theft", "loss_at": "2026-03-02T10:00", "estimated_amount": "10"}
    form |= {"description": "x"}
    page = web.post("/claims/new", data=form)
    assert page.status_code == 422
    assert "<code>cover_id</code>" in page.text


def test_the_insured_reads_the_offer_in_plain_words_and_accepts_it(
    web: TestClient, account: Account
) -> None:
    csrf = _login(web, account)
    number, link = _declare(web, csrf, _policy(web, account))
    _post(web, f"/claims/{number}/status", csrf=csrf, status="under_assessment")
    _post(web, f"/claims/{number}/offer", csrf=csrf, depreciation_rate="0.2")
    web.cookies.clear()
    path = link.removeprefix("http://testserver")
    first = web.get(path, follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == f"/my/claims/{number}"  # the token leaves the address
    assert first.headers["referrer-policy"] == "no-referrer"
    page = web.get(f"/my/claims/{number}")
    assert "nous vous proposons 810,00 €" in page.text
    assert "La franchise prévue par votre contrat reste à votre charge : 150,00 €" in page.text
    assert "provision" not in page.text.lower()
    english = web.get(f"/lang/en?next=/my/claims/{number}")
    assert "we offer you 810.00 €" in english.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    accepted = web.post(
        f"/my/claims/{number}/answer", data={"token": token.group(1), "answer": "accept"}
    )
    assert 'data-status="accepted"' in accepted.text
    web.cookies.clear()
    assert web.get(f"/my/claims/{number}?token=guess").status_code == 404
    assert web.get(f"/my/claims/{number}").status_code == 404


# --- tenant isolation on every page -------------------------------------------------------------


@pytest.fixture
def victim(web: TestClient, account: Account) -> dict[str, str]:
    """Tenant A's claim with a document and an offer; the client is left signed out."""
    csrf = _login(web, account)
    number, _ = _declare(web, csrf, _policy(web, account))
    files = {"file": ("invoice.pdf", pdf_bytes(), "application/pdf")}
    page = web.post(f"/claims/{number}/evidence", data={"csrf": csrf}, files=files).text
    evidence = re.search(r'data-evidence="(EVD-\d{4}-\d{6})"', page)
    assert evidence is not None
    _post(web, f"/claims/{number}/status", csrf=csrf, status="under_assessment")
    _post(web, f"/claims/{number}/offer", csrf=csrf, depreciation_rate="0.2")
    web.cookies.clear()
    return {"claim": number, "evidence": evidence.group(1)}


PAGES = [
    ("GET", "/claims/{claim}", {}),
    ("GET", "/claims/{claim}/evidence/{evidence}", {}),
    ("POST", "/claims/{claim}/status", {"status": "withdrawn"}),
    ("POST", "/claims/{claim}/reserve", {"amount": "1", "reason": "probe"}),
    ("POST", "/claims/{claim}/offer", {"depreciation_rate": "0.1"}),
    ("POST", "/claims/{claim}/answer", {"answer": "accept"}),
    ("POST", "/claims/{claim}/payment", {"amount": "1", "reference": "probe"}),
    ("POST", "/claims/{claim}/recovery", {"amount": "1", "reference": "probe"}),
]


@pytest.mark.parametrize(("method", "route", "form"), PAGES, ids=[f"{m} {r}" for m, r, _ in PAGES])
def test_another_tenant_gets_the_404_page_on_every_claim_page(
    web: TestClient,
    account: Account,
    other_account: Account,
    victim: dict[str, str],
    method: str,
    route: str,
    form: dict[str, str],
) -> None:
    csrf = _login(web, other_account)
    url = route.format(**victim)
    response = web.request(method, url, data=(form | {"csrf": csrf}) if method == "POST" else None)
    assert response.status_code == 404, response.text
    assert "claim.not_found" in response.text
    assert victim["claim"] not in web.get("/claims/queue").text
    _login(web, account)
    owner = web.get(f"/claims/{victim['claim']}").text
    assert 'data-status="offer_made"' in owner
    assert 'id="offer-status">en attente de réponse' in owner


def test_another_tenant_cannot_add_evidence_on_the_web(
    web: TestClient, other_account: Account, victim: dict[str, str]
) -> None:
    csrf = _login(web, other_account)
    files = {"file": ("x.pdf", pdf_bytes(), "application/pdf")}
    url = f"/claims/{victim['claim']}/evidence"
    assert web.post(url, data={"csrf": csrf}, files=files).status_code == 404
