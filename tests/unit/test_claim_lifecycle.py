"""The claim state machine: the transition table is the only way a status moves."""

from __future__ import annotations

import itertools

import pytest

from polis.claims.lifecycle import (
    ACTION_TARGETS,
    PAYMENT_STATUSES,
    RECOVERY_STATUSES,
    RESERVE_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    ClaimStatus,
    RefusalReason,
    allowed_targets,
    transition,
)
from polis.kernel.errors import Conflict, IllegalTransition

S = ClaimStatus
ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
FORBIDDEN = [
    (a, b) for a, b in itertools.product(ClaimStatus, ClaimStatus) if b not in TRANSITIONS[a]
]


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(ClaimStatus)
    assert all(targets <= set(ClaimStatus) for targets in TRANSITIONS.values())
    assert len(ALLOWED) + len(FORBIDDEN) == len(ClaimStatus) ** 2


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_every_allowed_transition_is_taken(current: ClaimStatus, target: ClaimStatus) -> None:
    assert transition(current, target) is target


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN])
def test_every_other_transition_raises_naming_both_statuses(
    current: ClaimStatus, target: ClaimStatus
) -> None:
    with pytest.raises(IllegalTransition) as raised:
        transition(current, target)
    error = raised.value
    assert isinstance(error, Conflict)
    assert error.code == "state.illegal_transition"
    assert error.field == "status"
    assert error.data == {"from_status": current.value, "to_status": target.value}
    assert repr(current.value) in error.message
    assert repr(target.value) in error.message


def test_no_status_moves_to_itself() -> None:
    assert all(status not in TRANSITIONS[status] for status in ClaimStatus)


def test_the_happy_path_from_declaration_to_closing_is_allowed() -> None:
    path = [S.DECLARED, S.UNDER_ASSESSMENT, S.OFFER_MADE, S.ACCEPTED, S.PAID, S.CLOSED]
    for current, target in itertools.pairwise(path):
        assert transition(current, target) is target


def test_a_contested_offer_can_be_revised_refused_or_closed() -> None:
    assert {S.OFFER_MADE, S.REFUSED, S.CLOSED} <= allowed_targets(S.CONTESTED)


def test_a_claim_may_be_withdrawn_while_open_but_not_once_the_offer_is_accepted() -> None:
    for status in (S.DECLARED, S.EVIDENCE_REQUESTED, S.UNDER_ASSESSMENT, S.OFFER_MADE, S.CONTESTED):
        assert S.WITHDRAWN in allowed_targets(status)
    assert S.WITHDRAWN not in allowed_targets(S.ACCEPTED)
    assert S.WITHDRAWN not in allowed_targets(S.PAID)


def test_only_terminal_statuses_can_be_reopened_and_they_can_only_be_reopened() -> None:
    reopenable = {status for status in ClaimStatus if S.REOPENED in TRANSITIONS[status]}
    assert reopenable == TERMINAL_STATUSES
    assert all(TRANSITIONS[status] == {S.REOPENED} for status in TERMINAL_STATUSES)


def test_a_claim_is_paid_only_after_an_accepted_offer() -> None:
    assert {status for status in ClaimStatus if S.PAID in TRANSITIONS[status]} == {S.ACCEPTED}


def test_offers_answers_and_payments_have_their_own_use_case() -> None:
    assert set(ACTION_TARGETS) == {S.OFFER_MADE, S.ACCEPTED, S.CONTESTED, S.PAID}


def test_money_moves_only_in_the_statuses_that_allow_it() -> None:
    assert {S.ACCEPTED, S.PAID} == PAYMENT_STATUSES
    assert {S.PAID, S.CLOSED} == RECOVERY_STATUSES
    assert not RESERVE_STATUSES & TERMINAL_STATUSES
    assert S.CLOSED.is_open is False
    assert S.PAID.is_open is True


def test_refusal_reason_codes_are_stable() -> None:
    assert [r.value for r in RefusalReason] == [
        "not_covered",
        "excluded",
        "outside_period",
        "waiting_period",
        "late_declaration_prejudice",
        "nullity",
        "no_evidence",
        "below_deductible",
        "fraud",
    ]
