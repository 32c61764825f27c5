"""Floating (reporting) stock policies: provisional premium, declarations, the three variants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from polis.kernel.errors import InvalidInput
from polis.kernel.time import add_months
from polis.rating.bases import Statistic
from polis.rating.floating import (
    FloatingPolicy,
    FloatingResult,
    FloatingVariant,
    compute_floating,
)
from polis.rating.floating_schedule import (
    Declaration,
    DeclarationFlagKind,
    DeclarationFrequency,
    DeclarationStatus,
    MissingDeclarationRule,
    PremiumCallKind,
    declaration_periods,
    provisional_instalments,
)

D = Decimal
REVISABLE, AJUSTABLE, COMPTE_COURANT = (
    FloatingVariant.REVISABLE,
    FloatingVariant.AJUSTABLE,
    FloatingVariant.COMPTE_COURANT,
)
START, END = date(2025, 1, 1), date(2026, 1, 1)
# twelve monthly stock values of 2025; Σ = 19,800,000, mean 1,650,000, max 1,900,000, last 1,700,000
VALUES = [1_400_000, 1_500_000, 1_600_000, 1_700_000, 1_800_000, 1_900_000]
VALUES += [1_600_000, 1_500_000, 1_700_000, 1_800_000, 1_600_000, 1_700_000]


def monthly(values: Sequence[int | None], start: date = START) -> tuple[Declaration, ...]:
    """Declarations for consecutive months from ``start``, received on the 5th of the next month;
    ``None`` leaves the month undeclared."""
    return tuple(
        Declaration(add_months(start, k), D(v), add_months(start, k + 1) + timedelta(days=4))
        for k, v in enumerate(values)
        if v is not None
    )


def policy(
    variant: FloatingVariant = REVISABLE, values: Sequence[int | None] | None = None, **options: Any
) -> FloatingPolicy:
    base = FloatingPolicy(
        variant=variant,
        start=START,
        end=END,
        rate=D("0.0012"),
        forecast_value=D(1_500_000),
        sum_insured=D(2_500_000),
        declarations=monthly(VALUES if values is None else values),
        grace_days=15,
    )
    return replace(base, **options)


def amounts(result: FloatingResult) -> list[tuple[date, PremiumCallKind, Decimal]]:
    return [(c.date, c.kind, c.amount) for c in result.calls]


# --- révisable --------------------------------------------------------------------------------


def test_revisable_provisional_premium_is_the_rate_on_the_forecast_called_at_the_start() -> None:
    result = compute_floating(policy())
    # 0.0012 × 1,500,000 = 1,800.00
    assert result.provisional_premium == D("1800.00")
    first = result.calls[0]
    assert (first.date, first.kind, first.amount) == (
        START,
        PremiumCallKind.PROVISIONAL,
        D("1800.00"),
    )


def test_revisable_is_revised_on_the_mean_of_twelve_monthly_declarations() -> None:
    result = compute_floating(policy())
    # mean 19,800,000 / 12 = 1,650,000; 0.0012 × 1,650,000 = 1,980.00; 1,980.00 − 1,800.00 = +180.00
    assert result.statistic == Statistic.MEAN
    assert result.statistic_value == 1_650_000
    assert result.final_premium == D("1980.00")
    assert result.regularisation == D("180.00")
    # the December declaration arrives on 2026-01-05: the account is closed that day
    assert amounts(result) == [
        (START, PremiumCallKind.PROVISIONAL, D("1800.00")),
        (date(2026, 1, 5), PremiumCallKind.REGULARISATION, D("180.00")),
    ]


def test_revisable_with_statistic_max_is_revised_on_the_highest_declaration() -> None:
    result = compute_floating(policy(statistic=Statistic.MAX))
    # 0.0012 × 1,900,000 = 2,280.00; 2,280.00 − 1,800.00 = 480.00
    assert (result.final_premium, result.regularisation) == (D("2280.00"), D("480.00"))


def test_revisable_with_statistic_last_is_revised_on_the_last_period() -> None:
    # 0.0012 × 1,700,000 (December) = 2,040.00
    assert compute_floating(policy(statistic=Statistic.LAST)).final_premium == D("2040.00")


def test_revisable_refunds_the_excess_when_stock_values_fall() -> None:
    result = compute_floating(policy(values=[1_200_000] * 12))
    # 0.0012 × 1,200,000 = 1,440.00; 1,440.00 − 1,800.00 = −360.00, a refund
    assert result.regularisation == D("-360.00")
    assert result.calls[-1].kind == PremiumCallKind.REFUND
    assert result.total_called == D("1440.00")


def test_the_seed_quarterly_example_gives_a_premium_of_12_500() -> None:
    declarations = tuple(
        Declaration(add_months(START, 3 * k), D(v), add_months(START, 3 * k + 3))
        for k, v in enumerate([2_800_000, 3_200_000, 3_000_000, 3_500_000])
    )
    result = compute_floating(
        policy(
            frequency=DeclarationFrequency.QUARTERLY,
            rate=D("0.004"),
            forecast_value=D(3_000_000),
            sum_insured=D(4_000_000),
            declarations=declarations,
        )
    )
    # mean (2.8 + 3.2 + 3.0 + 3.5) M / 4 = 3,125,000; 0.4 % × 3,125,000 = 12,500.00
    # provisional 0.4 % × 3,000,000 = 12,000.00, so the regularisation calls 500.00
    assert result.final_premium == D("12500.00")
    assert result.regularisation == D("500.00")


def test_ajustable_quarters_earn_in_proportion_to_their_days() -> None:
    declarations = tuple(
        Declaration(add_months(START, 3 * k), D(v), add_months(START, 3 * k + 3))
        for k, v in enumerate([2_800_000, 3_200_000, 3_000_000, 3_500_000])
    )
    result = compute_floating(
        policy(
            AJUSTABLE,
            frequency=DeclarationFrequency.QUARTERLY,
            rate=D("0.004"),
            forecast_value=D(3_000_000),
            sum_insured=D(4_000_000),
            declarations=declarations,
        )
    )
    # quarters of 90, 91, 92, 92 days: Σ v × d = 252 + 291.2 + 276 + 322 = 1,141.2 M value-days
    # 0.004 × 1,141,200,000 / 365 = 12,506.3013… → 12,506.30 (the plain mean gives 12,500.00)
    assert result.final_premium == D("12506.30")
    # deposit 12,000.00 lasts until the fourth quarter: 12,506.30 − 12,000.00 = 506.30 called then
    assert [c.amount for c in result.calls] == [
        D("12000.00"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
        D("506.30"),
        D("0.00"),
    ]


def test_the_provisional_premium_actually_paid_is_what_the_regularisation_deducts() -> None:
    result = compute_floating(policy(provisional_premium_paid=D("1750.00")))
    # 1,980.00 − 1,750.00 = 230.00
    assert result.calls[0].amount == D("1750.00")
    assert result.regularisation == D("230.00")


def test_four_instalments_split_the_provisional_premium_quarterly() -> None:
    result = compute_floating(policy(instalments=4))
    assert amounts(result)[:4] == [
        (date(2025, 1, 1), PremiumCallKind.INSTALMENT, D("450.00")),
        (date(2025, 4, 1), PremiumCallKind.INSTALMENT, D("450.00")),
        (date(2025, 7, 1), PremiumCallKind.INSTALMENT, D("450.00")),
        (date(2025, 10, 1), PremiumCallKind.INSTALMENT, D("450.00")),
    ]
    assert result.regularisation == D("180.00")


def test_twelve_instalments_lose_no_cent_and_give_the_extra_cents_to_the_first_ones() -> None:
    parts = provisional_instalments(D("100.00"), 12, START, END)
    # 10,000 cents / 12 = 833.33…: four instalments of 8.34 and eight of 8.33 = 100.00
    assert [a for _, a in parts] == [D("8.34")] * 4 + [D("8.33")] * 8
    assert [d for d, _ in parts] == [add_months(START, k) for k in range(12)]


def test_instalments_that_do_not_fit_in_a_short_period_are_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        compute_floating(policy(end=date(2025, 7, 1), values=VALUES[:6], instalments=2))
    assert error.value.field == "instalments"


# --- ajustable and compte courant ---------------------------------------------------------------


def test_ajustable_deposit_is_used_up_before_adjustments_are_called() -> None:
    result = compute_floating(policy(AJUSTABLE))
    # value × days, cumulated: Jan 43.4 M … Oct 501.7 M, Nov 549.7 M, Dec 602.4 M value-days
    # earned after Oct: 0.0012 × 501,700,000 / 365 = 1,649.42 ≤ deposit 1,800.00: nothing called
    # after Nov: 0.0012 × 549,700,000 / 365 = 1,807.2328… → 1,807.23: adjustment 7.23
    # after Dec: 0.0012 × 602,400,000 / 365 = 1,980.4931… → 1,980.49: adjustment 173.26
    called = [(c.date, c.amount) for c in result.calls if c.amount != 0]
    assert called == [
        (START, D("1800.00")),
        (date(2025, 12, 5), D("7.23")),
        (date(2026, 1, 5), D("173.26")),
    ]
    assert result.final_premium == D("1980.49")
    assert result.regularisation == D("0.00")
    october = result.calls[10]
    assert (october.earned_to_date, october.balance) == (D("1649.42"), D("150.58"))


def test_ajustable_refunds_the_unused_deposit_at_the_close() -> None:
    result = compute_floating(policy(AJUSTABLE, values=[1_000_000] * 12))
    # 0.0012 × 1,000,000 × 365 / 365 = 1,200.00 earned; 1,800.00 deposit: 600.00 refunded
    assert result.final_premium == D("1200.00")
    assert result.calls[-1].kind == PremiumCallKind.REFUND
    assert result.calls[-1].amount == D("-600.00")


def test_ajustable_deposit_can_be_a_share_of_the_provisional_premium() -> None:
    result = compute_floating(policy(AJUSTABLE, deposit_rate=D("0.25")))
    # 25 % × 1,800.00 = 450.00
    assert result.deposit == D("450.00")
    assert result.calls[0].amount == D("450.00")
    assert result.total_called == result.final_premium == D("1980.49")


def test_compte_courant_calls_each_declaration_for_the_premium_it_earns() -> None:
    result = compute_floating(policy(COMPTE_COURANT))
    # January: 0.0012 × 1,400,000 × 31 / 365 = 142.6849… → 142.68
    # to February: 0.0012 × 85,400,000 / 365 = 280.7671… → 280.77, so February calls 138.09
    assert amounts(result)[:2] == [
        (date(2025, 2, 5), PremiumCallKind.CALL, D("142.68")),
        (date(2025, 3, 5), PremiumCallKind.CALL, D("138.09")),
    ]
    assert [line.premium for line in result.periods][:2] == [D("142.68"), D("138.09")]
    assert result.total_called == result.final_premium == D("1980.49")
    assert all(c.balance == 0 for c in result.calls)


def test_compte_courant_minimum_premium_is_retained_at_the_close() -> None:
    result = compute_floating(policy(COMPTE_COURANT, values=[100_000] * 12, minimum_premium=D(500)))
    # 0.0012 × 100,000 = 120.00 called over the year; the closing call makes up 500.00 − 120.00
    assert result.computed_premium == D("120.00")
    assert result.minimum_applied
    assert result.final_premium == D("500.00")
    assert result.calls[-1].kind == PremiumCallKind.REGULARISATION
    assert result.calls[-1].amount == D("380.00")


def test_a_minimum_premium_below_the_premium_changes_nothing() -> None:
    result = compute_floating(policy(COMPTE_COURANT, minimum_premium=D(500)))
    assert not result.minimum_applied
    assert result.final_premium == D("1980.49")
    assert result.regularisation == D("0.00")


def test_compte_courant_is_an_ajustable_account_without_deposit() -> None:
    courant = compute_floating(policy(COMPTE_COURANT))
    ajustable = compute_floating(policy(AJUSTABLE, deposit_rate=D(0)))
    assert [(c.date, c.amount) for c in courant.calls] == [
        (c.date, c.amount) for c in ajustable.calls[1:]
    ]


# --- a year at the forecast value ---------------------------------------------------------------


@pytest.mark.parametrize("variant", list(FloatingVariant))
@pytest.mark.parametrize("year", [2025, 2024], ids=["365 days", "366 days"])
@pytest.mark.parametrize(
    "frequency",
    [DeclarationFrequency.MONTHLY, DeclarationFrequency.QUARTERLY, DeclarationFrequency.CUSTOM],
)
def test_a_year_declared_at_the_forecast_value_earns_exactly_the_provisional_premium(
    variant: FloatingVariant, year: int, frequency: DeclarationFrequency
) -> None:
    start = date(year, 1, 1)
    custom = (start, date(year, 2, 17), date(year, 3, 1), date(year, 9, 30))
    starts = custom if frequency == DeclarationFrequency.CUSTOM else ()
    periods = declaration_periods(start, date(year + 1, 1, 1), frequency, starts)
    declarations = tuple(Declaration(p.start, D(1_500_000), p.end) for p in periods)
    result = compute_floating(
        policy(
            variant,
            start=start,
            end=date(year + 1, 1, 1),
            frequency=frequency,
            period_starts=starts,
            declarations=declarations,
        )
    )
    # rounding each period's premium alone would drift: 7 × 152.88 + 4 × 147.95 + 138.08 = 1,800.04
    assert result.final_premium == result.provisional_premium == D("1800.00")
    assert result.total_called == D("1800.00")
    if variant == REVISABLE:
        assert result.regularisation == 0


@pytest.mark.parametrize(("year", "days"), [(2025, 365), (2024, 366)])
def test_shares_of_the_periods_sum_to_exactly_one(year: int, days: int) -> None:
    periods = declaration_periods(
        date(year, 1, 1), date(year + 1, 1, 1), DeclarationFrequency.MONTHLY
    )
    assert sum((p.share for p in periods), Fraction(0)) == 1
    february = periods[1]
    assert february.share == Fraction(28 if year == 2025 else 29, days)


def test_monthly_periods_from_the_31st_follow_the_month_ends() -> None:
    periods = declaration_periods(
        date(2025, 1, 31), date(2025, 5, 31), DeclarationFrequency.MONTHLY
    )
    assert [p.start for p in periods] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]


# --- missing, late, above the sum insured --------------------------------------------------------


def test_a_missing_month_carries_the_last_declared_value_forward() -> None:
    values: list[int | None] = [1_500_000] * 12
    values[1], values[2] = 1_800_000, None
    result = compute_floating(policy(values=values))
    march = result.periods[2].value
    assert (march.status, march.value) == (DeclarationStatus.MISSING, D(1_800_000))
    # the rule applies on the deadline: due 2025-04-01 + 15 grace days
    assert march.event_date == date(2025, 4, 16)
    (flag,) = result.flags
    assert (flag.kind, flag.rule, flag.value) == (
        DeclarationFlagKind.MISSING,
        MissingDeclarationRule.LAST_VALUE,
        D(1_800_000),
    )
    assert "carried forward" in flag.reason
    # mean (10 × 1.5 M + 2 × 1.8 M) / 12 = 1,550,000; × 0.0012 = 1,860.00
    assert result.final_premium == D("1860.00")


def test_a_missing_first_month_takes_the_forecast_value() -> None:
    result = compute_floating(policy(values=[None, *VALUES[1:]], forecast_value=D(1_000_000)))
    assert result.periods[0].value.value == D(1_000_000)
    assert "forecast" in result.flags[0].reason


def test_a_missing_month_is_charged_on_the_sum_insured_under_that_rule() -> None:
    values: list[int | None] = [1_500_000] * 11 + [None]
    result = compute_floating(
        policy(values=values, missing_rule=MissingDeclarationRule.SUM_INSURED)
    )
    # (11 × 1,500,000 + 2,500,000) / 12 × 0.0012 = 19,000,000 × 0.0001 = 1,900.00
    assert result.periods[11].value.value == D(2_500_000)
    assert result.final_premium == D("1900.00")


def test_a_missing_month_is_charged_on_the_sum_insured_with_a_penalty() -> None:
    values: list[int | None] = [1_500_000] * 11 + [None]
    result = compute_floating(
        policy(values=values, missing_rule=MissingDeclarationRule.PENALTY, penalty_rate=D("0.10"))
    )
    # 2,500,000 × 1.10 = 2,750,000; (16,500,000 + 2,750,000) × 0.0001 = 1,925.00
    assert result.periods[11].value.value == D(2_750_000)
    assert result.flags[0].rule == MissingDeclarationRule.PENALTY
    assert result.final_premium == D("1925.00")


def test_a_missing_declaration_in_an_ajustable_account_is_called_on_its_deadline() -> None:
    values: list[int | None] = [1_500_000] * 12
    values[5] = None
    result = compute_floating(policy(COMPTE_COURANT, values=values))
    june = next(c for c in result.calls if "period 6 " in c.label)
    # June [2025-06-01, 2025-07-01): due 2025-07-01, deadline 2025-07-16
    assert june.date == date(2025, 7, 16)
    assert "missing" in june.label


def test_a_declaration_received_on_the_last_day_of_grace_is_on_time_and_a_day_later_late() -> None:
    # January is due 2025-02-01; with 15 grace days the deadline is 2025-02-16
    on_time = Declaration(START, D(1_500_000), date(2025, 2, 16))
    late = Declaration(START, D(1_500_000), date(2025, 2, 17))
    rest = monthly([1_500_000] * 12)[1:]
    first = compute_floating(policy(declarations=(on_time, *rest)))
    second = compute_floating(policy(declarations=(late, *rest)))
    assert first.periods[0].value.status == DeclarationStatus.ON_TIME
    assert first.flags == ()
    assert second.periods[0].value.status == DeclarationStatus.LATE
    (flag,) = second.flags
    assert flag.kind == DeclarationFlagKind.LATE
    assert "1 day(s) after the deadline 2025-02-16" in flag.reason
    assert second.final_premium == first.final_premium  # a late declaration is still used


def test_a_value_above_the_sum_insured_is_charged_but_flagged_as_capped_indemnity() -> None:
    values = [1_500_000] * 11 + [3_100_000]
    result = compute_floating(policy(values=values))
    (flag,) = result.flags
    assert flag.kind == DeclarationFlagKind.ABOVE_SUM_INSURED
    assert "capped at the sum insured" in flag.reason
    # (16,500,000 + 3,100,000) × 0.0001 = 1,960.00: the premium follows the declared value
    assert result.final_premium == D("1960.00")


def test_a_forecast_above_the_sum_insured_is_flagged() -> None:
    result = compute_floating(policy(forecast_value=D(3_000_000)))
    assert result.flags[0].kind == DeclarationFlagKind.FORECAST_ABOVE_SUM_INSURED


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"end": date(2024, 12, 1)}, "period.end"),
        ({"end": START}, "period.end"),
        ({"end": date(2026, 1, 2)}, "period.end"),
        ({"rate": D(0)}, "rate"),
        ({"sum_insured": D(0)}, "sum_insured"),
        ({"forecast_value": D(-1)}, "forecast_value"),
        ({"missing_rule": MissingDeclarationRule.PENALTY}, "penalty_rate"),
        ({"penalty_rate": D("0.1")}, "penalty_rate"),
        ({"instalments": 3}, "instalments"),
        ({"minimum_premium": D("1.005")}, "minimum_premium"),
        ({"deposit_rate": D("0.5")}, "deposit_rate"),
        ({"period_starts": (START,)}, "period_starts"),
        ({"frequency": DeclarationFrequency.CUSTOM}, "period_starts"),
    ],
)
def test_unusable_options_are_refused_naming_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        compute_floating(policy(**options))
    assert error.value.field == field


@pytest.mark.parametrize(
    ("variant", "options", "field"),
    [
        (AJUSTABLE, {"statistic": Statistic.MAX}, "statistic"),
        (COMPTE_COURANT, {"instalments": 4}, "instalments"),
        (COMPTE_COURANT, {"provisional_premium_paid": D(100)}, "provisional_premium_paid"),
        (AJUSTABLE, {"deposit_rate": D("1.5")}, "deposit_rate"),
        (AJUSTABLE, {"deposit_rate": D("0.5"), "provisional_premium_paid": D(1)}, "deposit_rate"),
    ],
)
def test_options_of_another_variant_are_refused(
    variant: FloatingVariant, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        compute_floating(policy(variant, **options))
    assert error.value.field == field


@pytest.mark.parametrize(
    ("declaration", "field", "words"),
    [
        (Declaration(date(2026, 1, 1), D(1), date(2026, 2, 1)), "period_start", "outside"),
        (Declaration(date(2024, 12, 1), D(1), date(2025, 2, 1)), "period_start", "outside"),
        (Declaration(date(2025, 3, 15), D(1), date(2025, 4, 1)), "period_start", "2025-04-01"),
        (Declaration(START, D(1), date(2025, 2, 1)), "period_start", "duplicate"),
        (Declaration(date(2025, 2, 1), D(-5), date(2025, 3, 1)), "value", "negative"),
        (Declaration(START, D(1), date(2025, 2, 1), date(2025, 3, 1)), "period_end", "2025-02-01"),
        (Declaration(date(2025, 2, 1), D(1), date(2025, 1, 20)), "received", "before"),
    ],
)
def test_bad_declarations_are_refused_naming_the_declaration(
    declaration: Declaration, field: str, words: str
) -> None:
    first = Declaration(START, D(1_000_000), date(2025, 2, 1)) if field != "period_end" else None
    declarations = (first, declaration) if first is not None else (declaration,)
    with pytest.raises(InvalidInput) as error:
        compute_floating(policy(declarations=declarations))
    assert error.value.field == f"declarations[{len(declarations) - 1}].{field}"
    assert words in error.value.message


# --- properties -----------------------------------------------------------------------------------

values_or_missing = st.lists(
    st.none() | st.integers(min_value=0, max_value=5_000_000), min_size=12, max_size=12
)


@st.composite
def policies(draw: st.DrawFn) -> FloatingPolicy:
    variant = draw(st.sampled_from(list(FloatingVariant)))
    rule = draw(st.sampled_from(list(MissingDeclarationRule)))
    options: dict[str, Any] = {
        "rate": D(draw(st.integers(min_value=1, max_value=5000))) / 1_000_000,
        "forecast_value": D(draw(st.integers(min_value=0, max_value=4_000_000))),
        "missing_rule": rule,
        "penalty_rate": D("0.2") if rule == MissingDeclarationRule.PENALTY else None,
        "grace_days": draw(st.integers(min_value=0, max_value=40)),
        "minimum_premium": draw(st.none() | st.integers(0, 3000).map(D)),
    }
    if variant == REVISABLE:
        options["statistic"] = draw(st.sampled_from(list(Statistic)))
        options["instalments"] = draw(st.sampled_from([1, 2, 4, 12]))
    if variant == AJUSTABLE:
        options["deposit_rate"] = D(draw(st.integers(0, 100))) / 100
    return policy(variant, values=draw(values_or_missing), **options)


@settings(max_examples=200, deadline=None)
@given(policies())
def test_the_calls_add_up_to_the_final_premium_to_the_cent(floating: FloatingPolicy) -> None:
    result = compute_floating(floating)
    assert result.total_called == result.final_premium
    assert result.calls[-1].called_to_date == result.final_premium
    assert all(c.amount == c.amount.quantize(D("0.01")) for c in result.calls)
    if floating.variant == REVISABLE:
        assert result.regularisation == result.final_premium - result.provisional_premium


@settings(max_examples=200, deadline=None)
@given(policies(), st.integers(0, 11), st.integers(1, 2_000_000))
def test_the_final_premium_never_falls_when_a_declared_value_rises(
    floating: FloatingPolicy, index: int, increase: int
) -> None:
    declarations = list(floating.declarations)
    assume(declarations)
    position = min(index, len(declarations) - 1)
    raised = declarations[position]
    declarations[position] = replace(raised, value=raised.value + increase)
    higher = compute_floating(replace(floating, declarations=tuple(declarations)))
    assert higher.final_premium >= compute_floating(floating).final_premium


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9), st.sampled_from([1, 2, 4, 12]))
def test_instalments_add_up_to_the_provisional_premium(cents: int, count: int) -> None:
    amount = D(cents) / 100
    parts = [a for _, a in provisional_instalments(amount, count, START, END)]
    assert sum(parts, D(0)) == amount
    assert max(parts) - min(parts) <= D("0.01")


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 5_000_000), st.integers(min_value=1, max_value=5000))
def test_with_one_yearly_declaration_the_three_variants_agree(
    value: int, rate_millionths: int
) -> None:
    declaration = Declaration(START, D(value), END)
    results = [
        compute_floating(
            policy(
                variant,
                rate=D(rate_millionths) / 1_000_000,
                frequency=DeclarationFrequency.YEARLY,
                declarations=(declaration,),
            )
        )
        for variant in FloatingVariant
    ]
    # one period covering the whole year: mean = max = last = the value, and its share is 365/365
    assert len({r.final_premium for r in results}) == 1
