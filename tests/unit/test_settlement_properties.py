"""Invariants of the settlement engine on random contracts and losses (Hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from polis.claims import (
    CoverTerms,
    Deductible,
    DeductibleBase,
    DeductibleKind,
    DeductibleScope,
    Limits,
    Loss,
    LossItem,
    Misstatement,
    OtherInsurer,
    PriorUse,
    Settlement,
    ValuationBasis,
    Vat,
    contributions,
    settle,
)
from polis.kernel.money import round_money

PERILS = ("fire", "theft", "water")


def money(high: int = 200_000) -> st.SearchStrategy[Decimal]:
    """Whole cents between 0 and ``high`` euros."""
    return st.integers(0, high * 100).map(lambda c: Decimal(c).scaleb(-2))


rates = st.integers(0, 100).map(lambda n: Decimal(n).scaleb(-2))
positive_rates = st.integers(1, 100).map(lambda n: Decimal(n).scaleb(-4))


@dataclass(frozen=True)
class Claim:
    terms: CoverTerms
    loss: Loss

    def settled(self) -> Settlement:
        return settle(self.terms, self.loss)


@st.composite
def deductible_values(draw: st.DrawFn) -> Deductible:
    scope = draw(st.sampled_from(list(DeductibleScope)))
    per_claim = scope is DeductibleScope.CLAIM
    kind = draw(st.sampled_from(list(DeductibleKind))) if per_claim else DeductibleKind.ABSOLUTE
    cap = draw(st.none() | money(20_000)) if scope is not DeductibleScope.ANNUAL else None
    if draw(st.booleans()):
        return Deductible(amount=draw(money(20_000)), kind=kind, scope=scope, annual_cap=cap)
    low, high = sorted([draw(money(5_000)), draw(money(20_000))])
    return Deductible(
        rate=draw(rates),
        of=draw(st.sampled_from(list(DeductibleBase))) if per_claim else DeductibleBase.SUM_INSURED,
        minimum=draw(st.none() | st.just(low)),
        maximum=draw(st.none() | st.just(high)),
        kind=kind,
        scope=scope,
        annual_cap=cap,
    )


deductibles = st.none() | deductible_values()


@st.composite
def contract_terms(draw: st.DrawFn) -> CoverTerms:
    basis = draw(st.sampled_from(list(ValuationBasis)))
    return CoverTerms(
        sum_insured=draw(money(300_000)),
        valuation_basis=basis,
        first_loss=draw(st.booleans()),
        agreed_value=draw(st.booleans()),
        tolerance=draw(st.sampled_from([Decimal(0), Decimal("0.1"), Decimal("0.2")])),
        deductible=draw(deductibles),
        peril_deductibles=draw(
            st.dictionaries(st.sampled_from(PERILS), deductible_values(), max_size=1)
        ),
        limits=Limits(
            per_claim=draw(st.none() | money()),
            per_event=draw(st.none() | money()),
            per_item=draw(st.none() | money(50_000)),
            by_peril=draw(st.dictionaries(st.sampled_from(PERILS), money(), max_size=2)),
            annual_aggregate=draw(st.none() | money()),
        ),
        coinsurance_share=draw(st.sampled_from([Decimal(1), Decimal("0.3"), Decimal("0.55")])),
    )


@st.composite
def losses(draw: st.DrawFn, *, with_items: bool = True, max_others: int = 2) -> Loss:
    item_amounts = draw(st.lists(money(50_000), max_size=3)) if with_items else []
    amount = sum(item_amounts, Decimal(0)) if item_amounts else draw(money())
    items = tuple(
        LossItem(f"item {i}", a, draw(st.none() | money(20_000)))
        for i, a in enumerate(item_amounts)
    )
    paid, due = sorted([draw(positive_rates), draw(positive_rates)])
    return Loss(
        amount=amount,
        vat=Vat(
            draw(st.sampled_from([Decimal(0), Decimal("0.2")])),
            draw(st.booleans()),
            draw(st.booleans()),
        ),
        peril=draw(st.none() | st.sampled_from(PERILS)),
        actual_value=draw(st.none() | money(400_000)),
        depreciation_rate=draw(rates),
        value_at_loss=draw(st.none() | money()),
        misstatement=draw(st.none() | st.just(Misstatement(paid, due))),
        items=items,
        responsibility_share=draw(st.sampled_from([Decimal(1), Decimal("0.5"), Decimal(0)])),
        other_insurers=tuple(
            OtherInsurer(f"insurer {i}", draw(money()))
            for i in range(draw(st.integers(0, max_others)))
        ),
        prior=PriorUse(draw(money()), draw(money()), draw(money(20_000)), draw(money(20_000))),
    )


def fitted(terms: CoverTerms, loss: Loss) -> Loss:
    """A use-value basis keeps the drawn rate; any other basis takes none."""
    if terms.valuation_basis is ValuationBasis.USE_VALUE:
        return loss
    return replace(loss, depreciation_rate=None)


@st.composite
def claims(draw: st.DrawFn, *, with_items: bool = True, max_others: int = 2) -> Claim:
    terms = draw(contract_terms())
    return Claim(terms, fitted(terms, draw(losses(with_items=with_items, max_others=max_others))))


@settings(max_examples=300, deadline=None)
@given(claims())
def test_the_indemnity_is_between_zero_and_the_loss_and_the_parts_add_up(claim: Claim) -> None:
    result = claim.settled()
    assert Decimal(0) <= result.indemnity <= claim.loss.amount
    assert all(r.amount > 0 for r in result.retained)
    assert result.indemnity + sum((r.amount for r in result.retained), Decimal(0)) == (
        claim.loss.amount
    )


@settings(max_examples=300, deadline=None)
@given(claims())
def test_the_indemnity_never_exceeds_an_applicable_limit(claim: Claim) -> None:
    result, limits, prior = claim.settled(), claim.terms.limits, claim.loss.prior
    applicable = [limits.per_claim]
    if limits.per_event is not None:
        applicable.append(max(Decimal(0), limits.per_event - prior.paid_this_event))
    if limits.annual_aggregate is not None:
        applicable.append(max(Decimal(0), limits.annual_aggregate - prior.paid_this_year))
    if claim.loss.peril is not None:
        applicable.append(limits.by_peril.get(claim.loss.peril))
    item_limits = [i.limit if i.limit is not None else limits.per_item for i in claim.loss.items]
    if item_limits and all(limit is not None for limit in item_limits):
        applicable.append(sum((limit or Decimal(0) for limit in item_limits), Decimal(0)))
    for limit in applicable:
        assert limit is None or result.indemnity <= limit


@settings(max_examples=300, deadline=None)
@given(claims(with_items=False, max_others=1), money(), money())
def test_the_indemnity_is_monotone_in_the_loss(claim: Claim, a: Decimal, b: Decimal) -> None:
    low, high = sorted([a, b])
    smaller = settle(claim.terms, replace(claim.loss, amount=low))
    larger = settle(claim.terms, replace(claim.loss, amount=high))
    assert smaller.indemnity <= larger.indemnity


@settings(max_examples=300, deadline=None)
@given(claims())
def test_the_capital_rule_never_raises_the_indemnity(claim: Claim) -> None:
    without_rule = replace(claim.terms, first_loss=True)
    assert claim.settled().indemnity <= settle(without_rule, claim.loss).indemnity


@settings(deadline=None)
@given(claims())
def test_nullity_pays_nothing_and_retains_the_whole_loss(claim: Claim) -> None:
    void = replace(claim.loss, misstatement=Misstatement(intentional=True))
    result = settle(claim.terms, void)
    assert result.indemnity == 0
    assert [(r.reason.value, r.amount) for r in result.retained if r.amount] == (
        [("nullity", claim.loss.amount)] if claim.loss.amount else []
    )


@settings(max_examples=300, deadline=None)
@given(money(), st.lists(money(), min_size=1, max_size=5))
def test_l121_4_contributions_add_up_and_never_exceed_what_each_would_pay_alone(
    loss: Decimal, alone: list[Decimal]
) -> None:
    shares = contributions(loss, [(f"insurer {i}", a) for i, a in enumerate(alone)])
    total = sum((c.contribution for c in shares), Decimal(0))
    if sum(alone) > 0:
        assert total == min(round_money(loss), sum(alone, Decimal(0)))
    assert all(Decimal(0) <= c.contribution <= c.alone for c in shares)
