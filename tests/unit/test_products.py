"""Products as data: the catalogue, risk validation, tariffs and quotes of the demo products."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polis.kernel.errors import InvalidInput, NotFound
from polis.policies import (
    LifeCoverSpec,
    LifePricerMissing,
    Product,
    ProductFileError,
    Quote,
    RiskValue,
    default_catalogue,
    load_catalogue,
    parse_product,
    quote_risk,
)
from polis.rating import period_prorata

D = Decimal
CATALOGUE = default_catalogue()
FOLDER = Path(__file__).resolve().parents[2] / "src" / "polis" / "policies" / "catalogue"
HOME_TEXT = (FOLDER / "home.toml").read_text(encoding="utf-8")
DAY = date(2025, 9, 1)

#: published versions are immutable: a change of terms is a new version in a new file
PUBLISHED = {
    ("delivery-rounds-weekend", "2025.1"): (
        "adeba129085183cb2bb0a9aee1da05d12f94f53e44b5e22e2084a80b7cc1c832"
    ),
    ("event-liability-day", "2025.1"): (
        "a7e227cad359024ea204a266295da453d6c9cca3e9f176cd3b60544d18f3ae43"
    ),
    ("warehouse-goods-day", "2025.1"): (
        "86ccadae2ac9877eb1f5f72937515e6ffb0e607a3df0336c19da5ade6319ce18"
    ),
    ("motor-private", "2025.1"): (
        "915d7a75ee06fde5f22d84411a5681a7e16ace9f3e02270a97ecc8a83ce20b9b"
    ),
    (
        "equipment-micro",
        "2025.1",
    ): "4a797522c0dcc6e42d1c7e8ac1966d57063525d21b0a9eca18e1baec12e5e7e0",
    ("equipment-topup", "2026.1"): (
        "fd4fc5460d5952a5e383ca4f7fc0af8651b360ff73b8350f163b8194f29199fe"
    ),
    ("home", "2025.1"): "a2fa884f23f1f15dc869cf8f42ab58378a6d760b977a89dea7fdd10412c9c80a",
    ("professional-liability", "2025.1"): (
        "1804159f795158037a9c38f85400eb4ec360acfa75e226fe6804c2445b6da300"
    ),
    (
        "stock-floating",
        "2025.1",
    ): "85731d838d2cfde58221e93d1bb4cc18a75c96f9aba5c58648c86ac2f524e350",
    ("term-life-10", "2025.1"): "17910dee791616352f52dcf8d30308d8cd9e5bcf4e4e488582527c91bcaefd10",
}


def product(product_id: str) -> Product:
    return CATALOGUE.get(product_id).product


def quote(product_id: str, risk: dict[str, Any], as_of: date = DAY, **kwargs: Any) -> Quote:
    return quote_risk(product(product_id), risk, as_of=as_of, **kwargs)


def risk_error(product_id: str, risk: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        quote(product_id, risk)
    return error.value


HOME = {"dwelling": "apartment", "zone": "A", "rebuild_value": "100000", "contents_value": "20000"}


# ----------------------------------------------------------------------------------- catalogue


def test_the_catalogue_holds_the_demo_products() -> None:
    assert CATALOGUE.ids() == [
        "delivery-rounds-weekend",
        "equipment-micro",
        "equipment-topup",
        "event-liability-day",
        "home",
        "motor-private",
        "professional-liability",
        "stock-floating",
        "term-life-10",
        "warehouse-goods-day",
    ]


def test_a_published_version_keeps_its_hash() -> None:
    found = {(e.product.id, e.product.version): e.sha256 for e in CATALOGUE.entries()}
    assert found == PUBLISHED, "a published product changed: publish a new version instead"


def test_the_hash_ignores_comments_and_layout_but_not_terms() -> None:
    original = parse_product(HOME_TEXT, "home.toml").sha256
    commented = "# a new comment\n" + HOME_TEXT.replace('rate = "0.00062"', 'rate   =   "0.00062"')
    assert parse_product(commented, "home.toml").sha256 == original
    changed = HOME_TEXT.replace('rate = "0.00062"', 'rate = "0.00063"')
    assert parse_product(changed, "home.toml").sha256 != original


def test_the_latest_version_valid_on_the_date_is_chosen(tmp_path: Path) -> None:
    (tmp_path / "home-1.toml").write_text(HOME_TEXT, encoding="utf-8")
    newer = HOME_TEXT.replace('version = "2025.1"', 'version = "2026.1"').replace(
        "valid_from = 2024-01-01", "valid_from = 2026-01-01"
    )
    (tmp_path / "home-2.toml").write_text(newer, encoding="utf-8")
    catalogue = load_catalogue(tmp_path)
    assert catalogue.get("home", as_of=date(2025, 12, 31)).product.version == "2025.1"
    assert catalogue.get("home", as_of=date(2026, 1, 1)).product.version == "2026.1"
    assert catalogue.get("home", "2025.1").product.version == "2025.1"


def test_the_same_version_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(HOME_TEXT, encoding="utf-8")
    (tmp_path / "b.toml").write_text(HOME_TEXT, encoding="utf-8")
    with pytest.raises(ProductFileError, match="already defined"):
        load_catalogue(tmp_path)


def test_an_unknown_product_is_not_found_and_the_message_lists_the_products() -> None:
    with pytest.raises(NotFound) as error:
        CATALOGUE.get("car")
    assert error.value.code == "product.not_found"
    assert error.value.field == "product"
    assert "home" in error.value.message


def test_an_unknown_version_is_not_found_naming_the_version() -> None:
    with pytest.raises(NotFound) as error:
        CATALOGUE.get("home", "1999.1")
    assert error.value.field == "version"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('rate = "0.00062"', "rate = 0.00062", "strings"),
        ('field = "zone"', 'field = "zones"', "no risk field 'zones'"),
        ('A = "0.90", B = "1.00", C = "1.25" }', 'A = "0.90", B = "1.00" }', "no factor for ['C']"),
        ('line = "liability"', 'line = "liabilities"', "not among lines"),
        ('lines = ["fire_private"', 'lines = ["fire_privee", "fire_private"', "tax table"),
        ('insurer = "company"', 'insurer = "mutual"', "mutual"),
        ('valuation = "market"', 'valuation = "retail"', "valuation"),
    ],
)
def test_a_malformed_product_file_is_refused_with_the_path_of_the_problem(
    old: str, new: str, message: str
) -> None:
    assert old in HOME_TEXT
    with pytest.raises(ProductFileError) as error:
        parse_product(HOME_TEXT.replace(old, new, 1), "home.toml")
    assert message in error.value.message
    assert error.value.message.startswith("home.toml")


# ---------------------------------------------------------------------------------------- risk


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"dwelling": None}, "risk.dwelling", "required"),
        ({"colour": "red"}, "risk.colour", "declared fields"),
        ({"rebuild_value": "10"}, "risk.rebuild_value", "minimum"),
        ({"zone": "D"}, "risk.zone", "allowed values: A, B, C"),
        ({"theft_option": "yes"}, "risk.theft_option", "true or false"),
        ({"occupants": "two"}, "risk.occupants", "whole number"),
        ({"contents_value": [1]}, "risk.contents_value", "decimal"),
    ],
)
def test_a_bad_risk_field_is_refused_naming_it(
    change: dict[str, Any], field: str, words: str
) -> None:
    risk = {k: v for k, v in (HOME | change).items() if v is not None}
    error = risk_error("home", risk)
    assert (error.field, words in error.message) == (field, True)


def test_a_bad_declaration_is_refused_naming_its_index() -> None:
    error = risk_error("stock-floating", {"declarations": ["100", "-1"]})
    assert error.field == "risk.declarations[1]"


def test_a_risk_must_be_an_object() -> None:
    assert risk_error("home", ["not", "an", "object"]).field == "risk"  # type: ignore[arg-type]


def test_defaults_are_applied_and_shown_in_the_resolved_risk() -> None:
    resolved = quote("home", HOME).risk
    assert resolved["occupants"] == 2
    assert resolved["valuation"] == "replacement_new"
    assert resolved["theft_option"] is False


def test_a_quote_outside_the_product_validity_is_refused_naming_the_date() -> None:
    with pytest.raises(InvalidInput) as error:
        quote("home", HOME, as_of=date(2023, 12, 31))
    assert error.value.field == "as_of"


# ---------------------------------------------------------------------------------------- home


def test_a_home_quote_by_hand() -> None:
    q = quote("home", HOME)
    # building 100,000 × 0.00062 × zone A 0.90 × apartment 0.85 = 47.43
    # contents 20,000 × 0.0015 × 0.90 = 27.00; liability 24 × 1.00 = 24.00
    assert [t.pure for t in q.tariffs] == [D("47.43"), D("27.00"), D("24.00")]
    # nets: (47.43 + 9.49) / 0.83 = 68.58; (27 + 5.40) / 0.83 = 39.04; (24 + 4.80) / 0.83 = 34.70
    assert [c.net for c in q.priced.covers] == [D("68.58"), D("39.04"), D("34.70")]
    # cat-nat 20%: 13.72, 7.81; TSCA 30% on (net + cat-nat): 24.69, 14.06; liability 9%: 3.12;
    # fees 12.00 taxed 30%: 3.60; FGTI 6.50 → 142.32 + 21.53 + 45.47 + 6.50 + 12.00 = 227.82
    assert [(t.cover, t.rate, t.amount) for t in q.priced.taxes] == [
        ("building", D("0.30"), D("24.69")),
        ("contents", D("0.30"), D("14.06")),
        ("liability", D("0.09"), D("3.12")),
        (None, D("0.30"), D("3.60")),
    ]
    assert q.total_premium == D("227.82")


def test_the_options_add_theft_at_9_percent_and_legal_protection_at_13_4_percent() -> None:
    q = quote("home", HOME | {"theft_option": True, "legal_protection_option": True})
    rates = {t.cover: t.rate for t in q.priced.taxes}
    assert rates["theft"] == D("0.09")
    assert rates["legal_protection"] == D("0.134")
    assert "legal_protection" not in {s.cover for s in q.priced.surcharges}


def test_use_value_lowers_the_building_premium_by_its_depreciation() -> None:
    risk = HOME | {"dwelling": "house", "zone": "B", "rebuild_value": "300000", "building_age": 20}
    new = quote("home", risk).tariffs[0]
    used = quote("home", risk | {"valuation": "use_value"}).tariffs[0]
    # 300,000 × 0.00062 × 1.10 = 204.60; age 20 → 20 % → 240,000 × 0.00062 × 1.10 = 163.68
    assert (new.pure, used.pure) == (D("204.60"), D("163.68"))
    assert used.basis is not None
    assert used.basis.amount == D(240_000)


def test_the_building_minimum_charge_applies_to_a_small_building() -> None:
    q = quote("home", HOME | {"rebuild_value": "20000"})
    # 20,000 × 0.00062 × 0.90 × 0.85 = 9.49 < 40.00
    assert q.tariffs[0].pure == D("40.00")


def test_the_cat_nat_surcharge_switches_from_12_to_20_percent_on_1_january_2025() -> None:
    def rate(day: date) -> Decimal:
        return quote("home", HOME, as_of=day).priced.surcharges[0].rate

    assert (rate(date(2024, 12, 31)), rate(date(2025, 1, 1))) == (D("0.12"), D("0.20"))


def test_the_fgti_contribution_switches_on_1_july_2024() -> None:
    def fgti(day: date) -> Decimal:
        return quote("home", HOME, as_of=day).priced.contributions[0].amount

    assert (fgti(date(2024, 6, 30)), fgti(date(2024, 7, 1))) == (D("5.90"), D("6.50"))


def test_tax_overrides_reach_the_quote() -> None:
    q = quote("home", HOME, tax_overrides={"cat_nat_taxed": False})
    assert q.priced.taxes[0].base == q.priced.covers[0].net


# ------------------------------------------------------------------------------ other products


def test_a_stock_floating_policy_rates_the_mean_of_the_declarations_and_regularises() -> None:
    risk = {
        "declarations": ["2800000", "3200000", "3000000", "3500000"],
        "provisional_premium_paid": "16000",
    }
    q = quote("stock-floating", risk, as_of=date(2025, 7, 1))
    # seed 002: mean 3,125,000 × 0.4 % = 12,500; net (12,500 + 1,875) / 0.86 = 16,715.12
    assert (q.pure_premium, q.net_premium) == (D("12500.00"), D("16715.12"))
    assert q.regularisation is not None
    assert q.regularisation.amount == D("715.12")
    assert q.priced.taxes[0].rate == D("0.12")  # professional fire from 2025-07-01


def test_professional_fire_stock_due_30_june_2025_is_still_taxed_7_percent() -> None:
    q = quote("stock-floating", {"declarations": ["1000000"]}, as_of=date(2025, 6, 30))
    assert q.priced.taxes[0].rate == D("0.07")
    assert q.regularisation is None


def test_professional_liability_of_a_mutual_on_8_million_turnover() -> None:
    risk = {"turnover": "8000000", "activity": "retail", "claim_free_years": 3}
    q = quote("professional-liability", risk)
    # 8,000,000 × 0.0012 × retail 1.00 × 3 claim-free years 0.90 = 8,640.00
    # net (8,640 + 1,555.20) / 0.90 = 11,328.00; TSCA 9 % = 1,019.52; fee 10 + 0.90 tax
    assert q.pure_premium == D("8640.00")
    assert q.net_premium == D("11328.00")
    assert q.total_premium == D("12358.42")
    assert all(line.type.value != "profit" for _, line in q.priced.loadings)


def test_professional_liability_has_a_minimum_premium() -> None:
    q = quote("professional-liability", {"turnover": "50000", "activity": "consulting"})
    # 50,000 × 0.0012 × 0.80 × 1.10 = 52.80 < 150
    assert q.pure_premium == D("150.00")


def test_a_life_cover_without_a_life_pricer_is_a_clear_error() -> None:
    with pytest.raises(LifePricerMissing) as error:
        quote("term-life-10", {"age": 40, "sex": "male", "sum_assured": "100000"})
    assert "life_pricer" in error.value.message


def test_a_life_cover_takes_its_pure_premium_from_the_life_pricer_and_is_exempt() -> None:
    seen: list[LifeCoverSpec] = []

    def pricer(spec: LifeCoverSpec, risk: Mapping[str, RiskValue]) -> Decimal:
        seen.append(spec)
        return D("123.456")

    q = quote(
        "term-life-10", {"age": 40, "sex": "female", "sum_assured": "100000"}, life_pricer=pricer
    )
    assert seen[0].as_request() == {
        "table": "TF00-02",
        "age": 40,
        "sum_assured": "100000",
        "interest_rate": "0.015",
        "cover": "term",
        "premium": "level_annual",
        "timing": "end_of_year",
        "term_years": 10,
    }
    # pure 123.46; net (123.46 + 12.35) / 0.92 = 147.62; life exempt: total 147.62
    assert q.pure_premium == D("123.46")
    assert q.priced.taxes[0].amount == D("0.00")
    assert q.total_premium == D("147.62")


def test_an_hour_of_equipment_cover_costs_the_minimum_charge() -> None:
    risk = {"equipment": "camera", "value": "800", "unit": "hour", "quantity": 3}
    q = quote("equipment-micro", risk)
    # 3 × 0.35 × camera 1.30 × value ≤ 1,000 1.00 = 1.365 < 1.50; FGTI 6.50 × 3/8760 → 0.00
    assert q.tariffs[0].pure == D("1.50")
    assert q.priced.contributions[0].amount == D("0.00")


def test_two_days_of_equipment_cover_by_hand() -> None:
    risk = {"equipment": "camera", "value": "800", "unit": "day", "quantity": 2}
    q = quote("equipment-micro", risk)
    # pure 2 × 2.20 × 1.30 = 5.72; net (5.72 + 1.72) / 0.80 = 9.30; cat-nat 1.86;
    # TSCA (9.30 + 1.86) × 9 % = 1.00; fee 0.50 + tax 0.05; FGTI 6.50 × 2/365 = 0.04 → 12.75
    assert q.tariffs[0].time is None
    assert q.total_premium == D("12.75")


def test_the_tariff_keeps_every_intermediate_value_before_the_single_rounding() -> None:
    tariff = quote("home", HOME).tariffs[0]
    assert tariff.base == D("62.00000")  # 100,000 × 0.00062
    assert [(f.name, f.key, f.factor) for f in tariff.factors] == [
        ("zone", "A", D("0.90")),
        ("dwelling", "apartment", D("0.85")),
    ]
    assert tariff.exact == D("47.43")  # 62 × 0.90 × 0.85 × 1
    assert tariff.time == period_prorata(DAY, date(2026, 9, 1))


def test_the_quote_explanation_names_the_product_and_ends_with_the_total() -> None:
    q = quote("home", HOME)
    assert q.explanation[0].step == "product"
    assert q.explanation[-1].amount == q.total_premium
