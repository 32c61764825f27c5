"""Bases: the four valuations, exposure indicators and declarations (premium.md §1, seed 002)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polis.kernel.errors import InvalidInput
from polis.rating import (
    AgeBand,
    DeclarationsBasis,
    ExposureBasis,
    ExposureUnit,
    InsuredValueBasis,
    Statistic,
    Valuation,
    basis_value,
    declared_value,
    depreciation_for_age,
    insured_value,
    regularisation,
)

D = Decimal
SCHEDULE = (AgeBand(D(5), D(0)), AgeBand(D(15), D("0.10")), AgeBand(D(30), D("0.20")))


def test_use_value_with_20_percent_depreciation_brings_1_2_million_down_to_960_000() -> None:
    # seed 002: atelier 1,200,000 € à neuf; vétusté 20 % → 1,200,000 × 0.80 = 960,000
    value = insured_value(InsuredValueBasis(D(1_200_000), Valuation.USE_VALUE, D("0.20")))
    assert value.amount == D(960_000)
    assert "valeur d'usage" in value.explanation[0].formula


@pytest.mark.parametrize(
    "valuation", [Valuation.REPLACEMENT_NEW, Valuation.MARKET, Valuation.AGREED]
)
def test_replacement_new_market_and_agreed_values_are_taken_as_given(valuation: Valuation) -> None:
    assert insured_value(InsuredValueBasis(D(250_000), valuation)).amount == D(250_000)


def test_depreciation_is_refused_on_a_replacement_new_value() -> None:
    with pytest.raises(InvalidInput) as error:
        insured_value(InsuredValueBasis(D(100), Valuation.REPLACEMENT_NEW, D("0.1")))
    assert error.value.field == "basis.depreciation_rate"


def test_use_value_without_depreciation_says_what_is_missing() -> None:
    with pytest.raises(InvalidInput) as error:
        insured_value(InsuredValueBasis(D(100), Valuation.USE_VALUE))
    assert error.value.field == "basis.depreciation_rate"
    assert "schedule" in error.value.message


@pytest.mark.parametrize(
    ("age", "rate"),
    [(D(0), D(0)), (D(5), D(0)), (D("5.5"), D("0.10")), (D(15), D("0.10")), (D(30), D("0.20"))],
)
def test_an_age_schedule_gives_the_rate_of_the_first_band_reaching_the_age(
    age: Decimal, rate: Decimal
) -> None:
    assert depreciation_for_age(age, SCHEDULE) == rate


def test_beyond_the_last_band_the_schedule_caps_at_its_last_rate() -> None:
    assert depreciation_for_age(D(80), SCHEDULE) == D("0.20")


def test_use_value_by_age_schedule_depreciates_a_twelve_year_old_building_by_10_percent() -> None:
    basis = InsuredValueBasis(D(300_000), Valuation.USE_VALUE, age_years=D(12), schedule=SCHEDULE)
    # 300,000 × (1 − 0.10) = 270,000
    assert insured_value(basis).amount == D(270_000)


def test_an_unsorted_schedule_is_refused_naming_the_band() -> None:
    bands = (AgeBand(D(10), D("0.1")), AgeBand(D(5), D("0.2")))
    with pytest.raises(InvalidInput) as error:
        depreciation_for_age(D(1), bands)
    assert error.value.field == "basis.depreciation_schedule[1]"


def test_a_negative_insured_value_is_refused_naming_the_amount() -> None:
    with pytest.raises(InvalidInput) as error:
        basis_value(InsuredValueBasis(D(-1)))
    assert error.value.field == "basis.amount"


def test_an_exposure_basis_is_the_indicator_itself() -> None:
    value = basis_value(ExposureBasis(D(8_000_000), ExposureUnit.TURNOVER))
    assert (value.amount, value.kind, value.label) == (D(8_000_000), "exposure", "turnover")


def test_the_mean_of_four_quarterly_stock_declarations_is_3_125_000() -> None:
    # seed 002: (2.8 + 3.2 + 3.0 + 3.5) M€ / 4 = 3.125 M€
    values = (D(2_800_000), D(3_200_000), D(3_000_000), D(3_500_000))
    assert declared_value(values, Statistic.MEAN) == D(3_125_000)
    assert declared_value(values, Statistic.MAX) == D(3_500_000)
    assert declared_value(values, Statistic.LAST) == D(3_500_000)


def test_declarations_need_at_least_one_value() -> None:
    with pytest.raises(InvalidInput) as error:
        basis_value(DeclarationsBasis(()))
    assert error.value.field == "basis.values"


def test_a_negative_declaration_is_refused_naming_its_index() -> None:
    with pytest.raises(InvalidInput) as error:
        declared_value((D(1), D(-2)), Statistic.MEAN)
    assert error.value.field == "basis.values[1]"


def test_regularisation_is_the_final_premium_less_the_provisional_premium_paid() -> None:
    basis = DeclarationsBasis((D(100),), Statistic.MEAN, provisional_premium_paid=D("12000.00"))
    result = regularisation(basis, D(100), D("12500.00"))
    assert result is not None
    assert result.amount == D("500.00")
    assert regularisation(DeclarationsBasis((D(1),)), D(1), D(5)) is None
