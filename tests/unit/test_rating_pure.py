"""Pure premium: the seed's worked examples, prorata temporis, seasonality and short units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from polis.kernel.errors import InvalidInput
from polis.rating import (
    FrequencySeverity,
    PerUnit,
    PureAmount,
    SeasonalityProfile,
    TechnicalRate,
    Unit,
    period_prorata,
    portfolio_experience,
    pure_premium,
    seasonal_weight,
    technical_rate_of,
    unit_fraction_of_year,
)

D = Decimal
SUMMER = SeasonalityProfile(
    (D(0), D(0), D(0), D(0), D(0), D(0), D("0.5"), D("0.5"), D(0), D(0), D(0), D(0))
)


def test_ten_fires_in_ten_thousand_houses_with_900_000_paid_cost_90_per_house() -> None:
    # seed 002: frequency 10 / 10,000 = 0.001; mean cost 900,000 / 10 = 90,000; 0.001 × 90,000 = 90
    experience = portfolio_experience(10, D(10_000), D(900_000))
    assert experience.frequency == D("0.001")
    assert experience.mean_cost == D(90_000)
    assert experience.unit_pure_premium == D(90)


def test_90_euros_on_a_100_000_euro_house_is_a_technical_rate_of_0_9_per_mille() -> None:
    rate = technical_rate_of(D(90), D(100_000))
    assert rate == D("0.0009")
    assert pure_premium(TechnicalRate(rate), basis=D(100_000)).amount == D("90.00")


def test_frequency_times_mean_cost_gives_the_pure_premium_per_unit_of_exposure() -> None:
    # 0.001 × 90,000 × 1 house = 90.00; seed's death cover: 0.002 × 100,000 = 200.00
    assert pure_premium(FrequencySeverity(D("0.001"), D(90_000))).amount == D("90.00")
    assert pure_premium(FrequencySeverity(D("0.002"), D(100_000))).amount == D("200.00")
    assert pure_premium(FrequencySeverity(D("0.02"), D(50_000), D(3))).amount == D("3000.00")


def test_1_2_million_at_0_75_per_mille_is_900_and_at_use_value_minus_20_percent_is_720() -> None:
    # seed 002: 1,200,000 × 0.00075 = 900; 960,000 × 0.00075 = 720
    assert pure_premium(TechnicalRate(D("0.00075")), basis=D(1_200_000)).amount == D("900.00")
    assert pure_premium(TechnicalRate(D("0.00075")), basis=D(960_000)).amount == D("720.00")


def test_liability_at_0_12_percent_of_8_million_turnover_is_9_600() -> None:
    assert pure_premium(TechnicalRate(D("0.0012")), basis=D(8_000_000)).amount == D("9600.00")


def test_a_technical_rate_without_a_basis_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        pure_premium(TechnicalRate(D("0.001")))
    assert error.value.field == "basis"


def test_a_negative_pure_amount_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        pure_premium(PureAmount(D(-5)))
    assert error.value.field == "pure.amount"


def test_the_pure_premium_is_rounded_half_up_to_the_cent_once() -> None:
    # 0.00005 × 2,500 = 0.125 → 0.13 (half-up, not banker's 0.12)
    assert pure_premium(TechnicalRate(D("0.00005")), basis=D(2500)).amount == D("0.13")


def test_prorata_of_181_days_is_181_over_365() -> None:
    factor = period_prorata(date(2025, 1, 1), date(2025, 7, 1))
    assert factor.value == D(181) / D(365)
    assert factor.days == 181
    assert "Actual/365" in factor.formula


def test_a_full_year_across_29_february_is_exactly_one() -> None:
    assert period_prorata(date(2024, 1, 1), date(2025, 1, 1)).value == 1
    assert period_prorata(date(2024, 2, 29), date(2025, 2, 28)).value == 1


def test_eighteen_months_count_one_year_plus_the_remaining_days_over_365() -> None:
    # [2025-01-01, 2026-01-01) is 1; [2026-01-01, 2026-07-01) is 181 days → 1 + 181/365
    factor = period_prorata(date(2025, 1, 1), date(2026, 7, 1))
    assert factor.value == 1 + D(181) / D(365)


def test_a_period_ending_before_it_starts_is_refused_naming_the_end() -> None:
    with pytest.raises(InvalidInput) as error:
        period_prorata(date(2025, 7, 1), date(2025, 1, 1))
    assert error.value.field == "period.end"


def test_a_half_year_premium_is_the_annual_pure_premium_times_the_prorata() -> None:
    # 900 × 181/365 = 446.3013… → 446.30
    time = period_prorata(date(2025, 1, 1), date(2025, 7, 1))
    assert pure_premium(PureAmount(D(900)), time=time).amount == D("446.30")


def test_a_summer_risk_covered_in_july_only_weighs_half_a_year() -> None:
    assert seasonal_weight(date(2025, 7, 1), date(2025, 8, 1), SUMMER).value == D("0.5")


def test_a_summer_risk_covered_in_winter_weighs_nothing() -> None:
    assert seasonal_weight(date(2025, 1, 1), date(2025, 4, 1), SUMMER).value == 0


def test_half_of_july_weighs_its_share_of_the_month() -> None:
    # 0.5 × 16/31 (1–16 July)
    value = seasonal_weight(date(2025, 7, 1), date(2025, 7, 17), SUMMER).value
    assert value == D("0.5") * 16 / 31


def test_a_full_year_of_any_seasonal_profile_weighs_exactly_one() -> None:
    assert seasonal_weight(date(2025, 3, 15), date(2026, 3, 15), SUMMER).value == 1


def test_a_profile_whose_weights_do_not_sum_to_one_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        SeasonalityProfile(tuple(D("0.1") for _ in range(12)))
    assert error.value.field == "seasonality"
    with pytest.raises(InvalidInput):
        SeasonalityProfile((D(1),))


def test_three_hours_at_0_35_fall_under_the_minimum_charge_of_1_50() -> None:
    # 3 × 0.35 = 1.05 < 1.50 → 1.50
    result = pure_premium(PerUnit(D("0.35"), Unit.HOUR, D(3)), minimum=D("1.50"))
    assert result.amount == D("1.50")
    assert any(step.step == "minimum charge" for step in result.explanation)


def test_ten_hours_at_0_35_are_above_the_minimum() -> None:
    assert pure_premium(PerUnit(D("0.35"), Unit.HOUR, D(10)), minimum=D("1.50")).amount == D("3.50")


def test_a_per_day_premium_is_not_prorated_again() -> None:
    time = period_prorata(date(2025, 1, 1), date(2025, 1, 3))
    assert pure_premium(PerUnit(D("2.20"), Unit.DAY, D(2)), time=time).amount == D("4.40")


def test_an_act_is_priced_per_act() -> None:
    assert pure_premium(PerUnit(D("4.00"), Unit.ACT, D(3))).amount == D("12.00")


@pytest.mark.parametrize(
    ("unit", "quantity", "fraction"),
    [
        (Unit.DAY, D(73), D("0.2")),
        (Unit.HOUR, D(876), D("0.1")),
        (Unit.YEAR, D(1), D(1)),
        (Unit.ACT, D(5), D(1)),
    ],
)
def test_short_units_stand_for_their_share_of_a_year(
    unit: Unit, quantity: Decimal, fraction: Decimal
) -> None:
    assert unit_fraction_of_year(unit, quantity) == fraction
