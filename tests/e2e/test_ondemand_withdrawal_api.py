"""Withdrawal over HTTP and from the shell: ``GET|POST /v1/subscriptions/{id}/withdrawal``
(Idempotency-Key: a retry replays the answer and refunds once), refusals as 409 with their code
and field, another tenant's subscription answering 404; ``polis withdraw``; and a claim offer on
an on-demand top-up under its cumul clause through the claims API."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.accounts import Account
from tests.e2e.test_ondemand_api import Clock, _activate, _error, _ok, _post, api, clock
from tests.e2e.test_ondemand_cli import Polis
from tests.ondemand_fixtures import PERSON, utc

pytestmark = pytest.mark.db

__all__ = ["api", "clock"]  # fixtures used here

NOW = utc(2026, 6, 10, 8)


def _person_subscription(
    api: TestClient, account: Account, product: str = "equipment-micro"
) -> str:
    customer = _ok(_post(api, account, "/v1/customers", PERSON), 201)
    _ok(api.post(f"/v1/customers/{customer['id']}/verify", headers=account.headers))
    body: dict[str, Any] = {
        "customer_id": customer["id"],
        "product": product,
        "unit": "hour",
        "items": [{"ref": "camera-1", "description": "Canon EOS R6 kit"}],
        "risk": {"equipment": "camera"},
    }
    if product == "equipment-topup":
        body |= {"unit": "day", "risk": {"equipment": "sound"}}
    return str(_ok(_post(api, account, "/v1/subscriptions", body), 201)["id"])


def test_the_subscription_and_its_withdrawal_route_show_the_deadline(
    api: TestClient, account: Account
) -> None:
    sub = _person_subscription(api, account)
    shown = _ok(api.get(f"/v1/subscriptions/{sub}", headers=account.headers))
    assert shown["withdrawal"]["last_day"] == "2026-06-24"
    assert shown["withdrawal"]["deadline"] == "2026-06-24T22:00:00Z"
    assert shown["withdrawal"]["article"] == "L112-2-1"
    terms = _ok(api.get(f"/v1/subscriptions/{sub}/withdrawal", headers=account.headers))
    assert terms == shown["withdrawal"]


def test_a_withdrawal_retried_with_its_key_is_replayed_and_refunds_once(
    api: TestClient, account: Account, clock: Clock
) -> None:
    sub = _person_subscription(api, account)
    scheduled = _activate(api, account, sub, {"start": "2026-06-12T09:00", "duration": "PT2H"})
    clock.now = NOW + timedelta(days=1)
    headers = {**account.headers, "Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/subscriptions/{sub}/withdrawal"
    first = api.post(path, json={"reason": "no longer needed"}, headers=headers)
    again = api.post(path, json={"reason": "no longer needed"}, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert first.headers["Idempotent-Replayed"] == "false"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    body = first.json()
    assert body["windows"][0]["window_id"] == scheduled["window"]["id"]
    assert body["windows"][0]["fate"] == "cancel"
    assert body["refund_total"] == "-" + scheduled["price"]["total"]
    ledger = _ok(api.get(f"/v1/customers/{body['customer_id']}/ledger", headers=account.headers))
    assert sum(1 for e in ledger if e["kind"] == "refund") == 1
    other_key = _post(api, account, path, {})
    assert _error(other_key, 409)["code"] == "withdrawal.already_withdrawn"
    activate = _post(api, account, f"/v1/subscriptions/{sub}/windows", {"duration": "PT1H"})
    assert _error(activate, 409)["code"] == "subscription.withdrawn"


def test_refusals_are_409_with_their_code_and_field(
    api: TestClient, account: Account, clock: Clock
) -> None:
    sub = _person_subscription(api, account)
    clock.now = utc(2026, 6, 24, 22)
    late = _error(_post(api, account, f"/v1/subscriptions/{sub}/withdrawal"), 409)
    assert (late["code"], late["field"]) == ("withdrawal.out_of_time", "at")
    assert "2026-06-25T00:00" in late["message"]
    missing = api.post(f"/v1/subscriptions/{sub}/withdrawal", headers=account.headers)
    assert _error(missing, 422)["code"] == "idempotency.key_required"
    bad = _error(_post(api, account, f"/v1/subscriptions/{sub}/withdrawal", {"why": 1}), 422)
    assert bad["field"] == "why"


def test_another_tenants_subscription_is_not_found(
    api: TestClient, account: Account, other_account: Account
) -> None:
    sub = _person_subscription(api, account)
    for response in (
        api.get(f"/v1/subscriptions/{sub}/withdrawal", headers=other_account.headers),
        _post(api, other_account, f"/v1/subscriptions/{sub}/withdrawal"),
    ):
        assert _error(response, 404)["code"] == "subscription.not_found"
    assert (
        _ok(api.get(f"/v1/subscriptions/{sub}", headers=account.headers))["withdrawal"][
            "withdrawn_at"
        ]
        is None
    )


def test_an_offer_on_a_top_up_follows_the_cumul_clause(
    api: TestClient, account: Account, clock: Clock
) -> None:
    sub = _person_subscription(api, account, "equipment-topup")
    window = _activate(api, account, sub, {"duration": "P1D"})["window"]
    claim = _ok(
        _post(
            api,
            account,
            "/v1/claims",
            {
                "policy_id": window["policy_id"],
                "cover_id": "equipment",
                "peril": "theft",
                "loss_at": "2026-06-10T15:00:00+02:00",
                "description": "the sound system was stolen",
                "estimated_amount": "5000",
            },
        ),
        201,
    )
    claim_id = claim["claim"]["id"]
    base = {"name": "annual home contract", "alone": "1500"}
    preview = _ok(
        api.post(
            f"/v1/claims/{claim_id}/offer?dry_run=true",
            json={"other_insurance": base},
            headers=account.headers,
        )
    )
    assert preview["settlement"]["indemnity"] == "3000.00"
    assert preview["settlement"]["cumul"]["clause"] == "excess"
    assert preview["settlement"]["cumul"]["retained"] == "500.00"
    assert preview["request"]["cumul_clause"] == "excess"


def test_withdraw_from_the_shell(polis: Polis, account: Account, api: TestClient) -> None:
    sub = _person_subscription(api, account)
    t = ("--tenant", account.tenant_id)
    shown = polis.run("withdraw", *t, sub, "--show")
    assert shown["article"] == "L112-2-1"
    late = polis.run("withdraw", *t, sub, "--at", "2026-07-01T10:00:00+02:00", code=1)
    assert "withdrawal.out_of_time" in late
    done = polis.run("withdraw", *t, sub, "--at", "2026-06-11T10:00:00+02:00", "--reason", "x")
    assert done["subscription_id"] == sub
    assert done["refund_due_by"] == "2026-07-11"
    again = polis.run("withdraw", *t, sub, "--at", "2026-06-11T11:00:00+02:00", code=1)
    assert "withdrawal.already_withdrawn" in again
    bad = polis.run("withdraw", *t, sub, "--at", "tomorrow", code=2)
    assert "--at" in bad


@pytest.fixture
def polis(database_url: str, tmp_path: Path) -> Polis:
    return Polis(database_url, tmp_path)
