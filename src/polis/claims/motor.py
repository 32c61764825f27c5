"""Motor claims: which cover applies, total loss (VEI), theft with its wait, glass vs break-in.

- **Which cover** (seed 001, motor.md): glass broken without theft → *glass* cover (bris de glace)
  with its small deductible; a window broken to steal (theft or attempted theft) → *theft* cover with
  its larger deductible (the broken glass is part of the theft); the vehicle stolen → *theft*; damage
  to the vehicle → *damage* cover. Glass-only and theft-only claims are neutral for the bonus-malus
  (annex to A121-1 art. 7); a responsible collision is not.
- **Total loss (VEI, Code de la route L327-1)**: when the repair cost exceeds the vehicle's value at
  the time of loss (the expert's VRADE; equal is still repairable), the offer is
  ``VRADE − deductible``; the insurer offers within 15 days of the expert report, the owner answers
  within 30 days of the offer (``offer_due = report + 15 d``, ``answer_due = offer (or its due date)
  + 30 d``).
- **Theft**: the indemnity is payable ``wait_days`` (contractual, usually 30) after the declaration
  (``payable_on = declared_on + wait``); a vehicle found before that day is repaired (up to its
  value, the theft deductible applies) and no total-loss payment is made.

The money goes through the settlement engine (valuation basis ``expert``: ``min(repair, VRADE)``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polis.actuarial.crm_rules import Responsibility
from polis.claims.bonus_malus import BonusMalusEffect, CrmSituation, bonus_malus_effect
from polis.claims.cover import CoverDecision, CoverRefusal, CoverTerms
from polis.claims.deductibles import Deductible
from polis.claims.settlement import Loss, Settlement, settle
from polis.claims.steps import check_money, show
from polis.claims.valuation import ValuationBasis
from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.time import local_midnight

__all__ = [
    "ANSWER_DAYS",
    "OFFER_DAYS",
    "MotorClaim",
    "MotorCover",
    "MotorEvent",
    "MotorPolicy",
    "MotorSettlement",
    "TheftWait",
    "TotalLossOffer",
    "applicable_cover",
    "settle_motor_claim",
]

OFFER_DAYS = 15  # insurer's offer after the expert report (VEI procedure)
ANSWER_DAYS = 30  # owner's answer after the offer


class MotorEvent(StrEnum):
    COLLISION = "collision"
    VEHICLE_THEFT = "vehicle_theft"
    GLASS_BREAKAGE = "glass_breakage"
    BREAK_IN = "break_in"


class MotorCover(StrEnum):
    DAMAGE = "damage"
    THEFT = "theft"
    GLASS = "glass"


_COVER_OF_EVENT: dict[MotorEvent, tuple[MotorCover, str]] = {
    MotorEvent.COLLISION: (MotorCover.DAMAGE, "damage to the vehicle: damage cover"),
    MotorEvent.VEHICLE_THEFT: (MotorCover.THEFT, "the vehicle was stolen: theft cover"),
    MotorEvent.GLASS_BREAKAGE: (
        MotorCover.GLASS,
        "glass broken without theft: glass cover (bris de glace) and its deductible; "
        "neutral for the bonus-malus (art. 7)",
    ),
    MotorEvent.BREAK_IN: (
        MotorCover.THEFT,
        "a window broken to steal (theft or attempted theft): theft cover and its deductible, not "
        "the glass cover (the breakage is part of the theft); neutral for the bonus-malus (art. 7)",
    ),
}


def applicable_cover(event: MotorEvent) -> tuple[MotorCover, str]:
    """The cover an event falls under, and why."""
    return _COVER_OF_EVENT[event]


@dataclass(frozen=True, slots=True)
class MotorPolicy:
    """The covers bought (each with its deductible, ``None`` for none), the theft wait, the CRM."""

    covers: Mapping[MotorCover, Deductible | None]
    theft_wait_days: int = 30
    crm: CrmSituation | None = None


@dataclass(frozen=True, slots=True)
class MotorClaim:
    """``vehicle_value``: the expert's value at the time of loss (VRADE)."""

    event: MotorEvent
    occurred_on: dt.date
    declared_on: dt.date | None = None
    repair_cost: Decimal | None = None
    vehicle_value: Decimal | None = None
    expert_report_on: dt.date | None = None
    offer_on: dt.date | None = None
    recovered_on: dt.date | None = None
    responsibility: Responsibility = Responsibility.NONE


@dataclass(frozen=True, slots=True)
class TotalLossOffer:
    """VEI: ``offer = VRADE − deductible``; dates ``None`` without an expert report date."""

    repair_cost: Decimal
    vehicle_value: Decimal
    offer: Decimal
    expert_report_on: dt.date | None
    offer_due: dt.date | None
    answer_due: dt.date | None


@dataclass(frozen=True, slots=True)
class TheftWait:
    declared_on: dt.date
    wait_days: int
    payable_on: dt.date
    recovered_on: dt.date | None
    recovered_within_wait: bool


@dataclass(frozen=True, slots=True)
class MotorSettlement:
    event: MotorEvent
    cover: MotorCover
    cover_reason: str
    settlement: Settlement
    total_loss: TotalLossOffer | None = None
    theft: TheftWait | None = None
    payable_on: dt.date | None = None
    bonus_malus: BonusMalusEffect | None = None
    explanation: tuple[Explanation, ...] = field(default_factory=tuple)


def _decision(policy: MotorPolicy, cover: MotorCover, claim: MotorClaim, why: str) -> CoverDecision:
    covered = cover in policy.covers
    label = why if covered else f"{why}; the {cover.value} cover was not bought"
    return CoverDecision(
        covered=covered,
        reason=None if covered else CoverRefusal.PERIL_NOT_COVERED.value,
        refusal=None if covered else CoverRefusal.PERIL_NOT_COVERED,
        label=label,
        policy_id=None,
        cover_id=cover.value,
        peril=cover.value,
        instant=local_midnight(claim.occurred_on),
        explanation=(Explanation("cover", label),),
    )


def _required(value: Decimal | None, name: str, event: MotorEvent) -> Decimal:
    if value is None:
        raise InvalidInput(f"needed for a {event.value} claim", field=name)
    check_money(value, name)
    return value


def _theft_wait(policy: MotorPolicy, claim: MotorClaim) -> TheftWait:
    if policy.theft_wait_days < 0:
        raise InvalidInput("must be ≥ 0", field="theft_wait_days")
    declared = claim.declared_on or claim.occurred_on
    payable = declared + dt.timedelta(days=policy.theft_wait_days)
    within = claim.recovered_on is not None and claim.recovered_on < payable
    return TheftWait(declared, policy.theft_wait_days, payable, claim.recovered_on, within)


def _total_loss(
    claim: MotorClaim, settlement: Settlement, repair: Decimal, value: Decimal
) -> TotalLossOffer:
    report = claim.expert_report_on
    offer_due = None if report is None else report + dt.timedelta(days=OFFER_DAYS)
    offer_from = claim.offer_on or offer_due
    answer_due = None if offer_from is None else offer_from + dt.timedelta(days=ANSWER_DAYS)
    return TotalLossOffer(repair, value, settlement.indemnity, report, offer_due, answer_due)


def _loss_amount(claim: MotorClaim, theft: TheftWait | None) -> tuple[Decimal, Decimal | None, str]:
    """The loss to settle, the VRADE cap, and a line saying what it is."""
    value = claim.vehicle_value
    check_money(value, "vehicle_value")
    if theft is not None and not theft.recovered_within_wait:
        vrade = _required(value, "vehicle_value", claim.event)
        text = f"vehicle not recovered by {theft.payable_on}: the loss is its value {show(vrade)}"
        return vrade, vrade, text
    if theft is not None:
        repair = claim.repair_cost if claim.repair_cost is not None else Decimal(0)
        check_money(repair, "repair_cost")
        text = f"vehicle recovered on {theft.recovered_on}, within the wait: repairs {show(repair)}"
        return repair, value, text
    repair = _required(claim.repair_cost, "repair_cost", claim.event)
    return repair, value, f"repair cost {show(repair)}"


def settle_motor_claim(policy: MotorPolicy, claim: MotorClaim) -> MotorSettlement:
    """Cover, money (through :func:`settle`), VEI offer and dates, theft wait, bonus-malus effect."""
    cover, why = applicable_cover(claim.event)
    decision = _decision(policy, cover, claim, why)
    theft = _theft_wait(policy, claim) if claim.event is MotorEvent.VEHICLE_THEFT else None
    amount, vrade, what = _loss_amount(claim, theft)
    terms = CoverTerms(
        cover_id=cover.value,
        perils=frozenset(c.value for c in policy.covers),
        valuation_basis=ValuationBasis.EXPERT,
        deductible=policy.covers.get(cover),
    )
    settlement = settle(terms, Loss(amount, peril=cover.value, value_at_loss=vrade), cover=decision)
    lines = [
        Explanation("motor: cover", f"{cover.value}: {decision.label}"),
        Explanation("motor: loss", what, amount),
    ]
    total_loss = None
    stolen = theft is not None and not theft.recovered_within_wait
    if not stolen and vrade is not None and amount > vrade and decision.covered:
        total_loss = _total_loss(claim, settlement, amount, vrade)
        lines.append(_total_loss_line(total_loss))
    payable_on = theft.payable_on if stolen and theft is not None and decision.covered else None
    if theft is not None:
        lines.append(_theft_line(theft))
    effect = _crm_effect(policy, claim, cover)
    if effect is not None:
        lines.extend(effect.explanation)
    return MotorSettlement(
        claim.event,
        cover,
        decision.label,
        settlement,
        total_loss,
        theft,
        payable_on,
        effect,
        tuple(lines),
    )


def _total_loss_line(offer: TotalLossOffer) -> Explanation:
    dates = (
        f"offer due {offer.offer_due} (report {offer.expert_report_on} + {OFFER_DAYS} d), owner's "
        f"answer due {offer.answer_due} (+ {ANSWER_DAYS} d)"
        if offer.offer_due is not None
        else "no expert report date: procedure dates not computed"
    )
    return Explanation(
        "motor: total loss (VEI, L327-1 C. route)",
        f"repair {show(offer.repair_cost)} > value {show(offer.vehicle_value)}: offer on the "
        f"value less the deductible = {show(offer.offer)}; {dates}",
        offer.offer,
    )


def _theft_line(theft: TheftWait) -> Explanation:
    if theft.recovered_within_wait:
        text = (
            f"declared {theft.declared_on}, recovered {theft.recovered_on} before {theft.payable_on} "
            f"({theft.wait_days}-day wait): repairs instead of a total-loss payment"
        )
    else:
        text = (
            f"declared {theft.declared_on} + {theft.wait_days} days (contractual wait): payable "
            f"on {theft.payable_on} if the vehicle is not found by then"
        )
    return Explanation("motor: theft wait", text)


def _crm_effect(
    policy: MotorPolicy, claim: MotorClaim, cover: MotorCover
) -> BonusMalusEffect | None:
    if policy.crm is None:
        return None
    neutral = cover is not MotorCover.DAMAGE
    responsibility = claim.responsibility if not neutral else Responsibility.NONE
    return bonus_malus_effect(
        policy.crm, responsibility, neutral=neutral, label=f"{claim.event.value} claim"
    )
