"""Claims through the HTTP API: the whole lifecycle, file limits, tampering, illegal transitions,
the insured's token, and tenant isolation on every claim route."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.claim_fixtures import (
    claim_payload,
    claims_client,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    policy_payload,
)
from tests.e2e.accounts import Account

pytestmark = pytest.mark.db

FACTS = {"valuation": {"depreciation_rate": "0.20"}, "actual_value": "1500"}


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with claims_client(database_url, tmp_path / "evidence", evidence_max_bytes=4096) as client:
        yield client


def _ok(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _declared(api: TestClient, account: Account, **overrides: Any) -> dict[str, Any]:
    policy = _ok(api.post("/v1/policies", json=policy_payload(), headers=account.headers), 201)
    body = claim_payload(policy["id"], **overrides)
    return dict(_ok(api.post("/v1/claims", json=body, headers=account.headers), 201))


def _photo(api: TestClient, account: Account, claim: str) -> dict[str, Any]:
    data = jpeg_bytes(datetime(2026, 3, 2, 10, 5, 0), offset="+01:00")
    files = {"file": ("IMG_0001.jpg", data, "image/jpeg")}
    response = api.post(f"/v1/claims/{claim}/evidence", files=files, headers=account.headers)
    return dict(_ok(response, 201))


def test_a_claim_goes_from_declaration_to_closing_through_the_api(
    api: TestClient, account: Account
) -> None:
    h = account.headers
    declared = _declared(api, account, loss_at=datetime.now(UTC).isoformat())
    claim = declared["claim"]["id"]
    assert declared["claim"]["late"] is False
    photo = _photo(api, account, claim)
    assert photo["captured_at"] == "2026-03-02T09:05:00Z"
    evidence = api.get(f"/v1/claims/{claim}/evidence/{photo['id']}", headers=h)
    assert evidence.status_code == 200
    assert evidence.headers["content-type"] == "image/jpeg"
    assert evidence.headers["x-content-sha256"] == photo["sha256"]
    _ok(api.post(f"/v1/claims/{claim}/status", json={"status": "under_assessment"}, headers=h))
    reserve = {"amount": "1100", "reason": "expert estimate"}
    assert _ok(api.post(f"/v1/claims/{claim}/reserve", json=reserve, headers=h))["reserve"] == (
        "1100.00"
    )
    preview = _ok(api.post(f"/v1/claims/{claim}/offer?dry_run=true", json=FACTS, headers=h))
    assert preview["settlement"]["indemnity"] == "810.00"
    offer = _ok(api.post(f"/v1/claims/{claim}/offer", json=FACTS, headers=h), 201)
    assert offer["indemnity"] == "810.00"
    assert {r["reason"] for r in offer["retained"]} == {"depreciation", "deductible"}
    assert _ok(api.get(f"/v1/claims/{claim}/offer", headers=h))["id"] == offer["id"]
    assert _ok(api.post(f"/v1/claims/{claim}/offer/accept", headers=h))["status"] == "accepted"
    payment = {"amount": "810.00", "reference": "VIR-2026-0001"}
    assert (
        _ok(api.post(f"/v1/claims/{claim}/payments", json=payment, headers=h), 201)["status"]
        == "paid"
    )
    closed = _ok(api.post(f"/v1/claims/{claim}/status", json={"status": "closed"}, headers=h))
    assert (closed["status"], closed["reserve"]) == ("closed", "0.00")
    recovery = {"amount": "100", "reference": "REC-1", "source": "the shop's insurer"}
    _ok(api.post(f"/v1/claims/{claim}/recoveries", json=recovery, headers=h), 201)
    ledger = _ok(api.get(f"/v1/claims/{claim}/ledger", headers=h))
    assert [e["kind"] for e in ledger] == [
        "reserve_change",
        "reserve_change",
        "payment",
        "reserve_change",
        "recovery",
    ]
    actions = [e["action"] for e in _ok(api.get(f"/v1/claims/{claim}/history", headers=h))]
    assert actions == [
        "claim.declared",
        "claim.evidence_added",
        "claim.status_changed",
        "claim.reserve_set",
        "claim.offer_made",
        "claim.status_changed",
        "claim.reserve_set",
        "claim.offer_accepted",
        "claim.status_changed",
        "claim.payment_recorded",
        "claim.status_changed",
        "claim.reserve_set",
        "claim.status_changed",
        "claim.recovery_recorded",
    ]
    file = _ok(api.get(f"/v1/claims/{claim}/file", headers=h))
    assert file["totals"] == {
        "reserve": "0.00",
        "paid": "810.00",
        "recovered": "100.00",
        "incurred": "710.00",
    }
    assert _ok(api.get("/v1/audit/verify", headers=h))["ok"] is True


def test_an_illegal_transition_answers_409_naming_both_statuses(
    api: TestClient, account: Account
) -> None:
    claim = _declared(api, account)["claim"]["id"]
    response = api.post(
        f"/v1/claims/{claim}/status", json={"status": "paid"}, headers=account.headers
    )
    body = _ok(response, 409)
    assert body["error"]["code"] == "state.illegal_transition"
    assert "'declared'" in body["error"]["message"]
    assert "'paid'" in body["error"]["message"]
    accept = api.post(f"/v1/claims/{claim}/offer/accept", headers=account.headers)
    assert _ok(accept, 409)["error"]["code"] == "state.illegal_transition"


def test_a_late_declaration_is_accepted_and_flagged(api: TestClient, account: Account) -> None:
    claim = _declared(api, account, loss_at="2026-03-02T10:00:00+01:00")["claim"]
    assert claim["status"] == "declared"
    assert claim["late"] is True
    assert claim["days_late"] > 0


def test_too_large_and_unsupported_files_get_413_and_415_with_the_error_shape(
    api: TestClient, account: Account
) -> None:
    claim = _declared(api, account)["claim"]["id"]
    url = f"/v1/claims/{claim}/evidence"
    big = {"file": ("big.png", png_bytes() + b"\0" * 5000, "image/png")}
    too_large = _ok(api.post(url, files=big, headers=account.headers), 413)
    assert too_large["error"] == {
        "code": "evidence.too_large",
        "message": "the file is larger than 4096 bytes",
        "field": "file",
    }
    assert too_large["request_id"]
    script = {"file": ("invoice.pdf", b"#!/bin/sh\nrm -rf /\n", "application/pdf")}
    refused = _ok(api.post(url, files=script, headers=account.headers), 415)
    assert refused["error"]["code"] == "evidence.unsupported_type"
    assert _ok(api.get(url, headers=account.headers)) == []


def test_a_file_altered_on_disk_is_refused_with_409(
    api: TestClient, account: Account, tmp_path: Path
) -> None:
    claim = _declared(api, account)["claim"]["id"]
    files = {"file": ("invoice.pdf", pdf_bytes(), "application/pdf")}
    doc = _ok(api.post(f"/v1/claims/{claim}/evidence", files=files, headers=account.headers), 201)
    path = tmp_path / "evidence" / account.tenant_id / claim / doc["sha256"]
    path.write_bytes(pdf_bytes().replace(b"Catalog", b"Katalog"))
    response = api.get(f"/v1/claims/{claim}/evidence/{doc['id']}", headers=account.headers)
    assert _ok(response, 409)["error"]["code"] == "evidence.tampered"
    assert b"Katalog" not in response.content


def test_the_insured_follows_and_answers_with_the_token_only(
    api: TestClient, account: Account
) -> None:
    declared = _declared(api, account)
    claim, token = declared["claim"]["id"], declared["insured_token"]
    h = account.headers
    _ok(api.post(f"/v1/claims/{claim}/status", json={"status": "under_assessment"}, headers=h))
    _ok(api.post(f"/v1/claims/{claim}/offer", json=FACTS, headers=h), 201)
    url = f"/v1/insured/claims/{claim}"
    assert api.get(url, headers={"X-Claim-Token": "guess"}).status_code == 404
    assert api.get(url, headers=h).status_code == 422  # a key is not a token
    view = _ok(api.get(url, headers={"X-Claim-Token": token}))
    assert (view["status"], view["can_answer"]) == ("offer_made", True)
    assert "reserve" not in view
    contest = {"reason": "the camera was new"}
    answered = api.post(f"{url}/offer/contest", json=contest, headers={"X-Claim-Token": token})
    assert _ok(answered)["status"] == "contested"


def test_claim_routes_need_an_api_key(api: TestClient) -> None:
    assert api.get("/v1/claims").status_code == 401
    assert api.post("/v1/claims", json={}).status_code == 401


# --- tenant isolation on every claim route ------------------------------------------------------

ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/claims/{claim}", None),
    ("GET", "/v1/claims/{claim}/file", None),
    ("GET", "/v1/claims/{claim}/history", None),
    ("POST", "/v1/claims/{claim}/status", {"status": "under_assessment"}),
    ("POST", "/v1/claims/{claim}/reserve", {"amount": "1", "reason": "probe"}),
    ("GET", "/v1/claims/{claim}/evidence", None),
    ("GET", "/v1/claims/{claim}/evidence/{evidence}", None),
    ("POST", "/v1/claims/{claim}/offer", FACTS),
    ("POST", "/v1/claims/{claim}/offer?dry_run=true", FACTS),
    ("GET", "/v1/claims/{claim}/offer", None),
    ("GET", "/v1/claims/{claim}/offers", None),
    ("POST", "/v1/claims/{claim}/offer/accept", None),
    ("POST", "/v1/claims/{claim}/offer/contest", {"reason": "probe"}),
    ("POST", "/v1/claims/{claim}/payments", {"amount": "1", "reference": "probe"}),
    ("POST", "/v1/claims/{claim}/recoveries", {"amount": "1", "reference": "probe"}),
    ("GET", "/v1/claims/{claim}/ledger", None),
    ("GET", "/v1/policies/{policy}", None),
]


@pytest.fixture
def victim(api: TestClient, account: Account) -> dict[str, str]:
    """A claim of tenant A with evidence and an offer on file."""
    declared = _declared(api, account)
    claim = declared["claim"]["id"]
    evidence = _photo(api, account, claim)["id"]
    h = account.headers
    _ok(api.post(f"/v1/claims/{claim}/status", json={"status": "under_assessment"}, headers=h))
    _ok(api.post(f"/v1/claims/{claim}/offer", json=FACTS, headers=h), 201)
    return {"claim": claim, "evidence": evidence, "policy": declared["claim"]["policy_id"]}


@pytest.mark.parametrize(
    ("method", "route", "body"), ROUTES, ids=[f"{m} {r}" for m, r, _ in ROUTES]
)
def test_another_tenant_gets_404_on_every_claim_route(
    api: TestClient,
    account: Account,
    other_account: Account,
    victim: dict[str, str],
    method: str,
    route: str,
    body: dict[str, Any] | None,
) -> None:
    url = route.format(**victim)
    response = api.request(method, url, json=body, headers=other_account.headers)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] in {
        "claim.not_found",
        "policy.not_found",
        "evidence.not_found",
    }
    owner = _ok(api.get(f"/v1/claims/{victim['claim']}/file", headers=account.headers))
    assert owner["claim"]["status"] == "offer_made"
    assert owner["claim"]["reserve"] == "810.00"
    assert [o["status"] for o in owner["offers"]] == ["pending"]


def test_another_tenant_cannot_upload_evidence_or_see_the_queue(
    api: TestClient, account: Account, other_account: Account, victim: dict[str, str]
) -> None:
    files = {"file": ("x.png", png_bytes(), "image/png")}
    url = f"/v1/claims/{victim['claim']}/evidence"
    assert api.post(url, files=files, headers=other_account.headers).status_code == 404
    assert _ok(api.get("/v1/claims", headers=other_account.headers)) == []
    declare = claim_payload(victim["policy"])
    assert api.post("/v1/claims", json=declare, headers=other_account.headers).status_code == 404
