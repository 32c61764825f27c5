"""Loadings: amounts, % of pure, % of net; mutual vs company (premium.md §2, seed 002)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polis.kernel.errors import InvalidInput
from polis.rating import InsurerKind, Loading, LoadingOf, LoadingType, net_premium

D = Decimal


def test_90_of_pure_premium_plus_40_of_loadings_is_a_net_premium_of_130() -> None:
    # seed 002: 90 € + 40 € (management and commissions) = 130 €
    result = net_premium(
        D("90.00"), [Loading.amount("management", D(25)), Loading.amount("acquisition", D(15))]
    )
    assert result.net == D("130.00")
    assert [line.amount for line in result.lines] == [D("25.00"), D("15.00")]


def test_a_loading_of_25_percent_of_net_gives_net_equal_pure_over_0_75() -> None:
    # 90 / (1 − 0.25) = 120; the loading is 120 × 0.25 = 30
    result = net_premium(D("90.00"), [Loading.rate("management", D("0.25"), LoadingOf.NET)])
    assert result.net == D("120.00") == D(90) / D("0.75")
    assert result.lines[0].amount == D("30.00")


def test_the_contract_formula_with_rates_of_pure_amounts_and_rates_of_net() -> None:
    # net = (100 + 10 + 100 × 0.20) / (1 − 0.15 − 0.05) = 130 / 0.8 = 162.50
    loadings = [
        Loading.rate("management", D("0.20"), LoadingOf.PURE),
        Loading.amount("policy", D(10)),
        Loading.rate("acquisition", D("0.15"), LoadingOf.NET),
        Loading.rate("profit", D("0.05"), LoadingOf.NET),
    ]
    result = net_premium(D("100.00"), loadings)
    assert result.net == D("162.50")
    # 162.50 − 130 = 32.50 shared 3:1 → 24.375 / 8.125: equal half-cent remainders, the tie goes
    # to the earlier loading (kernel allocate) → 24.38 + 8.12 (no cent lost)
    assert [line.amount for line in result.lines] == [D("20.00"), D("10.00"), D("24.38"), D("8.12")]
    assert D("100.00") + sum(line.amount for line in result.lines) == result.net


def test_rates_of_net_summing_to_one_are_refused() -> None:
    loadings = [
        Loading.rate("a", D("0.6"), LoadingOf.NET),
        Loading.rate("b", D("0.4"), LoadingOf.NET),
    ]
    with pytest.raises(InvalidInput) as error:
        net_premium(D(10), loadings)
    assert error.value.field == "loadings"
    assert "below 1" in error.value.message


def test_a_negative_loading_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput) as error:
        net_premium(D(10), [Loading.amount("ok", D(1)), Loading.amount("bad", D(-1))])
    assert error.value.field == "loadings[1].amount"


def test_a_mutual_refuses_a_loading_typed_profit() -> None:
    loadings = [Loading.rate("margin", D("0.05"), LoadingOf.NET, LoadingType.PROFIT)]
    with pytest.raises(InvalidInput) as error:
        net_premium(D(100), loadings, insurer=InsurerKind.MUTUAL)
    assert error.value.field == "loadings[0]"
    assert "mutual" in error.value.message


def test_a_mutual_refuses_a_loading_named_profit() -> None:
    loadings = [Loading.amount("management", D(5)), Loading.amount("profit", D(5))]
    with pytest.raises(InvalidInput) as error:
        net_premium(D(100), loadings, insurer=InsurerKind.MUTUAL)
    assert error.value.field == "loadings[1]"


def test_a_company_adds_its_profit_margin_and_a_mutual_prices_at_cost() -> None:
    costs = [Loading.rate("management", D("0.20"), LoadingOf.PURE)]
    mutual = net_premium(D(100), costs, insurer=InsurerKind.MUTUAL)
    company = net_premium(D(100), [*costs, Loading.rate("profit", D("0.04"), LoadingOf.NET)])
    assert mutual.net == D("120.00")
    assert company.net == D("125.00")  # 120 / 0.96


def test_the_loading_type_follows_its_name_when_not_given() -> None:
    assert Loading.amount("acquisition", D(1)).type is LoadingType.ACQUISITION
    assert Loading.amount("brokerage", D(1)).type is LoadingType.OTHER


def test_the_explanation_shows_the_net_premium_formula() -> None:
    result = net_premium(D(90), [Loading.rate("management", D("0.25"), LoadingOf.NET)])
    assert "/ (1 − Σrate_of_net 0.25)" in result.explanation[-1].formula
