"""A motor claim's effect on the bonus-malus, computed by the CRM engine (:mod:`polis.actuarial.crm`).

Two projections from today's coefficient over the following annual periods: *without* the claim
(every period claim-free) and *with* it (the claim in the first period, then claim-free). A neutral
claim (glass only, theft only, fire only — annex to A121-1 art. 7) or a claim without responsibility
changes nothing: both paths are the same. A responsible claim raises the coefficient (× 1.25, half
for a partial responsibility) and the paths only merge years later (at worst at the 0.50 floor).

With a reference premium (before the coefficient), each year's premium is
``round_half_up(reference × coefficient)`` and the claim costs
``Σ (premium with − premium without)`` over the years until the paths merge.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from polis.actuarial.crm import Claim, CrmInput, CrmResult, Period, compute_crm
from polis.actuarial.crm_rules import CrmRules, Responsibility, Usage
from polis.claims.steps import show
from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation

__all__ = ["BonusMalusEffect", "CrmSituation", "CrmYear", "bonus_malus_effect"]

HORIZON = 50  # periods projected: enough to reach the 0.50 floor from the 3.50 ceiling


@dataclass(frozen=True, slots=True)
class CrmSituation:
    """Today's bonus-malus situation of the policy (see the ``crm`` calculator)."""

    coefficient: Decimal = Decimal("1.00")
    usage: Usage = Usage.STANDARD
    years_at_floor: int = 0
    claim_free_periods: int = 0
    reference_premium: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CrmYear:
    """Year ``n`` after today (1 = next due date): coefficients and premiums on both paths."""

    year: int
    without_claim: Decimal
    with_claim: Decimal
    premium_without: Decimal | None
    premium_with: Decimal | None
    extra_premium: Decimal | None


@dataclass(frozen=True, slots=True)
class BonusMalusEffect:
    """``years`` lists the years until the paths merge (the merging year included)."""

    responsibility: Responsibility
    neutral: bool
    raises: bool
    coefficient_now: Decimal
    next_year_without: Decimal
    next_year_with: Decimal
    years: tuple[CrmYear, ...]
    years_until_recovery: int
    extra_premium_total: Decimal | None
    explanation: tuple[Explanation, ...] = ()


def _project(situation: CrmSituation, first: Period, rules: CrmRules | None) -> CrmResult:
    periods = (first, *(Period() for _ in range(HORIZON - 1)))
    request = CrmInput(
        periods,
        situation.coefficient,
        situation.usage,
        situation.years_at_floor,
        situation.claim_free_periods,
        situation.reference_premium,
    )
    try:
        return compute_crm(request, rules)
    except InvalidInput as e:
        name = _CRM_FIELDS.get(e.field or "", e.field or "coefficient")
        raise InvalidInput(e.message, field=f"bonus_malus.{name}") from e


_CRM_FIELDS = {"start": "coefficient", "reference_premium": "reference_premium"}


def _years(without: CrmResult, with_claim: CrmResult) -> tuple[CrmYear, ...]:
    rows = list(zip(without.periods, with_claim.periods, strict=True))
    last_diff = max(
        (i for i, (a, b) in enumerate(rows) if a.coefficient != b.coefficient), default=-1
    )
    shown = rows[: min(len(rows), last_diff + 2)]
    years = []
    for i, (a, b) in enumerate(shown, start=1):
        extra = None if a.premium is None or b.premium is None else b.premium - a.premium
        years.append(CrmYear(i, a.coefficient, b.coefficient, a.premium, b.premium, extra))
    return tuple(years)


def _explain(
    effect: BonusMalusEffect, situation: CrmSituation, label: str
) -> tuple[Explanation, ...]:
    if effect.neutral:
        why = "neutral claim (art. 7: glass, theft or fire only): no increase, no loss of the reduction"
    else:
        raises = ": raises the coefficient (art. 5)" if effect.raises else ": no increase"
        why = f"responsibility {effect.responsibility.value}{raises}"
    lines = [
        Explanation("bonus-malus: claim", f"{label}: {why}"),
        Explanation(
            "bonus-malus: next year",
            f"coefficient now {situation.coefficient:.2f}; next year without the claim "
            f"{effect.next_year_without}, with it {effect.next_year_with}",
            effect.next_year_with,
        ),
    ]
    if effect.extra_premium_total is not None and situation.reference_premium is not None:
        lines.append(
            Explanation(
                "bonus-malus: extra premium",
                f"Σ (premium with − premium without) over {effect.years_until_recovery} year(s) "
                f"until the coefficients merge, reference premium "
                f"{show(situation.reference_premium)}",
                effect.extra_premium_total,
            )
        )
    return tuple(lines)


def bonus_malus_effect(
    situation: CrmSituation,
    responsibility: Responsibility,
    *,
    neutral: bool,
    label: str = "this claim",
    rules: CrmRules | None = None,
) -> BonusMalusEffect:
    """The coefficient next year with and without the claim, and what the claim costs in premium
    until the two paths merge (module docstring)."""
    claim = Claim(responsibility, neutral=neutral, label=label)
    without = _project(situation, Period(), rules)
    with_claim = _project(situation, Period(claims=(claim,)), rules)
    years = _years(without, with_claim)
    extras = [y.extra_premium for y in years if y.extra_premium is not None]
    nxt_without, nxt_with = without.periods[0].coefficient, with_claim.periods[0].coefficient
    effect = BonusMalusEffect(
        responsibility=responsibility,
        neutral=neutral,
        raises=nxt_with > nxt_without,
        coefficient_now=situation.coefficient,
        next_year_without=nxt_without,
        next_year_with=nxt_with,
        years=years,
        years_until_recovery=sum(1 for y in years if y.with_claim != y.without_claim),
        extra_premium_total=None
        if situation.reference_premium is None
        else sum(extras, Decimal("0.00")),
    )
    return replace(effect, explanation=_explain(effect, situation, label))
