from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.kernel import InvalidInput, Money, allocate, round_money, to_decimal, truncate

cents = st.integers(min_value=-(10**12), max_value=10**12).map(lambda c: Decimal(c) / 100)
weights = st.lists(
    st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False), min_size=1, max_size=12
).filter(lambda ws: sum(ws) > 0)


def test_money_lines_round_half_up_to_the_cent() -> None:
    assert round_money(Decimal("2.345")) == Decimal("2.35")
    assert round_money(Decimal("2.344999")) == Decimal("2.34")
    assert round_money(Decimal("-2.345")) == Decimal("-2.35")  # half away from zero


def test_truncation_rounds_towards_zero() -> None:
    assert truncate(Decimal("1.0625")) == Decimal("1.06")
    assert truncate(Decimal("0.9999")) == Decimal("0.99")


def test_floats_are_read_through_their_decimal_text() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("  12.50 ") == Decimal("12.50")


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", True, None, [1]])
def test_non_numbers_are_refused_with_the_field_named(bad: object) -> None:
    with pytest.raises(InvalidInput) as info:
        to_decimal(bad, field="loss.amount")
    assert info.value.field == "loss.amount"


def test_splitting_100_in_three_keeps_every_cent() -> None:
    parts = allocate(Decimal("100.00"), [Decimal(1), Decimal(1), Decimal(1)])
    assert parts == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


@settings(max_examples=300, deadline=None)
@given(total=cents, ws=weights)
def test_allocation_never_loses_or_creates_a_cent(total: Decimal, ws: list[Decimal]) -> None:
    parts = allocate(total, ws)
    assert sum(parts, Decimal(0)) == total
    weight_sum = sum(ws, Decimal(0))
    for part, weight in zip(parts, ws, strict=True):
        assert abs(part - total * weight / weight_sum) < Decimal("0.01")
        assert round_money(part) == part


def test_allocation_refuses_fractions_of_a_cent() -> None:
    with pytest.raises(InvalidInput):
        allocate(Decimal("1.005"), [Decimal(1)])


def test_money_refuses_to_mix_currencies() -> None:
    with pytest.raises(InvalidInput) as info:
        _ = Money.of("1", "EUR") + Money.of("1", "USD")
    assert info.value.field == "currency"


def test_money_arithmetic_and_display() -> None:
    total = Money.total([Money.of("10.10"), Money.of(5), Money.of("0.005")])
    assert total.rounded() == Money.of("15.11")
    assert str(Money.of("3") * 2) == "6.00 EUR"
    assert [p.amount for p in Money.of("10").allocate([Decimal(2), Decimal(1)])] == [
        Decimal("6.67"),
        Decimal("3.33"),
    ]
