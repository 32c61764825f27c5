"""Contract pricing: cover-by-cover taxation, shared loadings, fees and contributions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from polis.kernel.errors import InvalidInput
from polis.rating import (
    ContractPricing,
    CoverPricing,
    InsurerKind,
    Loading,
    LoadingOf,
    load_tax_table,
    price_contract,
)

D = Decimal
TABLE = load_tax_table()
DUE = date(2025, 9, 1)


def home() -> ContractPricing:
    return ContractPricing(
        (
            CoverPricing("building", "Building", "fire_private", D("200.00")),
            CoverPricing("liability", "Liability", "liability", D("30.00")),
        ),
        DUE,
    )


def test_a_home_contract_taxes_liability_at_9_percent_and_property_at_30_percent() -> None:
    priced = price_contract(home(), TABLE)
    # building: cat-nat 200 × 20% = 40; TSCA (200 + 40) × 30% = 72.00
    # liability: no cat-nat; TSCA 30 × 9% = 2.70; FGTI 6.50 (default of fire_private)
    assert [(t.cover, t.rate, t.base, t.amount) for t in priced.taxes] == [
        ("building", D("0.30"), D("240.00"), D("72.00")),
        ("liability", D("0.09"), D("30.00"), D("2.70")),
    ]
    assert [s.cover for s in priced.surcharges] == ["building"]
    assert priced.total_premium == D("351.20")  # 230 + 40 + 74.70 + 6.50


def test_each_cover_total_is_its_net_plus_surcharge_plus_tax() -> None:
    building, liability = price_contract(home(), TABLE).covers
    assert building.total == D("312.00")
    assert liability.total == D("32.70")


def test_the_contributions_default_to_those_of_the_lines_and_an_empty_list_removes_them() -> None:
    assert [c.name for c in price_contract(home(), TABLE).contributions] == ["fgti"]
    contract = ContractPricing(home().covers, DUE, contributions=())
    assert price_contract(contract, TABLE).contributions == ()


def test_a_fixed_contribution_can_be_pro_rated_when_the_product_says_so() -> None:
    contract = ContractPricing(home().covers, DUE, contribution_fraction=D("0.5"))
    assert price_contract(contract, TABLE).contributions[0].amount == D("3.25")


def test_a_contract_amount_loading_is_charged_once_on_the_main_cover() -> None:
    contract = ContractPricing(
        (
            CoverPricing("a", "A", "liability", D("100.00")),
            CoverPricing("b", "B", "liability", D("200.00")),
        ),
        DUE,
        loadings=(Loading.amount("acquisition", D(10)),),
        contributions=(),
    )
    priced = price_contract(contract, TABLE)
    assert [(cover, line.amount) for cover, line in priced.loadings] == [("a", D("10.00"))]
    assert [c.net for c in priced.covers] == [D("110.00"), D("200.00")]


def test_a_cover_with_its_own_loadings_ignores_the_contract_loadings() -> None:
    contract = ContractPricing(
        (
            CoverPricing("a", "A", "liability", D("100.00")),
            CoverPricing(
                "b", "B", "liability", D("100.00"), loadings=(Loading.amount("special", D(1)),)
            ),
        ),
        DUE,
        loadings=(Loading.rate("management", D("0.10"), LoadingOf.PURE),),
        contributions=(),
    )
    a, b = price_contract(contract, TABLE).covers
    assert (a.net, b.net) == (D("110.00"), D("101.00"))


def test_a_mutual_contract_with_a_profit_loading_is_refused() -> None:
    contract = ContractPricing(
        home().covers,
        DUE,
        loadings=(Loading.rate("profit", D("0.05"), LoadingOf.NET),),
        insurer=InsurerKind.MUTUAL,
    )
    with pytest.raises(InvalidInput) as error:
        price_contract(contract, TABLE)
    assert error.value.field == "loadings[0]"


def test_cat_nat_forced_off_removes_the_surcharge_of_a_property_cover() -> None:
    cover = CoverPricing("building", "Building", "fire_private", D("200.00"), cat_nat=False)
    priced = price_contract(ContractPricing((cover,), DUE, contributions=()), TABLE)
    assert priced.surcharges == ()
    assert priced.total_premium == D("260.00")


def test_cat_nat_forced_on_a_liability_line_applies_the_property_rate() -> None:
    cover = CoverPricing("x", "X", "other", D("100.00"), cat_nat=True)
    priced = price_contract(ContractPricing((cover,), DUE, contributions=()), TABLE)
    assert [(s.key, s.amount) for s in priced.surcharges] == [("property", D("20.00"))]


def test_a_rate_contribution_is_based_on_the_net_of_its_lines_only() -> None:
    contract = ContractPricing(
        (
            CoverPricing("rc", "RC", "motor_rc", D("250.00")),
            CoverPricing("pj", "PJ", "legal_protection", D("20.00")),
        ),
        DUE,
    )
    fgao = price_contract(contract, TABLE).contributions[0]
    assert (fgao.name, fgao.base, fgao.rate, fgao.amount) == (
        "fgao",
        D("250.00"),
        D("0.012"),
        D("3.00"),
    )


def test_the_explanation_ends_with_the_total_and_its_terms() -> None:
    last = price_contract(home(), TABLE).explanation[-1]
    assert last.step == "total premium"
    assert last.amount == D("351.20")
    assert "net 230.00" in last.formula


def test_a_contract_without_covers_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        price_contract(ContractPricing((), DUE), TABLE)
    assert error.value.field == "covers"
