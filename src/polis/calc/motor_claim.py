"""``motor-claim`` calculator: a motor claim's cover, money, procedure dates and bonus-malus effect.

A separate calculator because its facts are motor facts (event, repair cost, the expert's value
VRADE, report/offer/recovery dates, the covers bought with their deductibles, today's coefficient)
rather than the generic settlement request; the money still goes through the same engine and the
nested ``settlement`` has exactly the ``settlement`` calculator's response shape.

```json
{"event": "break_in", "occurred_on": "2025-03-10", "repair_cost": "650",
 "covers": {"theft": {"deductible": {"amount": "300"}}, "glass": {"deductible": {"amount": "80"}}},
 "bonus_malus": {"coefficient": "0.80", "reference_premium": "600"}}
```
``event``: ``collision`` | ``vehicle_theft`` | ``glass_breakage`` | ``break_in`` (a window broken to
steal). Engine: :func:`polis.claims.settle_motor_claim`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, PlainSerializer

from polis.actuarial.crm_rules import Responsibility, Usage
from polis.calc._base import CalcModel, ExplanationLine, parse_request
from polis.calc.settlement import (
    DeductibleIn,
    Money2,
    MoneyIn,
    NonNegativeIn,
    SettlementResponse,
    explanation_lines,
    response_of,
    to_deductible,
)
from polis.claims import (
    BonusMalusEffect,
    CrmSituation,
    MotorClaim,
    MotorCover,
    MotorEvent,
    MotorPolicy,
    TheftWait,
    TotalLossOffer,
    settle_motor_claim,
)

__all__ = ["MotorClaimRequest", "MotorClaimResponse", "motor_claim"]


def _coefficient(value: Decimal) -> str:
    return f"{value:.2f}"


Coefficient = Annotated[Decimal, PlainSerializer(_coefficient, return_type=str, when_used="json")]


class MotorCoverIn(CalcModel):
    """A cover bought; ``deductible`` null for none."""

    deductible: DeductibleIn | None = None


class BonusMalusIn(CalcModel):
    """Today's situation (see the ``crm`` calculator); ``reference_premium`` before the coefficient."""

    coefficient: NonNegativeIn = Decimal("1.00")
    usage: Usage = Usage.STANDARD
    years_at_floor: int = Field(default=0, ge=0)
    claim_free_periods: int = Field(default=0, ge=0)
    reference_premium: MoneyIn | None = None


class MotorClaimRequest(CalcModel):
    event: MotorEvent
    occurred_on: dt.date
    declared_on: dt.date | None = None
    repair_cost: MoneyIn | None = None
    vehicle_value: MoneyIn | None = None
    expert_report_on: dt.date | None = None
    offer_on: dt.date | None = None
    recovered_on: dt.date | None = None
    responsibility: Responsibility = Responsibility.NONE
    covers: dict[MotorCover, MotorCoverIn] = Field(max_length=3)
    theft_wait_days: int = Field(default=30, ge=0, le=366)
    bonus_malus: BonusMalusIn | None = None


class TotalLossOut(CalcModel):
    repair_cost: Money2
    vehicle_value: Money2
    offer: Money2
    expert_report_on: dt.date | None
    offer_due: dt.date | None
    answer_due: dt.date | None


class TheftOut(CalcModel):
    declared_on: dt.date
    wait_days: int
    payable_on: dt.date
    recovered_on: dt.date | None
    recovered_within_wait: bool


class CrmYearOut(CalcModel):
    year: int
    without_claim: Coefficient
    with_claim: Coefficient
    premium_without: Money2 | None
    premium_with: Money2 | None
    extra_premium: Money2 | None


class BonusMalusOut(CalcModel):
    responsibility: Responsibility
    neutral: bool
    raises: bool
    coefficient_now: Coefficient
    next_year_without: Coefficient
    next_year_with: Coefficient
    years: list[CrmYearOut]
    years_until_recovery: int
    extra_premium_total: Money2 | None


class MotorClaimResponse(CalcModel):
    event: MotorEvent
    cover: MotorCover
    covered: bool
    cover_reason: str
    indemnity: Money2
    payable_on: dt.date | None
    total_loss: TotalLossOut | None
    theft: TheftOut | None
    bonus_malus: BonusMalusOut | None
    settlement: SettlementResponse
    explanation: list[ExplanationLine]


def _bonus_malus(effect: BonusMalusEffect | None) -> BonusMalusOut | None:
    if effect is None:
        return None
    return BonusMalusOut(
        responsibility=effect.responsibility,
        neutral=effect.neutral,
        raises=effect.raises,
        coefficient_now=effect.coefficient_now,
        next_year_without=effect.next_year_without,
        next_year_with=effect.next_year_with,
        years=[
            CrmYearOut(
                year=y.year,
                without_claim=y.without_claim,
                with_claim=y.with_claim,
                premium_without=y.premium_without,
                premium_with=y.premium_with,
                extra_premium=y.extra_premium,
            )
            for y in effect.years
        ],
        years_until_recovery=effect.years_until_recovery,
        extra_premium_total=effect.extra_premium_total,
    )


def _policy(req: MotorClaimRequest) -> MotorPolicy:
    crm = None
    if req.bonus_malus is not None:
        b = req.bonus_malus
        crm = CrmSituation(
            b.coefficient, b.usage, b.years_at_floor, b.claim_free_periods, b.reference_premium
        )
    covers = {
        cover: None if c.deductible is None else to_deductible(c.deductible)
        for cover, c in req.covers.items()
    }
    return MotorPolicy(covers, req.theft_wait_days, crm)


def motor_claim(request: MotorClaimRequest | dict[str, Any]) -> MotorClaimResponse:
    """Which cover, the indemnity (VEI offer and dates, theft payable date) and the bonus-malus
    effect. Raises ``InvalidInput`` naming the field."""
    req = parse_request(MotorClaimRequest, request)
    claim = MotorClaim(
        event=req.event,
        occurred_on=req.occurred_on,
        declared_on=req.declared_on,
        repair_cost=req.repair_cost,
        vehicle_value=req.vehicle_value,
        expert_report_on=req.expert_report_on,
        offer_on=req.offer_on,
        recovered_on=req.recovered_on,
        responsibility=req.responsibility,
    )
    result = settle_motor_claim(_policy(req), claim)
    return MotorClaimResponse(
        event=result.event,
        cover=result.cover,
        covered=result.settlement.cover is None or result.settlement.cover.covered,
        cover_reason=result.cover_reason,
        indemnity=result.settlement.indemnity,
        payable_on=result.payable_on,
        total_loss=_total_loss(result.total_loss),
        theft=_theft(result.theft),
        bonus_malus=_bonus_malus(result.bonus_malus),
        settlement=response_of(result.settlement),
        explanation=explanation_lines(result.explanation),
    )


def _total_loss(total: TotalLossOffer | None) -> TotalLossOut | None:
    if total is None:
        return None
    return TotalLossOut(
        repair_cost=total.repair_cost,
        vehicle_value=total.vehicle_value,
        offer=total.offer,
        expert_report_on=total.expert_report_on,
        offer_due=total.offer_due,
        answer_due=total.answer_due,
    )


def _theft(theft: TheftWait | None) -> TheftOut | None:
    if theft is None:
        return None
    return TheftOut(
        declared_on=theft.declared_on,
        wait_days=theft.wait_days,
        payable_on=theft.payable_on,
        recovered_on=theft.recovered_on,
        recovered_within_wait=theft.recovered_within_wait,
    )
