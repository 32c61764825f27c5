"""The dated tax table: rates switch on their dates, each line carries its legal reference."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from polis.kernel.errors import InvalidInput, ReferenceDataMissing
from polis.rating import (
    ContractPricing,
    CoverPricing,
    Fee,
    MotorCatNatBase,
    TaxTableError,
    load_tax_table,
    parse_tax_table,
    price_contract,
)

D = Decimal
TABLE = load_tax_table()
PACKAGED = Path(__file__).resolve().parents[2] / "src" / "polis" / "rating" / "data" / "taxes.toml"


def one_cover(line: str, pure: str, due: date) -> ContractPricing:
    cover = CoverPricing(line, line, line, D(pure), cat_nat=False)
    return ContractPricing((cover,), due, contributions=())


@pytest.mark.parametrize(
    ("line", "due", "rate", "tax"),
    [
        ("fire_private", date(2025, 9, 1), "0.30", "TSCA"),
        ("fire_professional", date(2025, 6, 30), "0.07", "TSCA"),
        ("fire_professional", date(2025, 7, 1), "0.12", "TSCA"),
        ("fire_liberal_profession", date(2025, 6, 30), "0.30", "TSCA"),
        ("fire_liberal_profession", date(2025, 7, 1), "0.12", "TSCA"),
        ("fire_agricultural", date(2025, 9, 1), "0.07", "TSCA"),
        ("motor_rc", date(2025, 9, 1), "0.33", "TSCA"),
        ("motor_rc_utility", date(2025, 9, 1), "0.15", "TSCA"),
        ("motor_optional", date(2025, 9, 1), "0.18", "TSCA"),
        ("legal_protection", date(2017, 1, 1), "0.134", "TSCA"),
        ("legal_protection_reduced", date(2025, 9, 1), "0.09", "TSCA"),
        ("pleasure_boats", date(2025, 9, 1), "0.19", "TSCA"),
        ("liability", date(2025, 9, 1), "0.09", "TSCA"),
        ("other", date(2025, 9, 1), "0.09", "TSCA"),
        ("life", date(2025, 9, 1), "0", "TSCA"),
        ("life_loan_death", date(2019, 1, 1), "0.09", "TSCA"),
        ("export_credit", date(2025, 9, 1), "0", "TSCA"),
        ("credit_domestic", date(2025, 9, 1), "0.09", "TSCA"),
        ("health_responsible", date(2025, 9, 1), "0.1327", "TSA"),
        ("health_non_responsible", date(2025, 9, 1), "0.2027", "TSA"),
    ],
)
def test_the_table_gives_each_line_its_rate_on_the_due_date(
    line: str, due: date, rate: str, tax: str
) -> None:
    found = TABLE.tax(line, due)
    assert found.value == D(rate)
    assert found.reference
    assert TABLE.line(line).tax == tax


def test_a_net_premium_of_130_taxed_at_30_percent_costs_169() -> None:
    # seed 002: 130 + 130 × 0.30 = 169
    priced = price_contract(one_cover("fire_private", "130.00", date(2025, 9, 1)), TABLE)
    assert priced.taxes[0].amount == D("39.00")
    assert priced.total_premium == D("169.00")


def test_professional_fire_due_30_june_2025_is_taxed_7_percent_and_due_1_july_12_percent() -> None:
    before = price_contract(one_cover("fire_professional", "1000.00", date(2025, 6, 30)), TABLE)
    after = price_contract(one_cover("fire_professional", "1000.00", date(2025, 7, 1)), TABLE)
    assert (before.taxes[0].rate, before.total_premium) == (D("0.07"), D("1070.00"))
    assert (after.taxes[0].rate, after.total_premium) == (D("0.12"), D("1120.00"))
    assert "LF 2025" in after.taxes[0].reference


def test_the_fgti_contribution_is_5_90_until_30_june_2024_and_6_50_from_1_july_2024() -> None:
    def fgti(due: date) -> Decimal:
        cover = CoverPricing("c", "c", "fire_private", D(100), cat_nat=False)
        priced = price_contract(ContractPricing((cover,), due, contributions=("fgti",)), TABLE)
        return priced.contributions[0].amount

    assert fgti(date(2024, 6, 30)) == D("5.90")
    assert fgti(date(2024, 7, 1)) == D("6.50")


def test_the_property_cat_nat_surcharge_is_12_percent_in_2024_and_20_percent_from_2025() -> None:
    def surcharge(due: date) -> tuple[Decimal, Decimal]:
        cover = CoverPricing("home", "home", "fire_private", D("100.00"))
        priced = price_contract(ContractPricing((cover,), due, contributions=()), TABLE)
        return priced.surcharges[0].amount, priced.total_premium

    # 100 + 12 + (100 + 12) × 0.30 = 145.60 ; 100 + 20 + 120 × 0.30 = 156.00
    assert surcharge(date(2024, 12, 31)) == (D("12.00"), D("145.60"))
    assert surcharge(date(2025, 1, 1)) == (D("20.00"), D("156.00"))


def test_the_cat_nat_surcharge_is_taxed_and_the_explanation_says_so() -> None:
    cover = CoverPricing("home", "home", "fire_private", D("100.00"))
    priced = price_contract(ContractPricing((cover,), date(2025, 9, 1), contributions=()), TABLE)
    assert priced.surcharges[0].taxed
    assert priced.taxes[0].base == D("120.00")
    step = next(e for e in priced.explanation if e.step.startswith("natural-catastrophe"))
    assert "TSCA applies to it" in step.formula


def test_with_cat_nat_untaxed_the_tax_base_is_the_net_premium_only() -> None:
    table = TABLE.with_overrides({"cat_nat_taxed": False})
    cover = CoverPricing("home", "home", "fire_private", D("100.00"))
    priced = price_contract(ContractPricing((cover,), date(2025, 9, 1), contributions=()), table)
    assert priced.taxes[0].base == D("100.00")
    assert any("no TSCA on it" in e.formula for e in priced.explanation)


def motor(due: date, *, theft_fire: bool) -> ContractPricing:
    covers = [
        CoverPricing("rc", "RC", "motor_rc", D("300.00")),
        CoverPricing("damage", "Damage", "motor_optional", D("200.00")),
    ]
    if theft_fire:
        covers.append(
            CoverPricing(
                "theft_fire",
                "Theft and fire",
                "motor_optional",
                D("50.00"),
                motor_cat_nat_base=MotorCatNatBase.THEFT_FIRE,
            )
        )
    return ContractPricing(tuple(covers), due)


def test_a_motor_contract_is_taxed_cover_by_cover_with_cat_nat_on_theft_and_fire() -> None:
    priced = price_contract(motor(date(2025, 3, 1), theft_fire=True), TABLE)
    # cat-nat 9% of theft+fire 50 = 4.50 (none on damage); RC 300 × 33% = 99.00;
    # damage 200 × 18% = 36.00; theft+fire (50 + 4.50) × 18% = 9.81;
    # FGAO 300 × 1.2% = 3.60; FGTI 6.50 → total 550 + 4.50 + 144.81 + 10.10 = 709.41
    assert [(s.cover, s.amount) for s in priced.surcharges] == [("theft_fire", D("4.50"))]
    assert [t.amount for t in priced.taxes] == [D("99.00"), D("36.00"), D("9.81")]
    assert [(c.name, c.amount) for c in priced.contributions] == [
        ("fgao", D("3.60")),
        ("fgti", D("6.50")),
    ]
    assert priced.total_premium == D("709.41")


def test_motor_cat_nat_was_6_percent_of_theft_and_fire_in_2024() -> None:
    priced = price_contract(motor(date(2024, 12, 31), theft_fire=True), TABLE)
    assert priced.surcharges[0].amount == D("3.00")  # 50 × 0.06


def test_without_theft_or_fire_cover_motor_cat_nat_is_half_a_percent_of_damage() -> None:
    priced = price_contract(motor(date(2025, 3, 1), theft_fire=False), TABLE)
    assert [(s.cover, s.key, s.amount) for s in priced.surcharges] == [
        ("damage", "motor_damage", D("1.00"))
    ]
    assert priced.taxes[1].amount == D("36.18")  # (200 + 1) × 0.18


def test_life_is_exempt_and_its_tax_line_shows_the_exemption() -> None:
    priced = price_contract(one_cover("life", "500.00", date(2025, 9, 1)), TABLE)
    assert priced.taxes[0].amount == D("0.00")
    assert "995" in priced.taxes[0].reference
    assert priced.total_premium == D("500.00")


def test_a_due_date_no_row_covers_is_a_missing_table_naming_the_due_date() -> None:
    with pytest.raises(ReferenceDataMissing) as error:
        price_contract(one_cover("fire_private", "100", date(2015, 12, 31)), TABLE)
    assert error.value.field == "due_date"
    assert "missing table" in error.value.message


def test_loan_death_cover_has_no_rate_before_2019() -> None:
    with pytest.raises(ReferenceDataMissing):
        TABLE.tax("life_loan_death", date(2018, 12, 31))


def test_an_unknown_line_is_refused_listing_the_known_lines() -> None:
    with pytest.raises(InvalidInput) as error:
        price_contract(one_cover("fire_privat", "100", date(2025, 9, 1)), TABLE)
    assert error.value.field == "covers[0].line"
    assert "fire_private" in error.value.message


def test_an_override_replaces_one_rate_at_every_date_and_says_so() -> None:
    table = TABLE.with_overrides({"tax.credit_domestic": D("0.07")})
    found = table.tax("credit_domestic", date(2030, 1, 1))
    assert found.value == D("0.07")
    assert "override" in found.reference
    assert TABLE.tax("credit_domestic", date(2025, 1, 1)).value == D("0.09")


def test_an_override_of_the_fgti_amount_changes_the_contribution() -> None:
    assert TABLE.with_overrides({"contribution.fgti": D("7.00")}).contribution(
        "fgti", date(2025, 1, 1)
    ).value == D("7.00")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tax.nope": D("0.1")}, "tax_overrides.tax.nope"),
        ({"tax.life": D("1.5")}, "tax_overrides.tax.life"),
        ({"surcharge.property": True}, "tax_overrides.surcharge.property"),
        ({"cat_nat_taxed": D(1)}, "tax_overrides.cat_nat_taxed"),
    ],
)
def test_a_bad_override_is_refused_naming_its_key(
    overrides: dict[str, Decimal | bool], field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        TABLE.with_overrides(overrides)
    assert error.value.field == field


def test_fees_are_taxed_at_the_rate_of_the_fee_line_and_untaxed_fees_are_not() -> None:
    contract = ContractPricing(
        (CoverPricing("c", "c", "liability", D("100.00")),),
        date(2025, 9, 1),
        fees=(Fee("policy_fee", D(12)), Fee("stamp", D(2), taxable=False)),
        contributions=(),
        fee_line="fire_private",
    )
    priced = price_contract(contract, TABLE)
    # liability 100 × 9% = 9.00; fees 12 × 30% = 3.60; total 100 + 9 + 3.60 + 12 + 2 = 126.60
    assert [(t.cover, t.amount) for t in priced.taxes] == [("c", D("9.00")), (None, D("3.60"))]
    assert priced.total_premium == D("126.60")


def test_a_replacement_table_file_given_by_the_caller_is_used(tmp_path: Path) -> None:
    text = PACKAGED.read_text(encoding="utf-8").replace('rate = "0.30"', 'rate = "0.25"')
    path = tmp_path / "taxes.toml"
    path.write_text(text, encoding="utf-8")
    assert load_tax_table(path).tax("fire_private", date(2025, 1, 1)).value == D("0.25")


def test_a_missing_or_broken_table_file_is_refused_naming_the_option(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as error:
        load_tax_table(tmp_path / "nope.toml")
    assert error.value.field == "tax_table"
    broken = tmp_path / "broken.toml"
    broken.write_text(PACKAGED.read_text(encoding="utf-8").replace('"0.30"', "0.30"))
    with pytest.raises(InvalidInput, match="strings"):
        load_tax_table(broken)


def test_rows_out_of_date_order_are_refused() -> None:
    data = tomllib.loads(PACKAGED.read_text(encoding="utf-8"))
    rows = data["lines"]["fire_professional"]["rates"]
    data["lines"]["fire_professional"]["rates"] = list(reversed(rows))
    with pytest.raises(TaxTableError, match="increasing date order"):
        parse_tax_table(data)


def test_every_row_of_the_packaged_table_carries_a_reference() -> None:
    rows = [
        *(row for rule in TABLE.lines.values() for row in rule.rows),
        *(row for rule in TABLE.surcharges.values() for row in rule.rows),
        *(row for rule in TABLE.contributions.values() for row in rule.rows),
    ]
    assert len(rows) > 25
    assert all(row.reference.strip() for row in rows)
