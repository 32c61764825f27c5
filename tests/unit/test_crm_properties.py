"""Invariants of the bonus-malus engine, checked on random histories (Hypothesis)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from polis.actuarial import (
    Claim,
    ClaimCause,
    CrmInput,
    History,
    Interruption,
    Period,
    Responsibility,
    Usage,
    compute_crm,
    periods_from_history,
)
from polis.kernel.time import add_months

FLOOR, CEILING, ONE = Decimal("0.50"), Decimal("3.50"), Decimal("1.00")
FULL = Claim(Responsibility.FULL)

claims = st.builds(
    Claim,
    responsibility=st.sampled_from(list(Responsibility)),
    neutral=st.booleans(),
    cause=st.none() | st.sampled_from(list(ClaimCause)),
)
periods = st.builds(
    Period,
    claims=st.lists(claims, max_size=6).map(tuple),
    interrupted=st.booleans(),
)
coefficients = st.integers(min_value=50, max_value=350).map(lambda n: Decimal(n) / 100)


@st.composite
def inputs(draw: st.DrawFn) -> CrmInput:
    start = draw(coefficients).quantize(Decimal("0.01"))
    at_floor = draw(st.integers(0, 5)) if start == FLOOR else 0
    return CrmInput(
        periods=tuple(draw(st.lists(periods, max_size=15))),
        start=start,
        usage=draw(st.sampled_from(list(Usage))),
        years_at_floor=at_floor,
        claim_free_periods=draw(st.integers(0, 3)),
    )


def counts(claim: Claim) -> bool:
    return claim.responsibility != Responsibility.NONE and not claim.neutral and claim.cause is None


@settings(max_examples=200, deadline=None)
@given(inputs())
def test_every_coefficient_stays_in_0_50_to_3_50_with_two_decimals(request: CrmInput) -> None:
    result = compute_crm(request)
    values = [line.amount for line in result.explanation if line.amount is not None]
    values += [row.start_coefficient for row in result.periods]
    for value in values:
        assert FLOOR <= value <= CEILING
        assert value.as_tuple().exponent == -2


@settings(max_examples=200, deadline=None)
@given(inputs())
def test_claim_free_periods_never_raise_and_responsible_claims_never_lower(
    request: CrmInput,
) -> None:
    result = compute_crm(request)
    for period, row in zip(request.periods, result.periods, strict=True):
        if not any(counts(c) for c in period.claims):
            assert row.coefficient <= row.start_coefficient
            assert row.responsible_claims == 0
        elif row.exempted_claims == 0:
            assert row.coefficient >= row.start_coefficient
            if row.start_coefficient < CEILING:
                assert row.coefficient > row.start_coefficient
        else:  # the exempted first claim adds nothing, the others still raise
            assert row.start_coefficient == FLOOR
            assert row.coefficient >= FLOOR


@settings(max_examples=200, deadline=None)
@given(inputs(), st.data())
def test_adding_a_responsible_claim_never_lowers_any_later_coefficient(
    request: CrmInput, data: st.DataObject
) -> None:
    if not request.periods:
        return
    where = data.draw(st.integers(0, len(request.periods) - 1))
    extra = data.draw(st.sampled_from([FULL, Claim(Responsibility.PARTIAL)]))
    target = request.periods[where]
    worse = list(request.periods)
    worse[where] = replace(target, claims=(*target.claims, extra))
    base = compute_crm(request).coefficients
    more = compute_crm(replace(request, periods=tuple(worse))).coefficients
    assert all(m >= b for m, b in zip(more, base, strict=True))


@settings(max_examples=200, deadline=None)
@given(inputs())
def test_tournees_use_never_gives_a_higher_coefficient_than_standard_use(
    request: CrmInput,
) -> None:
    standard = compute_crm(replace(request, usage=Usage.STANDARD)).coefficients
    tournees = compute_crm(replace(request, usage=Usage.TOURNEES)).coefficients
    assert all(t <= s for t, s in zip(tournees, standard, strict=True))


@settings(max_examples=200, deadline=None)
@given(inputs())
def test_two_consecutive_claim_free_periods_leave_at_most_1_00(request: CrmInput) -> None:
    result = compute_crm(request)
    clean = [not p.interrupted and not any(counts(c) for c in p.claims) for p in request.periods]
    for i in range(1, len(clean)):
        if clean[i - 1] and clean[i]:
            assert result.periods[i].coefficient <= ONE


@settings(max_examples=200, deadline=None)
@given(
    first=st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)),
    years=st.integers(0, 8),
    offsets=st.lists(st.integers(0, 12 * 366), max_size=20),
    gaps=st.lists(st.tuples(st.integers(0, 12 * 366), st.integers(1, 300)), max_size=3),
)
def test_dated_periods_are_contiguous_and_every_claim_lands_exactly_once(
    first: dt.date, years: int, offsets: list[int], gaps: list[tuple[int, int]]
) -> None:
    seed = periods_from_history(History(first, first)).periods[0].reference_start
    assert seed is not None  # start of the first reference period
    history = History(
        first_due_date=first,
        last_due_date=add_months(first, 12 * years),
        claims=tuple(replace(FULL, date=seed + dt.timedelta(days=o)) for o in offsets),
        interruptions=tuple(
            Interruption(seed + dt.timedelta(days=s), seed + dt.timedelta(days=s + n))
            for s, n in gaps
        ),
    )
    dated = periods_from_history(history)
    assert len(dated.periods) == years + 1
    for before, after in zip(dated.periods, dated.periods[1:], strict=False):
        assert after.reference_start == before.reference_end
    placed = sum(len(p.claims) for p in dated.periods) + len(dated.pending_claims)
    assert placed == len(history.claims)
    for period in dated.periods:
        assert period.reference_start is not None
        assert period.reference_end is not None
        for claim in period.claims:
            assert claim.date is not None
            assert period.reference_start <= claim.date < period.reference_end
    end = dated.periods[-1].reference_end
    assert end is not None
    for pending in dated.pending_claims:
        assert pending.claim.date is not None
        assert pending.claim.date >= end
        assert pending.counts_at is not None
        assert pending.counts_at > pending.claim.date
