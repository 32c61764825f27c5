"""The persisted claim lifecycle on real databases: declaration, statuses, reserve, offer from the
engine, answer, payments, recoveries, history, tenant isolation and crash safety."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from tests.claim_fixtures import (
    COVER_TERMS,
    claim_payload,
    new_policy,
    new_tenant,
    policy_payload,
)

from polis.claims.lifecycle import ClaimStatus
from polis.kernel.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from polis.services import audit, claim_settlement, claim_views, claims, policies
from polis.store import SqlUnitOfWork

pytestmark = pytest.mark.db

ACTOR = "test"
FACTS = {"valuation": {"depreciation_rate": "0.20"}, "actual_value": "1500"}


@pytest.fixture
def tenant(uow: SqlUnitOfWork) -> str:
    return new_tenant(uow)


@pytest.fixture
def policy(uow: SqlUnitOfWork, tenant: str) -> str:
    return new_policy(uow, tenant)


def _declare(uow: SqlUnitOfWork, tenant: str, policy: str, **overrides: Any) -> str:
    at = overrides.pop("declared_at", datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    result = claims.declare_claim(
        uow, tenant, claim_payload(policy, **overrides), ACTOR, declared_at=at
    )
    return result.claim.id


def _to_offer(uow: SqlUnitOfWork, tenant: str, claim: str) -> claim_settlement.OfferView:
    claims.change_status(uow, tenant, claim, "under_assessment", ACTOR)
    return claim_settlement.make_offer(uow, tenant, claim, FACTS, ACTOR)


def _actions(uow: SqlUnitOfWork, tenant: str, claim: str) -> list[str]:
    return [entry.action for entry in claims.claim_history(uow, tenant, claim)]


# --- declaration --------------------------------------------------------------------------------


def test_a_declaration_gets_a_readable_number_and_a_one_time_insured_token(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    result = claims.declare_claim(uow, tenant, claim_payload(policy), ACTOR)
    assert result.claim.id.startswith(f"CLM-{datetime.now(UTC).year}-")
    assert result.claim.status is ClaimStatus.DECLARED
    assert result.claim.estimated_amount == Decimal("1200.00")
    assert len(result.insured_token) >= 40
    assert result.insured_path == f"/my/claims/{result.claim.id}?token={result.insured_token}"
    assert _actions(uow, tenant, result.claim.id) == ["claim.declared"]


@pytest.mark.parametrize(
    ("declared_at", "late", "days_late"),
    [
        # theft on Thursday 7 May 2026: Friday 8 May is a public holiday, so the 2 working days
        # are Monday 11 and Tuesday 12 May (Paris time)
        ("2026-05-12T23:59:59+02:00", False, 0),
        ("2026-05-13T00:00:00+02:00", True, 1),
        ("2026-05-15T18:00:00+02:00", True, 3),
    ],
)
def test_a_late_theft_declaration_is_flagged_at_the_working_day_boundary_never_refused(
    uow: SqlUnitOfWork, tenant: str, policy: str, declared_at: str, late: bool, days_late: int
) -> None:
    claim = _declare(
        uow,
        tenant,
        policy,
        peril="theft",
        loss_at="2026-05-07T10:00:00+02:00",
        declared_at=datetime.fromisoformat(declared_at),
    )
    view = claims.get_claim(uow, tenant, claim)
    assert (view.late, view.days_late) == (late, days_late)
    assert view.declaration_deadline == datetime(2026, 5, 12, 22, 0, tzinfo=UTC)
    assert view.status is ClaimStatus.DECLARED


def test_other_perils_get_the_five_working_days_of_the_policy(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    # Monday 2 March 2026 → the 5th working day after it is Monday 9 March
    on_time = _declare(uow, tenant, policy, declared_at=datetime(2026, 3, 9, 22, 59, tzinfo=UTC))
    late = _declare(uow, tenant, policy, declared_at=datetime(2026, 3, 9, 23, 0, tzinfo=UTC))
    assert claims.get_claim(uow, tenant, on_time).late is False
    assert claims.get_claim(uow, tenant, late).days_late == 1


def test_a_declaration_names_the_bad_field(uow: SqlUnitOfWork, tenant: str, policy: str) -> None:
    with pytest.raises(InvalidInput) as naive:
        claims.declare_claim(uow, tenant, claim_payload(policy, loss_at="2026-03-02T10:00"), ACTOR)
    assert naive.value.field == "loss_at"
    with pytest.raises(InvalidInput) as cover:
        claims.declare_claim(uow, tenant, claim_payload(policy, cover_id="fire"), ACTOR)
    assert cover.value.field == "cover_id"
    with pytest.raises(InvalidInput) as future:
        _declare(uow, tenant, policy, loss_at="2026-03-04T10:00:00+01:00")
    assert future.value.field == "loss_at"
    with pytest.raises(NotFound) as unknown:
        claims.declare_claim(uow, tenant, claim_payload("POL-1999-000001"), ACTOR)
    assert unknown.value.code == "policy.not_found"


# --- statuses -----------------------------------------------------------------------------------


def test_an_illegal_status_change_is_refused_and_changes_nothing(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    with pytest.raises(IllegalTransition) as raised:
        claims.change_status(uow, tenant, claim, "closed", ACTOR)
    assert "'declared'" in raised.value.message
    assert "'closed'" in raised.value.message
    assert claims.get_claim(uow, tenant, claim).status is ClaimStatus.DECLARED
    assert _actions(uow, tenant, claim) == ["claim.declared"]


def test_offers_and_payments_cannot_be_reached_by_a_plain_status_change(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    claims.change_status(uow, tenant, claim, "under_assessment", ACTOR)
    with pytest.raises(InvalidInput) as raised:
        claims.change_status(uow, tenant, claim, "offer_made", ACTOR)
    assert "make an offer" in raised.value.message


def test_a_refusal_needs_a_stable_reason_code(uow: SqlUnitOfWork, tenant: str, policy: str) -> None:
    claim = _declare(uow, tenant, policy)
    claims.change_status(uow, tenant, claim, "under_assessment", ACTOR)
    with pytest.raises(InvalidInput) as missing:
        claims.change_status(uow, tenant, claim, "refused", ACTOR)
    assert missing.value.field == "refusal_reason"
    claims.change_status(
        uow, tenant, claim, "refused", ACTOR, reason="no theft cover", refusal_reason="excluded"
    )
    last = claims.claim_history(uow, tenant, claim)[-1]
    assert last.data == {
        "from": "under_assessment",
        "to": "refused",
        "reason": "no theft cover",
        "refusal_reason": "excluded",
    }


def test_closing_releases_the_outstanding_reserve_in_the_ledger(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    claims.set_reserve(uow, tenant, claim, Decimal("900"), "first estimate", ACTOR)
    claims.change_status(uow, tenant, claim, "withdrawn", ACTOR, reason="found the camera")
    assert claims.get_claim(uow, tenant, claim).reserve == Decimal("0.00")
    ledger = claim_settlement.ledger_view(uow, tenant, claim)
    assert [(e.amount, e.reserve_after) for e in ledger] == [
        (Decimal("900.00"), Decimal("900.00")),
        (Decimal("-900.00"), Decimal("0.00")),
    ]
    with pytest.raises(Conflict) as closed:
        claims.set_reserve(uow, tenant, claim, Decimal("10"), "late", ACTOR)
    assert closed.value.code == "claim.not_open"


def test_the_queue_puts_late_declarations_first_and_filters_by_status(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    first = _declare(uow, tenant, policy, declared_at=datetime(2026, 3, 3, tzinfo=UTC))
    late = _declare(uow, tenant, policy, declared_at=datetime(2026, 4, 1, tzinfo=UTC))
    third = _declare(uow, tenant, policy, declared_at=datetime(2026, 3, 4, tzinfo=UTC))
    claims.change_status(uow, tenant, third, "withdrawn", ACTOR)
    assert [c.id for c in claims.list_claims(uow, tenant)] == [late, first, third]
    assert [c.id for c in claims.list_claims(uow, tenant, open_only=True)] == [late, first]
    withdrawn = claims.list_claims(uow, tenant, statuses=[ClaimStatus.WITHDRAWN])
    assert [c.id for c in withdrawn] == [third]


# --- offer, answer, payment ---------------------------------------------------------------------


def test_the_offer_comes_from_the_engine_with_the_policy_terms_and_is_stored_explained(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    offer = _to_offer(uow, tenant, claim)
    # 1,200 − 20 % depreciation (240) − 150 deductible = 810, under the 2,500 limit
    assert offer.indemnity == Decimal("810.00")
    assert {(r.reason, r.amount) for r in offer.retained} == {
        ("depreciation", Decimal("240.00")),
        ("deductible", Decimal("150.00")),
    }
    assert offer.indemnity + sum(r.amount for r in offer.retained) == offer.loss_amount
    assert offer.explanation[0].step == "loss"
    assert offer.cover is not None
    assert offer.cover["covered"] is True
    assert offer.engine_version == claim_settlement.ENGINE_VERSION
    view = claims.get_claim(uow, tenant, claim)
    assert view.status is ClaimStatus.OFFER_MADE
    assert view.reserve == Decimal("810.00")
    assert _actions(uow, tenant, claim)[-3:] == [
        "claim.offer_made",
        "claim.status_changed",
        "claim.reserve_set",
    ]


def test_an_uncovered_loss_gets_no_offer_but_the_reasons(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    claims.change_status(uow, tenant, claim, "under_assessment", ACTOR)
    with pytest.raises(Conflict) as raised:
        claim_settlement.make_offer(uow, tenant, claim, {"circumstances": ["racing"]}, ACTOR)
    assert raised.value.code == "offer.nothing_owed"
    assert "not_covered" in raised.value.message
    assert claims.get_claim(uow, tenant, claim).status is ClaimStatus.UNDER_ASSESSMENT


def test_a_loss_fact_may_not_rewrite_the_contract_terms(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    claims.change_status(uow, tenant, claim, "under_assessment", ACTOR)
    with pytest.raises(InvalidInput) as basis:
        claim_settlement.make_offer(
            uow, tenant, claim, {"valuation": {"basis": "replacement_new"}}, ACTOR
        )
    assert basis.value.field == "valuation.basis"
    with pytest.raises(InvalidInput) as deductible:
        claim_settlement.make_offer(uow, tenant, claim, {"deductible": {"amount": "0"}}, ACTOR)
    assert deductible.value.field == "deductible"


def test_a_contested_offer_is_revised_and_the_first_one_stays_on_file(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    first = _to_offer(uow, tenant, claim)
    claim_settlement.contest_offer(uow, tenant, claim, "the lens was new", ACTOR)
    revised = claim_settlement.make_offer(
        uow, tenant, claim, {"valuation": {"depreciation_rate": "0.10"}}, ACTOR
    )
    assert revised.indemnity == Decimal("930.00")
    offers = claim_views.claim_file(uow, tenant, claim).offers
    assert [(o.id, o.status) for o in offers] == [(first.id, "contested"), (revised.id, "pending")]
    assert offers[0].answer_reason == "the lens was new"


def test_payments_follow_acceptance_and_never_exceed_the_accepted_indemnity(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    _to_offer(uow, tenant, claim)
    with pytest.raises(IllegalTransition):
        claim_settlement.record_payment(uow, tenant, claim, Decimal("10"), "VIR-0", ACTOR)
    claim_settlement.accept_offer(uow, tenant, claim, ACTOR)
    claim_settlement.record_payment(uow, tenant, claim, Decimal("500"), "VIR-1", ACTOR)
    view = claims.get_claim(uow, tenant, claim)
    assert (view.status, view.reserve) == (ClaimStatus.PAID, Decimal("310.00"))
    with pytest.raises(Conflict) as over:
        claim_settlement.record_payment(uow, tenant, claim, Decimal("310.01"), "VIR-2", ACTOR)
    assert over.value.code == "claim.overpayment"
    claim_settlement.record_payment(uow, tenant, claim, Decimal("310"), "VIR-2", ACTOR)
    claims.change_status(uow, tenant, claim, "closed", ACTOR)
    claim_settlement.record_recovery(
        uow, tenant, claim, Decimal("200"), "REC-1", "third party insurer", ACTOR
    )
    totals = claim_views.claim_file(uow, tenant, claim).totals
    assert (totals.paid, totals.recovered, totals.reserve, totals.incurred) == (
        Decimal("810.00"),
        Decimal("200.00"),
        Decimal("0.00"),
        Decimal("610.00"),
    )


def test_recoveries_come_after_payment(uow: SqlUnitOfWork, tenant: str, policy: str) -> None:
    claim = _declare(uow, tenant, policy)
    with pytest.raises(Conflict) as raised:
        claim_settlement.record_recovery(uow, tenant, claim, Decimal("5"), "R", "", ACTOR)
    assert raised.value.code == "claim.not_paid"


def test_the_annual_aggregate_counts_what_other_claims_of_the_cover_were_paid(
    uow: SqlUnitOfWork, tenant: str
) -> None:
    terms = COVER_TERMS | {"annual_aggregate_limit": "1000"}
    policy = policies.register_policy(uow, tenant, policy_payload(equipment=terms), ACTOR).id
    first = _declare(uow, tenant, policy)
    _to_offer(uow, tenant, first)
    claim_settlement.accept_offer(uow, tenant, first, ACTOR)
    claim_settlement.record_payment(uow, tenant, first, Decimal("810"), "VIR-1", ACTOR)
    second = _declare(uow, tenant, policy)
    offer = _to_offer(uow, tenant, second)
    assert offer.indemnity == Decimal("190.00")  # 1,000 − 810 already paid this year
    assert ("aggregate_limit", Decimal("620.00")) in {(r.reason, r.amount) for r in offer.retained}


def test_the_insured_answers_with_the_claim_token_and_nothing_else(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    declared = claims.declare_claim(uow, tenant, claim_payload(policy), ACTOR)
    claim = declared.claim.id
    _to_offer(uow, tenant, claim)
    with pytest.raises(NotFound):
        claim_views.insured_view(uow, claim, "not-the-token")
    view = claim_views.insured_view(uow, claim, declared.insured_token)
    assert view.can_answer
    assert view.offer is not None
    assert view.offer.indemnity == Decimal("810.00")
    claim_settlement.insured_answer(uow, claim, declared.insured_token, accept=True)
    assert claims.get_claim(uow, tenant, claim).status is ClaimStatus.ACCEPTED
    assert claims.claim_history(uow, tenant, claim)[-1].actor == "insured"


# --- isolation and append-only ------------------------------------------------------------------


def test_another_tenant_cannot_see_or_touch_the_claim(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    other = new_tenant(uow)
    attempts: list[Callable[[], object]] = [
        lambda: claims.get_claim(uow, other, claim),
        lambda: claims.claim_history(uow, other, claim),
        lambda: claims.change_status(uow, other, claim, "under_assessment", ACTOR),
        lambda: claims.set_reserve(uow, other, claim, Decimal("1"), "x", ACTOR),
        lambda: claim_views.claim_file(uow, other, claim),
        lambda: claim_settlement.ledger_view(uow, other, claim),
        lambda: claim_settlement.make_offer(uow, other, claim, {}, ACTOR),
        lambda: claim_settlement.accept_offer(uow, other, claim, ACTOR),
        lambda: claims.declare_claim(uow, other, claim_payload(policy), ACTOR),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
    assert claims.list_claims(uow, other) == []
    assert claims.get_claim(uow, tenant, claim).status is ClaimStatus.DECLARED


def test_the_claim_ledger_refuses_updates_and_deletes(
    uow: SqlUnitOfWork, tenant: str, policy: str
) -> None:
    claim = _declare(uow, tenant, policy)
    claims.set_reserve(uow, tenant, claim, Decimal("100"), "estimate", ACTOR)
    for statement in (
        "UPDATE claim_ledger SET amount = '1' WHERE claim_id = :claim",
        "DELETE FROM claim_ledger WHERE claim_id = :claim",
    ):
        with uow, pytest.raises(DBAPIError):
            uow.session.execute(text(statement), {"claim": claim})
    assert len(claim_settlement.ledger_view(uow, tenant, claim)) == 1


# --- crash safety -------------------------------------------------------------------------------


@pytest.fixture
def crash_on(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``audit.record`` raise for the actions listed (a crash between two writes)."""
    actions: list[str] = []
    original = audit.record

    def record(uow: SqlUnitOfWork, **kwargs: Any) -> audit.AuditEntry:
        if kwargs["action"] in actions:
            raise RuntimeError(f"crash while recording {kwargs['action']}")
        return original(uow, **kwargs)

    monkeypatch.setattr(audit, "record", record)
    return actions


def test_a_crash_during_a_declaration_leaves_no_claim(
    uow: SqlUnitOfWork, tenant: str, policy: str, crash_on: list[str]
) -> None:
    crash_on.append("claim.declared")
    with pytest.raises(RuntimeError):
        claims.declare_claim(uow, tenant, claim_payload(policy), ACTOR)
    assert claims.list_claims(uow, tenant) == []
    assert all(e.action != "claim.declared" for e in audit.list_entries(uow, tenant))


def test_a_crash_between_the_offer_and_the_status_change_leaves_no_half_offer(
    uow: SqlUnitOfWork, tenant: str, policy: str, crash_on: list[str]
) -> None:
    claim = _declare(uow, tenant, policy)
    claims.change_status(uow, tenant, claim, "under_assessment", ACTOR)
    crash_on.append("claim.status_changed")  # after the offer row and its audit entry
    with pytest.raises(RuntimeError):
        claim_settlement.make_offer(uow, tenant, claim, FACTS, ACTOR)
    file = claim_views.claim_file(uow, tenant, claim)
    assert file.offers == []
    assert file.claim.status is ClaimStatus.UNDER_ASSESSMENT
    assert file.claim.reserve == 0
    assert "claim.offer_made" not in [h.action for h in file.history]


def test_a_crash_after_a_payment_entry_leaves_no_payment(
    uow: SqlUnitOfWork, tenant: str, policy: str, crash_on: list[str]
) -> None:
    claim = _declare(uow, tenant, policy)
    _to_offer(uow, tenant, claim)
    claim_settlement.accept_offer(uow, tenant, claim, ACTOR)
    crash_on.append("claim.reserve_set")  # after the ledger entry and the status change
    with pytest.raises(RuntimeError):
        claim_settlement.record_payment(uow, tenant, claim, Decimal("810"), "VIR-1", ACTOR)
    file = claim_views.claim_file(uow, tenant, claim)
    assert file.claim.status is ClaimStatus.ACCEPTED
    assert [e.kind for e in file.ledger] == ["reserve_change"]
    assert file.totals.paid == 0
