"""Invariants of the rating engine on random contracts (Hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from polis.kernel.money import round_money
from polis.kernel.time import add_months
from polis.rating import (
    ContractPricing,
    CoverPricing,
    Fee,
    Loading,
    LoadingOf,
    MotorCatNatBase,
    SeasonalityProfile,
    load_tax_table,
    net_premium,
    period_prorata,
    price_contract,
    seasonal_weight,
)

TABLE = load_tax_table()
LINES = sorted(line for line, rule in TABLE.lines.items() if rule.rows[0].start <= date(2019, 1, 1))
cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: Decimal(c) / 100)
rates = st.integers(min_value=0, max_value=200).map(lambda r: Decimal(r) / 1000)
days = st.dates(min_value=date(2019, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def loadings(draw: st.DrawFn) -> tuple[Loading, ...]:
    items = []
    for i in range(draw(st.integers(0, 4))):
        of = draw(st.sampled_from(list(LoadingOf)))
        value = draw(cents) if of is LoadingOf.AMOUNT else draw(rates)
        items.append(Loading(f"l{i}", of, value))
    return tuple(items)


@st.composite
def covers(draw: st.DrawFn) -> CoverPricing:
    return CoverPricing(
        id=f"c{draw(st.integers(0, 10_000))}",
        name="cover",
        line=draw(st.sampled_from(LINES)),
        pure=draw(cents),
        cat_nat=draw(st.none() | st.booleans()),
        motor_cat_nat_base=draw(st.sampled_from(list(MotorCatNatBase))),
        loadings=draw(st.none() | loadings()),
    )


@st.composite
def contracts(draw: st.DrawFn) -> ContractPricing:
    return ContractPricing(
        covers=tuple(draw(st.lists(covers(), min_size=1, max_size=5))),
        due_date=draw(days),
        loadings=draw(loadings()),
        fees=tuple(
            Fee(f"f{i}", draw(cents), draw(st.booleans())) for i in range(draw(st.integers(0, 2)))
        ),
        contributions=draw(st.none() | st.sets(st.sampled_from(["fgti", "fgao"])).map(tuple)),
        contribution_fraction=draw(st.none() | rates),
    )


def in_cents(value: Decimal) -> bool:
    return round_money(value) == value


@settings(max_examples=300, deadline=None)
@given(contracts())
def test_the_lines_add_up_exactly_to_each_net_premium_and_to_the_total(
    contract: ContractPricing,
) -> None:
    priced = price_contract(contract, TABLE)
    for cover in priced.covers:
        assert cover.pure + sum(line.amount for line in cover.loadings) == cover.net
    lines = [
        *(c.net for c in priced.covers),
        *(s.amount for s in priced.surcharges),
        *(t.amount for t in priced.taxes),
        *(c.amount for c in priced.contributions),
        *(f.amount for f in priced.fees),
    ]
    assert all(in_cents(x) for x in lines)
    assert sum(lines, Decimal(0)) == priced.total_premium
    assert (
        priced.pure_premium + sum(line.amount for _, line in priced.loadings) == priced.net_premium
    )


@settings(max_examples=200, deadline=None)
@given(contracts(), st.integers(0, 1_000_000).map(lambda c: Decimal(c) / 100), st.integers(0, 4))
def test_the_total_premium_never_falls_when_a_pure_premium_rises(
    contract: ContractPricing, more: Decimal, index: int
) -> None:
    i = index % len(contract.covers)
    bigger = list(contract.covers)
    bigger[i] = replace(bigger[i], pure=bigger[i].pure + more)
    before = price_contract(contract, TABLE).total_premium
    after = price_contract(replace(contract, covers=tuple(bigger)), TABLE).total_premium
    assert after >= before


@settings(max_examples=300, deadline=None)
@given(cents, loadings())
def test_each_rate_of_net_loading_is_within_one_and_a_half_cent_of_net_times_its_rate(
    pure: Decimal, items: tuple[Loading, ...]
) -> None:
    result = net_premium(pure, items)
    for line in result.lines:
        if line.of is LoadingOf.NET:
            assert line.rate is not None
            # < 1 cent from its exact share of (net − other lines), ≤ ½ cent from rounding net
            assert abs(line.amount - result.net * line.rate) < Decimal("0.015")


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)), st.integers(1, 5))
def test_a_whole_number_of_years_is_a_prorata_of_that_many_years(start: date, years: int) -> None:
    assert period_prorata(start, add_months(start, 12 * years)).value == years


@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    st.lists(st.integers(0, 100), min_size=12, max_size=12).filter(lambda w: sum(w) > 0),
)
def test_a_full_year_weighs_one_under_any_seasonality_profile(start: date, raw: list[int]) -> None:
    total = sum(raw)
    weights = [Decimal(w) / total for w in raw[:-1]]
    weights.append(Decimal(1) - sum(weights, Decimal(0)))
    if weights[-1] < 0:
        return
    profile = SeasonalityProfile(tuple(weights))
    assert seasonal_weight(start, add_months(start, 12), profile).value == 1


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 1, 1)), st.integers(1, 364))
def test_a_part_of_a_year_is_its_days_over_365(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    factor = period_prorata(start, end).value
    if end < add_months(start, 12):
        assert factor == Decimal(length) / Decimal(365)
