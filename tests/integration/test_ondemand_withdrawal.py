"""Withdrawal from an on-demand subscription, persisted (SQLite and PostgreSQL): windows not
started cancelled and refunded, the running one stopped with the cover given kept, ended ones
kept, certificates revoked, the audit entry and the ``subscription.withdrawn`` event in the same
transaction; the refusals (out of time, business, twice, doorstep with a claim) change nothing;
a withdrawn subscription opens no window. Then a claim on an on-demand top-up that meets an annual
base contract, settled under the product's cumul clause."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.integration.test_ondemand_windows import signer_issuer, tenant
from tests.ondemand_fixtures import (
    ACTOR,
    PERSON,
    new_tenant,
    subscribe,
    utc,
    verified_customer,
)

from polis.kernel.errors import InvalidInput, NotFound
from polis.ondemand.withdrawal import WithdrawalRefused
from polis.services import (
    audit,
    claim_settlement,
    claims,
    ondemand_certificates,
    ondemand_subscriptions,
    ondemand_windows,
    ondemand_withdrawal,
)
from polis.services.ondemand_certificates import CertificateIssuer
from polis.store import SqlUnitOfWork
from polis.store.tables_ondemand import OnDemandLedgerRow
from polis.store.tables_platform import OutboxRow

pytestmark = pytest.mark.db

NOW = utc(2026, 6, 10, 8)  # Wednesday 10 June 2026, 10:00 in Paris
D = Decimal


__all__ = ["signer_issuer", "tenant"]  # fixtures shared with the windows tests


def _person_subscription(
    uow: SqlUnitOfWork, tenant: str, **overrides: Any
) -> ondemand_subscriptions.SubscriptionView:
    customer = verified_customer(uow, tenant, NOW, PERSON)
    return subscribe(uow, tenant, customer, NOW, **overrides)


@pytest.fixture
def sub(uow: SqlUnitOfWork, tenant: str) -> str:
    return _person_subscription(uow, tenant).id


def _activate(
    uow: SqlUnitOfWork, tenant: str, sub: str, issuer_: CertificateIssuer, now: Any, **body: Any
) -> ondemand_windows.ActivationView:
    return ondemand_windows.activate_window(uow, tenant, sub, body, ACTOR, issuer=issuer_, now=now)


def _declare(
    uow: SqlUnitOfWork, tenant: str, policy: str, hours: int, amount: str, what: str
) -> str:
    """A theft on ``policy`` ``hours`` after NOW, declared 8 hours after NOW; the claim id."""
    declared = claims.declare_claim(
        uow,
        tenant,
        {
            "policy_id": policy,
            "cover_id": "equipment",
            "peril": "theft",
            "loss_at": (NOW + timedelta(hours=hours)).isoformat(),
            "description": what,
            "estimated_amount": amount,
        },
        ACTOR,
        declared_at=NOW + timedelta(hours=8),
    )
    return declared.claim.id


def _events(uow: SqlUnitOfWork, tenant: str, kind: str) -> list[dict[str, Any]]:
    with uow:
        rows = uow.session.scalars(
            select(OutboxRow).where(OutboxRow.tenant_id == tenant, OutboxRow.event_type == kind)
        )
        return [json.loads(r.payload) for r in rows]


def _ledger_count(uow: SqlUnitOfWork, tenant: str) -> int:
    with uow:
        query = select(func.count()).where(OnDemandLedgerRow.tenant_id == tenant)
        return int(uow.session.scalar(query) or 0)


def test_the_subscription_shows_its_withdrawal_deadline(
    uow: SqlUnitOfWork, tenant: str, sub: str
) -> None:
    view = ondemand_subscriptions.get_subscription(uow, tenant, sub)
    assert view.withdrawal is not None
    assert view.withdrawal.article == "L112-2-1"
    assert view.withdrawal.available is True
    assert view.withdrawal.last_day == date(2026, 6, 24)
    assert view.withdrawal.deadline == utc(2026, 6, 24, 22)
    assert view.withdrawal.withdrawn_at is None


def test_a_withdrawal_cancels_future_windows_stops_the_running_one_and_keeps_ended_ones(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    ended = _activate(uow, tenant, sub, signer_issuer, NOW, duration="PT1H")
    later = NOW + timedelta(days=1)  # another local day: no daily cap shared with the first
    running = _activate(uow, tenant, sub, signer_issuer, later, duration="PT6H")
    scheduled = _activate(
        uow, tenant, sub, signer_issuer, later, start="2026-06-12T09:00", duration="PT3H"
    )
    at = later + timedelta(hours=1, minutes=30)  # 1 h 30 into the running window

    done = ondemand_withdrawal.withdraw_subscription(
        uow, tenant, sub, {"reason": "changed my mind"}, "insured", now=at
    )

    fates = {w.window_id: w for w in done.windows}
    assert fates[ended.window.id].fate == "performed"
    assert fates[ended.window.id].refund == "0.00"
    assert fates[scheduled.window.id].fate == "cancel"
    assert D(fates[scheduled.window.id].refund) == -D(scheduled.price.total)
    assert fates[running.window.id].fate == "stop"
    kept_back = -D(fates[running.window.id].refund)  # 2 started hours kept of 6 (minimum), no fee
    assert D(0) < kept_back < D(running.price.total)
    assert fates[scheduled.window.id].revoked_certificates == [scheduled.certificate]
    assert fates[running.window.id].revoked_certificates == [running.certificate]
    assert D(done.refund_total) == sum(D(w.refund) for w in done.windows)
    assert done.refund_due_by == date(2026, 7, 11)
    assert done.article == "L112-2-1"

    windows = {w.id: w for w in ondemand_windows.list_windows(uow, tenant, sub, now=at)}
    assert windows[scheduled.window.id].state == "cancelled"
    assert windows[running.window.id].state == "stopped"
    assert windows[running.window.id].end == at
    assert windows[ended.window.id].state == "booked"
    signer = signer_issuer.signer
    check = ondemand_certificates.verify_number
    assert check(uow, signer, scheduled.certificate, now=at).status == "revoked"
    assert check(uow, signer, ended.certificate, now=at).status == "expired"

    event = _events(uow, tenant, "subscription.withdrawn")
    assert len(event) == 1
    assert event[0]["subscription_id"] == sub
    assert event[0]["reason"] == "changed my mind"
    entries = audit.list_entries(uow, tenant, limit=1000)
    withdrawn = [e for e in entries if e.action == "subscription.withdrawn"]
    assert len(withdrawn) == 1
    assert (withdrawn[0].entity_id, withdrawn[0].actor) == (sub, "insured")
    assert audit.verify_chain(uow, tenant).ok

    view = ondemand_subscriptions.get_subscription(uow, tenant, sub)
    assert view.withdrawal is not None
    assert view.withdrawal.withdrawn_at == at


def test_a_withdrawn_subscription_opens_no_window_and_cannot_be_withdrawn_again(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    ondemand_withdrawal.withdraw_subscription(uow, tenant, sub, None, ACTOR, now=NOW)
    with pytest.raises(WithdrawalRefused) as error:
        _activate(uow, tenant, sub, signer_issuer, NOW + timedelta(hours=1), duration="PT1H")
    assert (error.value.code, error.value.field) == ("subscription.withdrawn", "subscription_id")
    with pytest.raises(WithdrawalRefused) as again:
        ondemand_withdrawal.withdraw_subscription(uow, tenant, sub, {}, ACTOR, now=NOW)
    assert again.value.code == "withdrawal.already_withdrawn"
    assert len(_events(uow, tenant, "subscription.withdrawn")) == 1


def test_a_withdrawal_out_of_time_is_refused_and_changes_nothing(
    uow: SqlUnitOfWork, tenant: str, sub: str, signer_issuer: CertificateIssuer
) -> None:
    _activate(uow, tenant, sub, signer_issuer, NOW, start="2026-06-30T09:00", duration="PT2H")
    before = _ledger_count(uow, tenant)
    with pytest.raises(WithdrawalRefused) as error:
        ondemand_withdrawal.withdraw_subscription(
            uow, tenant, sub, {}, ACTOR, now=utc(2026, 6, 24, 22)
        )
    assert (error.value.code, error.value.field) == ("withdrawal.out_of_time", "at")
    assert _ledger_count(uow, tenant) == before
    assert _events(uow, tenant, "subscription.withdrawn") == []
    last_moment = utc(2026, 6, 24, 21, 59)
    done = ondemand_withdrawal.withdraw_subscription(uow, tenant, sub, {}, ACTOR, now=last_moment)
    assert [w.fate for w in done.windows] == ["cancel"]


def test_a_business_customer_has_no_right_of_withdrawal(uow: SqlUnitOfWork, tenant: str) -> None:
    customer = verified_customer(uow, tenant, NOW)  # a SARL
    sub = subscribe(uow, tenant, customer, NOW).id
    view = ondemand_subscriptions.get_subscription(uow, tenant, sub)
    assert view.withdrawal is not None
    assert (view.withdrawal.available, view.withdrawal.reason) == (
        False,
        "withdrawal.not_consumer",
    )
    with pytest.raises(WithdrawalRefused) as error:
        ondemand_withdrawal.withdraw_subscription(uow, tenant, sub, {}, ACTOR, now=NOW)
    assert (error.value.code, error.value.field) == ("withdrawal.not_consumer", "customer")


def test_doorstep_selling_runs_from_the_conclusion_and_ends_with_a_known_claim(
    uow: SqlUnitOfWork, tenant: str, signer_issuer: CertificateIssuer
) -> None:
    sub = _person_subscription(
        uow,
        tenant,
        sale_channel="doorstep",
        terms_received_at="2026-06-12T10:00:00+02:00",
    )
    assert sub.withdrawal is not None
    assert (sub.withdrawal.article, sub.withdrawal.last_day) == ("L112-9", date(2026, 6, 24))
    done = _activate(uow, tenant, sub.id, signer_issuer, NOW, duration="PT2H")
    _declare(uow, tenant, done.window.policy_id, 1, "400", "stolen")
    with pytest.raises(WithdrawalRefused) as error:
        ondemand_withdrawal.withdraw_subscription(
            uow, tenant, sub.id, {}, ACTOR, now=NOW + timedelta(days=1)
        )
    assert (error.value.code, error.value.field) == ("withdrawal.claim_known", "claims")


def test_distance_selling_runs_from_the_later_receipt_of_the_terms(
    uow: SqlUnitOfWork, tenant: str
) -> None:
    sub = _person_subscription(uow, tenant, terms_received_at="2026-06-12T10:00:00+02:00")
    assert sub.withdrawal is not None
    assert sub.withdrawal.last_day == date(2026, 6, 26)
    done = ondemand_withdrawal.withdraw_subscription(
        uow, tenant, sub.id, {}, ACTOR, now=utc(2026, 6, 25, 12)
    )
    assert done.windows == []
    assert done.refund_total == "0.00"
    with pytest.raises(InvalidInput) as error:
        _person_subscription(uow, tenant, terms_received_at="2026-07-11T10:00:00+02:00")
    assert error.value.field == "terms_received_at"


def test_another_tenant_cannot_withdraw_the_subscription(uow: SqlUnitOfWork, sub: str) -> None:
    other = new_tenant(uow)
    with pytest.raises(NotFound) as error:
        ondemand_withdrawal.withdraw_subscription(uow, other, sub, {}, ACTOR, now=NOW)
    assert error.value.code == "subscription.not_found"


# --- the cumul clause on a claim ---------------------------------------------------------------


def test_a_claim_on_a_top_up_is_settled_in_excess_of_the_annual_base_contract(
    uow: SqlUnitOfWork, tenant: str, signer_issuer: CertificateIssuer
) -> None:
    sub = _person_subscription(
        uow,
        tenant,
        product="equipment-topup",
        unit="day",
        risk={"equipment": "sound"},
    )
    done = _activate(uow, tenant, sub.id, signer_issuer, NOW, duration="P1D")
    policy = done.window.policy_id
    with uow:
        terms = json.loads(uow.policies.get(tenant, policy).terms)  # type: ignore[union-attr]
    assert terms["covers"]["equipment"]["cumul_clause"] == "excess"
    declared = _declare(uow, tenant, policy, 5, "5000", "the sound system was stolen")
    base = {
        "name": "annual home contract",
        "settlement": {"deductible": {"amount": "150"}, "limit": "1500"},
    }
    claims.change_status(uow, tenant, declared, "under_assessment", ACTOR)
    offer = claim_settlement.make_offer(uow, tenant, declared, {"other_insurance": base}, ACTOR)
    # top-up alone: 5000 − 100 = 4900, limit 3000 → 3000; base alone: 1500; excess: 3000
    assert offer.indemnity == D("3000.00")
    assert offer.loss_amount == D("5000.00")
    assert offer.indemnity + sum(r.amount for r in offer.retained) == D("5000.00")
    steps = [line.step for line in offer.explanation]
    assert "cumul clause (excess)" in steps
    small = _declare(uow, tenant, policy, 6, "2000", "a microphone")
    preview = claim_settlement.preview_offer(uow, tenant, small, {"other_insurance": base})
    assert preview.settlement.cumul is not None
    # base alone 1500 (1850 capped); top-up alone 1900; in excess: 2000 − 1500 = 500
    assert (preview.settlement.cumul.base, preview.settlement.indemnity) == (
        D("1500.00"),
        D("500.00"),
    )
