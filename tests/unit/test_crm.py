"""Bonus-malus engine (polis.actuarial): published checks, articles of the clause, dated mode."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from polis.actuarial import (
    Claim,
    ClaimCause,
    CrmInput,
    CrmResult,
    CrmRulesError,
    History,
    Interruption,
    Period,
    Responsibility,
    Usage,
    compute_crm,
    compute_crm_history,
    load_rules,
    parse_rules,
    periods_from_history,
)
from polis.kernel.errors import InvalidInput

FULL = Claim(Responsibility.FULL)
PARTIAL = Claim(Responsibility.PARTIAL)
D = Decimal


def run(*periods: Period, **options: Any) -> CrmResult:
    return compute_crm(CrmInput(periods=periods, **options))


def claim_free() -> Period:
    return Period()


def with_claims(*claims: Claim, interrupted: bool = False) -> Period:
    return Period(claims=claims, interrupted=interrupted)


def amounts(result: CrmResult, fragment: str) -> list[Decimal | None]:
    return [line.amount for line in result.explanation if fragment in line.step]


# ------------------------------------------------------------------ published checks (§1)


def test_a_claim_free_year_takes_0_80_to_0_76() -> None:
    assert run(claim_free(), start=D("0.80")).final == D("0.76")


def test_two_responsible_claims_in_one_period_take_0_68_to_0_85_then_1_06() -> None:
    result = run(with_claims(FULL, FULL), start=D("0.68"))
    assert result.coefficients == (D("1.06"),)
    assert amounts(result, "responsible claim") == [D("0.85"), D("1.06")]


def test_six_responsible_claims_from_1_00_climb_to_the_ceiling_3_50() -> None:
    result = run(with_claims(*[FULL] * 6))
    steps = amounts(result, "responsible claim")
    assert steps == [D(x) for x in ("1.25", "1.56", "1.95", "2.43", "3.03", "3.50")]
    assert result.final == D("3.50")
    assert any("ceiling 3.50" in line.formula for line in result.explanation)


def test_thirteen_claim_free_years_take_1_00_to_the_floor_0_50_and_twelve_do_not() -> None:
    result = run(*[claim_free() for _ in range(13)])
    expected, c = [], D("1.00")
    for _ in range(13):  # independent recomputation: × 0.95, cut after 2 decimals, floor 0.50
        c = max((c * D("0.95")).quantize(D("0.01"), rounding=ROUND_DOWN), D("0.50"))
        expected.append(c)
    assert list(result.coefficients) == expected
    assert result.coefficients[11] == D("0.51")
    assert result.final == D("0.50")
    published = "0.95 0.90 0.85 0.80 0.76 0.72 0.68 0.64 0.60 0.57 0.54 0.51 0.50"
    assert [str(c) for c in result.coefficients] == published.split()


def test_one_claim_free_period_from_1_00_gives_0_95() -> None:
    assert run(claim_free()).final == D("0.95")


# ------------------------------------------------------------------ art. 4–5: factors, truncation


def test_a_partial_claim_at_1_00_is_truncated_to_1_12_not_1_125() -> None:
    result = run(with_claims(PARTIAL))
    assert result.final == D("1.12")
    notes = [line.formula for line in result.explanation if "truncation" in line.step]
    assert notes
    assert "1.125" in notes[0]
    assert "truncat" in notes[0]


def test_tournees_use_has_its_own_factors() -> None:
    tournees = {"usage": Usage.TOURNEES}
    assert run(claim_free(), **tournees).final == D("0.93")
    assert run(with_claims(FULL), **tournees).final == D("1.20")
    assert run(with_claims(PARTIAL), **tournees).final == D("1.10")
    # 0.93 × 0.93 = 0.8649 is truncated, not rounded
    assert run(claim_free(), claim_free(), **tournees).final == D("0.86")


def test_the_coefficient_never_goes_below_the_floor_0_50() -> None:
    result = run(claim_free(), claim_free(), start=D("0.52"))
    assert result.coefficients == (D("0.50"), D("0.50"))


def test_the_coefficient_never_goes_above_the_ceiling_3_50() -> None:
    assert run(with_claims(FULL), start=D("3.00")).final == D("3.50")
    assert run(with_claims(PARTIAL), start=D("3.50")).final == D("3.50")


# ------------------------------------------------------------------ art. 4: first claim at 0.50


def test_first_claim_after_three_years_at_0_50_causes_no_increase() -> None:
    result = run(with_claims(FULL), start=D("0.50"), years_at_floor=3)
    assert result.final == D("0.50")
    assert result.periods[0].exempted_claims == 1
    assert any("exempted" in line.step for line in result.explanation)


def test_first_claim_after_only_two_years_at_0_50_raises_the_coefficient() -> None:
    assert run(with_claims(FULL), start=D("0.50"), years_at_floor=2).final == D("0.62")


def test_years_at_the_floor_are_earned_by_claim_free_periods_started_at_0_50() -> None:
    # 0.52 → 0.50 does not count (started above the floor); then three periods at 0.50
    history = [claim_free()] * 4 + [with_claims(FULL)]
    assert run(*history, start=D("0.52")).final == D("0.50")
    history = [claim_free()] * 3 + [with_claims(FULL)]
    assert run(*history, start=D("0.52")).final == D("0.62")


def test_only_the_first_claim_of_the_period_is_exempted() -> None:
    result = run(with_claims(FULL, FULL), start=D("0.50"), years_at_floor=5)
    assert result.final == D("0.62")
    assert result.periods[0].exempted_claims == 1


def test_the_exemption_is_earned_again_after_three_more_years_at_0_50() -> None:
    used = with_claims(FULL)
    again = run(used, *[claim_free()] * 3, with_claims(FULL), start=D("0.50"), years_at_floor=3)
    assert again.final == D("0.50")
    too_soon = run(used, *[claim_free()] * 2, with_claims(FULL), start=D("0.50"), years_at_floor=3)
    assert too_soon.final == D("0.62")


def test_a_period_whose_only_claim_was_exempted_resets_both_counters() -> None:
    result = run(with_claims(FULL), start=D("0.50"), years_at_floor=3, claim_free_periods=7)
    row = result.periods[0]
    assert (row.coefficient, row.years_at_floor, row.claim_free_periods) == (D("0.50"), 0, 0)


# ------------------------------------------------------------------ return to 1.00 (F2655)


def test_two_claim_free_periods_bring_a_malus_back_to_1_00() -> None:
    result = run(claim_free(), claim_free(), start=D("1.56"))
    assert result.coefficients == (D("1.48"), D("1.00"))
    assert any("return to 1.00" in line.step for line in result.explanation)


def test_a_responsible_claim_restarts_the_count_of_claim_free_periods() -> None:
    result = run(claim_free(), with_claims(FULL), claim_free(), claim_free(), start=D("1.56"))
    # 1.48; 1.48 × 1.25 = 1.85; 1.85 × 0.95 = 1.7575 → 1.75; then the 2nd claim-free period: 1.00
    assert result.coefficients == (D("1.48"), D("1.85"), D("1.75"), D("1.00"))


def test_the_claim_free_streak_before_the_first_period_counts() -> None:
    assert run(claim_free(), start=D("1.30"), claim_free_periods=1).final == D("1.00")
    assert run(claim_free(), start=D("1.30")).final == D("1.23")


# ------------------------------------------------ art. 6–7: claims that do not count


@pytest.mark.parametrize(
    ("claim", "article"),
    [
        (Claim(Responsibility.NONE), "art. 5"),
        (Claim(Responsibility.FULL, neutral=True), "art. 7"),
        (Claim(Responsibility.FULL, cause=ClaimCause.USED_WITHOUT_KNOWLEDGE), "art. 6"),
        (Claim(Responsibility.PARTIAL, cause=ClaimCause.FORCE_MAJEURE), "art. 6"),
        (Claim(Responsibility.FULL, cause=ClaimCause.VICTIM_OR_THIRD_PARTY_FAULT), "art. 6"),
    ],
)
def test_ignored_claims_neither_raise_nor_block_the_reduction(claim: Claim, article: str) -> None:
    result = run(with_claims(claim, claim))
    assert result.final == D("0.95")
    assert result.periods[0].ignored_claims == 2
    ignored = [line.formula for line in result.explanation if "ignored" in line.step]
    assert len(ignored) == 2
    assert all(article in text for text in ignored)


# ------------------------------------------------------------------ art. 9: interruption


def test_an_interrupted_period_keeps_the_coefficient_and_freezes_the_counters() -> None:
    result = run(claim_free(), with_claims(interrupted=True), claim_free(), start=D("1.56"))
    # the streak is neither reset nor increased by the interruption: back to 1.00 after it
    assert result.coefficients == (D("1.48"), D("1.48"), D("1.00"))
    two = run(with_claims(interrupted=True), with_claims(FULL), start=D("0.50"), years_at_floor=2)
    assert two.final == D("0.62")  # the interrupted period does not add a year at 0.50
    kept = run(with_claims(interrupted=True), with_claims(FULL), start=D("0.50"), years_at_floor=3)
    assert kept.final == D("0.50")  # the 3 years survive the interruption


def test_responsible_claims_in_an_interrupted_period_still_raise_the_coefficient() -> None:
    result = run(with_claims(FULL, interrupted=True), claim_free(), start=D("1.00"))
    assert result.coefficients == (D("1.25"), D("1.18"))  # streak reset by the claim: no return


# ------------------------------------------------------------------ premium


def test_premium_is_reference_premium_times_coefficient_rounded_half_up() -> None:
    # 100.02 × 1.25 = 125.025: half-up gives 125.03 (half-even would give 125.02)
    result = run(with_claims(FULL), claim_free(), reference_premium=D("100.02"))
    assert [row.premium for row in result.periods] == [D("125.03"), D("118.02")]
    assert run(claim_free()).periods[0].premium is None


# ------------------------------------------------------------------ validation and data


def test_bad_engine_inputs_name_their_field() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"start": D("0.49")}, "start"),
        ({"start": D("3.51")}, "start"),
        ({"start": D("1.005")}, "start"),
        ({"start": D("1.00"), "years_at_floor": 1}, "years_at_floor"),
        ({"reference_premium": D("-1")}, "reference_premium"),
    ]
    for options, field in cases:
        with pytest.raises(InvalidInput) as error:
            compute_crm(CrmInput(periods=(), **options))
        assert error.value.field == field
    with pytest.raises(InvalidInput) as error:
        run(claim_free(), with_claims(*[FULL] * 51))
    assert error.value.field == "periods[1].claims"


def test_the_packaged_rule_figures_are_those_of_the_clause() -> None:
    rules = load_rules()
    standard, tournees = rules.factors[Usage.STANDARD], rules.factors[Usage.TOURNEES]
    assert (standard.reduction, standard.full, standard.partial) == (
        D("0.95"),
        D("1.25"),
        D("1.125"),
    )
    assert (tournees.reduction, tournees.full, tournees.partial) == (
        D("0.93"),
        D("1.20"),
        D("1.10"),
    )
    assert (rules.floor, rules.ceiling, rules.base) == (D("0.50"), D("3.50"), D("1.00"))
    assert rules.exemption_years_at_floor == 3
    assert rules.return_claim_free_periods == 2
    assert (rules.reference_months, rules.months_before_due) == (12, 2)
    assert (rules.first_min_months, rules.first_max_months) == (9, 12)
    assert rules.interruption_threshold_months == 3


def _rules_data() -> dict[str, Any]:
    return {
        "version": "test",
        "coefficient": {"start": "1.00", "floor": "0.50", "ceiling": "3.50", "decimals": 2},
        "usage": {
            "standard": {"reduction": "0.95", "full": "1.25", "partial": "1.125"},
            "tournees": {"reduction": "0.93", "full": "1.20", "partial": "1.10"},
        },
        "exemption": {"years_at_floor": 3},
        "return_to_base": {"claim_free_periods": 2, "coefficient": "1.00"},
        "reference_period": {
            "months": 12,
            "months_before_due": 2,
            "first_min_months": 9,
            "first_max_months": 12,
            "interruption_threshold_months": 3,
        },
        "limits": {"max_periods": 100, "max_claims_per_period": 50},
    }


def test_incoherent_or_malformed_rule_data_is_refused() -> None:
    assert parse_rules(_rules_data()).version == "test"
    broken: list[dict[str, Any]] = [_rules_data() for _ in range(5)]
    broken[0]["usage"]["standard"]["reduction"] = "1.05"  # a "reduction" that raises
    broken[1]["usage"]["tournees"]["full"] = 1.2  # a float, not an exact decimal string
    del broken[2]["exemption"]
    broken[3]["coefficient"]["floor"] = "0.505"  # more decimals than the coefficient has
    del broken[4]["usage"]["tournees"]
    for data in broken:
        with pytest.raises(CrmRulesError):
            parse_rules(data)


# ------------------------------------------------------------------ dated mode (art. 9)


def dated(day: str, claim: Claim = FULL) -> Claim:
    return Claim(claim.responsibility, claim.neutral, claim.cause, date=dt.date.fromisoformat(day))


def history(first: str, last: str, *claims: Claim, **options: Any) -> History:
    return History(
        first_due_date=dt.date.fromisoformat(first),
        last_due_date=dt.date.fromisoformat(last),
        claims=claims,
        **options,
    )


def test_the_reference_period_is_the_12_months_ending_2_months_before_the_due_date() -> None:
    periods = periods_from_history(history("2021-06-01", "2022-06-01")).periods
    windows = [(p.reference_start, p.reference_end) for p in periods]
    assert [(str(a), str(b)) for a, b in windows] == [
        ("2020-04-01", "2021-04-01"),
        ("2021-04-01", "2022-04-01"),
    ]


def test_a_claim_on_the_reference_end_date_counts_in_the_next_period() -> None:
    on_end = compute_crm_history(history("2021-06-01", "2022-06-01", dated("2021-04-01")))
    assert on_end.coefficients == (D("0.95"), D("1.18"))
    day_before = compute_crm_history(history("2021-06-01", "2022-06-01", dated("2021-03-31")))
    assert day_before.coefficients == (D("1.25"), D("1.18"))


def test_a_claim_in_the_2_months_before_a_due_date_counts_at_the_next_due_date() -> None:
    result = compute_crm_history(history("2021-06-01", "2022-06-01", dated("2021-05-15")))
    assert [p.responsible_claims for p in result.periods] == [0, 1]


def test_29_february_due_dates_are_clipped_and_periods_stay_contiguous() -> None:
    periods = periods_from_history(history("2020-02-29", "2024-02-29")).periods
    assert [str(p.due_date) for p in periods] == [
        "2020-02-29",
        "2021-02-28",
        "2022-02-28",
        "2023-02-28",
        "2024-02-29",
    ]
    for before, after in itertools.pairwise(periods):
        assert after.reference_start == before.reference_end
    # 28 Dec 2022: end of the 2023 period, and 29 Dec 2022 would be "D − 14 months" of 2024
    result = compute_crm_history(history("2020-02-29", "2024-02-29", dated("2022-12-28")))
    assert [p.responsible_claims for p in result.periods] == [0, 0, 0, 0, 1]


def test_a_first_period_shorter_than_9_months_changes_nothing_and_loses_no_claim() -> None:
    subscribed = dt.date(2019, 8, 15)  # reference end 2020-04-01: 7½ months
    result = compute_crm_history(
        history("2020-06-01", "2021-06-01", dated("2019-09-01"), subscription_date=subscribed)
    )
    first, second = result.periods
    assert first.coefficient == D("1.00")
    assert first.responsible_claims == 0
    assert any("shorter than 9 months" in line.formula for line in result.explanation)
    assert (second.reference_start, second.responsible_claims) == (subscribed, 1)
    assert second.coefficient == D("1.25")


def test_a_first_period_of_exactly_9_months_counts() -> None:
    result = compute_crm_history(
        history("2020-06-01", "2020-06-01", subscription_date=dt.date(2019, 7, 1))
    )
    assert result.final == D("0.95")


def test_a_first_period_longer_than_12_months_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        periods_from_history(
            history("2020-06-01", "2021-06-01", subscription_date=dt.date(2019, 3, 31))
        )
    assert error.value.field == "history.first_due_date"
    assert "9 to 12 months" in error.value.message


def test_claims_after_the_last_reference_period_are_pending_not_errors() -> None:
    result = compute_crm_history(history("2021-06-01", "2022-06-01", dated("2022-05-01")))
    assert result.final == D("0.90")
    (pending,) = result.pending_claims
    assert (pending.index, pending.counts_at) == (0, dt.date(2023, 6, 1))


def test_an_interruption_of_more_than_3_months_stops_the_reduction() -> None:
    gap = Interruption(dt.date(2020, 9, 1), dt.date(2020, 12, 2))  # 3 months and 1 day
    result = compute_crm_history(history("2021-06-01", "2021-06-01", interruptions=(gap,)))
    assert (result.final, result.periods[0].interrupted) == (D("1.00"), True)
    three = Interruption(dt.date(2020, 9, 1), dt.date(2020, 12, 1))  # exactly 3 months
    result = compute_crm_history(history("2021-06-01", "2021-06-01", interruptions=(three,)))
    assert (result.final, result.periods[0].interrupted) == (D("0.95"), False)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: history("2021-06-01", "2020-06-01"), "history.last_due_date"),
        (lambda: history("2021-06-01", "2022-06-02"), "history.last_due_date"),
        (
            lambda: history("2021-06-01", "2021-06-01", dated("2020-03-31")),
            "history.claims[0].date",
        ),
        (
            lambda: history(
                "2021-06-01",
                "2021-06-01",
                interruptions=(Interruption(dt.date(2021, 1, 1), dt.date(2020, 12, 1)),),
            ),
            "history.interruptions[0].end",
        ),
        (
            lambda: history("2021-06-01", "2021-06-01", subscription_date=dt.date(2021, 6, 1)),
            "history.subscription_date",
        ),
    ],
)
def test_inconsistent_histories_name_the_field(build: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        compute_crm_history(build())
    assert error.value.field == field
