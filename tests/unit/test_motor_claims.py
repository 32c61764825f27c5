"""Motor claims: total loss (VEI) and its dates, theft and its wait, glass vs break-in, and the
claim's effect on the bonus-malus through the CRM engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from polis.actuarial import Responsibility
from polis.claims import (
    CrmSituation,
    Deductible,
    MotorClaim,
    MotorCover,
    MotorEvent,
    MotorPolicy,
    RetainedReason,
    applicable_cover,
    bonus_malus_effect,
    settle_motor_claim,
)
from polis.kernel.errors import InvalidInput

D = Decimal
TODAY = dt.date(2025, 3, 10)
POLICY = MotorPolicy(
    covers={
        MotorCover.DAMAGE: Deductible(amount=D("500")),
        MotorCover.THEFT: Deductible(amount=D("300")),
        MotorCover.GLASS: Deductible(amount=D("80")),
    },
    crm=CrmSituation(D("1.00"), reference_premium=D("600")),
)


def claim(event: MotorEvent, **facts: Any) -> MotorClaim:
    return replace(MotorClaim(event, TODAY), **facts)


# --- total loss (VEI) -----------------------------------------------------------------------


def test_repairs_above_the_vehicle_value_make_a_total_loss_offered_on_the_value() -> None:
    # repair 11,000 > VRADE 9,000 → offer 9,000 − 500 = 8,500
    result = settle_motor_claim(
        POLICY,
        claim(
            MotorEvent.COLLISION,
            repair_cost=D("11000"),
            vehicle_value=D("9000"),
            expert_report_on=dt.date(2025, 3, 20),
        ),
    )
    assert result.total_loss is not None
    assert result.total_loss.offer == result.settlement.indemnity == D("8500.00")
    assert result.settlement.retained_by(RetainedReason.INDEMNITY_PRINCIPLE) == D("2000.00")


def test_the_total_loss_offer_is_due_15_days_after_the_report_and_the_answer_30_days_later() -> (
    None
):
    facts = {"repair_cost": D("11000"), "vehicle_value": D("9000")}
    report = dt.date(2025, 3, 20)
    due = settle_motor_claim(
        POLICY, claim(MotorEvent.COLLISION, expert_report_on=report, **facts)
    ).total_loss
    assert due is not None
    assert (due.offer_due, due.answer_due) == (dt.date(2025, 4, 4), dt.date(2025, 5, 4))
    made = settle_motor_claim(
        POLICY,
        claim(
            MotorEvent.COLLISION, expert_report_on=report, offer_on=dt.date(2025, 3, 25), **facts
        ),
    ).total_loss
    assert made is not None
    assert (made.offer_due, made.answer_due) == (dt.date(2025, 4, 4), dt.date(2025, 4, 24))


def test_repairs_equal_to_the_value_are_still_repaired() -> None:
    result = settle_motor_claim(
        POLICY, claim(MotorEvent.COLLISION, repair_cost=D("9000"), vehicle_value=D("9000"))
    )
    assert result.total_loss is None
    assert result.settlement.indemnity == D("8500.00")


# --- theft --------------------------------------------------------------------------------------


def test_a_stolen_vehicle_is_paid_its_value_30_days_after_the_declaration() -> None:
    result = settle_motor_claim(
        POLICY,
        claim(MotorEvent.VEHICLE_THEFT, declared_on=dt.date(2025, 3, 11), vehicle_value=D("9000")),
    )
    assert result.payable_on == dt.date(2025, 4, 10)
    assert result.settlement.indemnity == D("8700.00")  # 9,000 − theft deductible 300
    assert result.bonus_malus is not None
    assert not result.bonus_malus.raises


def test_a_vehicle_found_within_the_wait_is_repaired_with_no_total_loss_payment() -> None:
    result = settle_motor_claim(
        POLICY,
        claim(
            MotorEvent.VEHICLE_THEFT,
            declared_on=dt.date(2025, 3, 11),
            recovered_on=dt.date(2025, 4, 9),
            repair_cost=D("1200"),
            vehicle_value=D("9000"),
        ),
    )
    assert result.theft is not None
    assert result.theft.recovered_within_wait
    assert result.payable_on is None
    assert result.settlement.indemnity == D("900.00")  # repairs 1,200 − 300


def test_a_vehicle_found_on_the_payable_day_is_no_longer_within_the_wait() -> None:
    result = settle_motor_claim(
        POLICY,
        claim(
            MotorEvent.VEHICLE_THEFT,
            declared_on=dt.date(2025, 3, 11),
            recovered_on=dt.date(2025, 4, 10),
            vehicle_value=D("9000"),
        ),
    )
    assert result.payable_on == dt.date(2025, 4, 10)
    assert result.settlement.indemnity == D("8700.00")


# --- glass vs break-in ----------------------------------------------------------------------------


def test_glass_broken_without_theft_goes_to_the_glass_cover_with_its_small_deductible() -> None:
    result = settle_motor_claim(POLICY, claim(MotorEvent.GLASS_BREAKAGE, repair_cost=D("650")))
    assert result.cover is MotorCover.GLASS
    assert result.settlement.indemnity == D("570.00")  # 650 − 80


def test_a_window_broken_to_steal_goes_to_the_theft_cover_with_its_deductible() -> None:
    result = settle_motor_claim(POLICY, claim(MotorEvent.BREAK_IN, repair_cost=D("650")))
    assert result.cover is MotorCover.THEFT
    assert "not the glass cover" in result.cover_reason
    assert result.settlement.indemnity == D("350.00")  # 650 − 300


@pytest.mark.parametrize("event", [MotorEvent.GLASS_BREAKAGE, MotorEvent.BREAK_IN])
def test_glass_only_and_theft_only_claims_are_neutral_for_the_bonus_malus(
    event: MotorEvent,
) -> None:
    effect = settle_motor_claim(POLICY, claim(event, repair_cost=D("650"))).bonus_malus
    assert effect is not None
    # 1.00 × 0.95 = 0.95 with or without the claim: no extra premium
    assert (effect.next_year_without, effect.next_year_with) == (D("0.95"), D("0.95"))
    assert (effect.neutral, effect.extra_premium_total, effect.years_until_recovery) == (
        True,
        D("0.00"),
        0,
    )


def test_a_responsible_collision_raises_the_coefficient_by_25_percent() -> None:
    result = settle_motor_claim(
        POLICY,
        claim(MotorEvent.COLLISION, repair_cost=D("650"), responsibility=Responsibility.FULL),
    )
    effect = result.bonus_malus
    assert effect is not None
    # 1.00 × 1.25 = 1.25 instead of 0.95; premiums 750 instead of 570 next year
    assert (effect.next_year_without, effect.next_year_with) == (D("0.95"), D("1.25"))
    assert effect.years[0].extra_premium == D("180.00")
    assert effect.raises
    # the paths merge at the 0.50 floor in year 16: 15 years of extra premium, 1,158.00 in all
    assert (effect.years_until_recovery, effect.extra_premium_total) == (15, D("1158.00"))


def test_the_extra_premium_is_summed_until_the_coefficients_merge() -> None:
    effect = bonus_malus_effect(
        CrmSituation(D("0.50"), reference_premium=D("1000")), Responsibility.FULL, neutral=False
    )
    # with: 0.62 (0.50 × 1.25 = 0.625 → 0.62), 0.58 (0.589), 0.55 (0.551), 0.52 (0.5225), 0.50
    # without: 0.50 every year → extra 120 + 80 + 50 + 20 = 270 over 4 years
    assert [y.with_claim for y in effect.years] == [
        D("0.62"),
        D("0.58"),
        D("0.55"),
        D("0.52"),
        D("0.50"),
    ]
    assert (effect.years_until_recovery, effect.extra_premium_total) == (4, D("270.00"))


def test_a_partly_responsible_collision_raises_by_half() -> None:
    effect = bonus_malus_effect(CrmSituation(D("1.00")), Responsibility.PARTIAL, neutral=False)
    assert effect.next_year_with == D("1.12")  # 1.00 × 1.125 = 1.125, truncated
    assert effect.extra_premium_total is None


# --- cover and input ------------------------------------------------------------------------------


def test_an_event_whose_cover_was_not_bought_is_not_covered() -> None:
    policy = MotorPolicy(covers={MotorCover.DAMAGE: Deductible(amount=D("500"))})
    result = settle_motor_claim(policy, claim(MotorEvent.GLASS_BREAKAGE, repair_cost=D("650")))
    assert result.settlement.indemnity == D("0.00")
    assert result.settlement.cover is not None
    assert result.settlement.cover.reason == "peril_not_covered"


def test_each_event_names_its_cover() -> None:
    assert [applicable_cover(e)[0] for e in MotorEvent] == [
        MotorCover.DAMAGE,
        MotorCover.THEFT,
        MotorCover.GLASS,
        MotorCover.THEFT,
    ]


def test_a_collision_without_repair_cost_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        settle_motor_claim(POLICY, claim(MotorEvent.COLLISION))
    assert error.value.field == "repair_cost"
