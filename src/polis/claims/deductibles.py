"""Deductibles (franchises): what the insured keeps of each claim, event or year.

The threshold ``D`` is a fixed ``amount``, or ``rate × base`` clamped to ``[min, max]`` with the base
the loss as valued (after VAT, valuation and the indemnity principle, before the proportional rules)
or the sum insured. Then, ``y`` being the running indemnity and ``L`` the valued loss:

- *absolute* (franchise absolue), per claim: ``y' = max(0, y − D)``;
- *simple* (franchise simple), per claim: ``y' = 0`` when ``L ≤ D`` (nothing paid up to the
  threshold, the threshold included), else ``y' = y`` (everything paid above it);
- per *event* (one deductible for all the claims of one event): ``D`` is reduced by what the claims
  of the same event already retained: ``y' = max(0, y − max(0, D − used_event))``;
- *annual* aggregate deductible (the insured keeps the year's losses up to ``D``):
  ``y' = max(0, y − max(0, D − used_year))``;
- an ``annual_cap`` on a per-claim deductible caps what deductibles retain in the year:
  the retention is ``min(retention, max(0, cap − used_year))``.

A per-event or annual deductible is a fixed amount or a rate of the sum insured (a rate of each
loss with such a scope would make a larger loss pay less); a simple deductible is per claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from polis.claims.steps import RetainedReason, Step, check_money, check_rate, show
from polis.kernel.errors import InvalidInput

__all__ = [
    "Deductible",
    "DeductibleBase",
    "DeductibleKind",
    "DeductibleScope",
    "deductible_step",
    "deductible_threshold",
    "validate_deductible",
]

ZERO = Decimal(0)


class DeductibleKind(StrEnum):
    ABSOLUTE = "absolute"
    SIMPLE = "simple"


class DeductibleScope(StrEnum):
    CLAIM = "claim"
    EVENT = "event"
    ANNUAL = "annual"


class DeductibleBase(StrEnum):
    """What a percentage deductible is a percentage of."""

    LOSS = "loss"
    SUM_INSURED = "sum_insured"


@dataclass(frozen=True, slots=True)
class Deductible:
    """Exactly one of ``amount`` or ``rate`` (with optional ``minimum``/``maximum``)."""

    amount: Decimal | None = None
    rate: Decimal | None = None
    of: DeductibleBase = DeductibleBase.LOSS
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    kind: DeductibleKind = DeductibleKind.ABSOLUTE
    scope: DeductibleScope = DeductibleScope.CLAIM
    annual_cap: Decimal | None = None


def validate_deductible(deductible: Deductible, field: str = "deductible") -> None:
    """Refuse incoherent deductibles, naming the field (``deductible.kind``…)."""
    d = deductible
    if (d.amount is None) == (d.rate is None):
        raise InvalidInput("give exactly one of amount or rate", field=f"{field}.amount")
    check_money(d.amount, f"{field}.amount")
    check_rate(d.rate, f"{field}.rate")
    check_money(d.minimum, f"{field}.min")
    check_money(d.maximum, f"{field}.max")
    check_money(d.annual_cap, f"{field}.annual_cap")
    if d.amount is not None and (d.minimum is not None or d.maximum is not None):
        raise InvalidInput("min/max only apply to a rate", field=f"{field}.min")
    if d.minimum is not None and d.maximum is not None and d.minimum > d.maximum:
        raise InvalidInput(f"min {d.minimum} is above max {d.maximum}", field=f"{field}.min")
    if d.kind is DeductibleKind.SIMPLE and d.scope is not DeductibleScope.CLAIM:
        raise InvalidInput(
            f"a simple deductible applies per claim; allowed with scope {d.scope.value}: 'absolute'",
            field=f"{field}.kind",
        )
    if d.scope is not DeductibleScope.CLAIM and d.rate is not None and d.of is DeductibleBase.LOSS:
        raise InvalidInput(
            f"a deductible per {d.scope.value} is a fixed amount or a rate of the sum insured; "
            "allowed: 'sum_insured'",
            field=f"{field}.of",
        )
    if d.annual_cap is not None and d.scope is DeductibleScope.ANNUAL:
        raise InvalidInput(
            "an annual deductible is already an annual aggregate: no annual_cap",
            field=f"{field}.annual_cap",
        )


def deductible_threshold(
    deductible: Deductible, *, loss: Decimal, sum_insured: Decimal | None, field: str = "deductible"
) -> tuple[Decimal, str]:
    """``D``: the amount, or ``clamp(rate × base, min, max)``; with its formula."""
    if deductible.amount is not None:
        return deductible.amount, f"fixed {show(deductible.amount)}"
    assert deductible.rate is not None
    if deductible.of is DeductibleBase.SUM_INSURED:
        if sum_insured is None:
            raise InvalidInput(
                "a deductible on the sum insured needs sum_insured", field=f"{field}.of"
            )
        base, label = sum_insured, "sum insured"
    else:
        base, label = loss, "valued loss"
    raw = deductible.rate * base
    value = raw
    if deductible.minimum is not None:
        value = max(value, deductible.minimum)
    if deductible.maximum is not None:
        value = min(value, deductible.maximum)
    formula = f"{show(deductible.rate)} × {label} {show(base)} = {show(raw)}"
    if value != raw:
        bounds = f"min {show(deductible.minimum or ZERO)}, max {show(deductible.maximum or raw)}"
        formula += f" → within [{bounds}] = {show(value)}"
    return value, formula


def _retention(
    running: Decimal,
    threshold: Decimal,
    deductible: Deductible,
    loss: Decimal,
    used: tuple[Decimal, Decimal],
) -> tuple[Decimal, str]:
    """What the deductible keeps of ``running`` before any annual cap; ``used`` = (year, event)."""
    used_year, used_event = used
    if deductible.kind is DeductibleKind.SIMPLE:
        if loss <= threshold:
            return running, f"simple: valued loss {show(loss)} ≤ {show(threshold)}, nothing paid"
        return ZERO, f"simple: valued loss {show(loss)} > {show(threshold)}, everything paid"
    if deductible.scope is DeductibleScope.CLAIM:
        return min(running, threshold), f"absolute: {show(threshold)} deducted"
    used_now = used_event if deductible.scope is DeductibleScope.EVENT else used_year
    left = max(ZERO, threshold - used_now)
    where = "this event" if deductible.scope is DeductibleScope.EVENT else "this year"
    return min(running, left), (
        f"{deductible.scope.value} deductible: {show(threshold)} − already retained {where} "
        f"{show(used_now)} = {show(left)} left"
    )


def deductible_step(
    running: Decimal,
    deductible: Deductible | None,
    *,
    loss: Decimal,
    sum_insured: Decimal | None,
    annual_used: Decimal = ZERO,
    event_used: Decimal = ZERO,
    field: str = "deductible",
) -> Step:
    """Apply the deductible to the running indemnity (rules in the module docstring)."""
    name, reference = "deductible", "contract deductible clause"
    if deductible is None:
        return Step(name, "no deductible", running, RetainedReason.DEDUCTIBLE, reference)
    validate_deductible(deductible, field)
    check_money(annual_used, "annual_deductible_used")
    check_money(event_used, "event_deductible_used")
    threshold, how = deductible_threshold(
        deductible, loss=loss, sum_insured=sum_insured, field=field
    )
    kept, rule = _retention(running, threshold, deductible, loss, (annual_used, event_used))
    if deductible.annual_cap is not None:
        left = max(ZERO, deductible.annual_cap - annual_used)
        if kept > left:
            rule += (
                f"; annual cap {show(deductible.annual_cap)} − already retained {show(annual_used)}"
                f" = {show(left)}: keeps {show(left)}"
            )
            kept = left
    after = running - kept
    formula = f"D = {how}; {rule}: {show(running)} − {show(kept)} = {show(after)}"
    return Step(
        f"{name} ({deductible.kind.value}, per {deductible.scope.value})",
        formula,
        after,
        RetainedReason.DEDUCTIBLE,
        reference,
    )
