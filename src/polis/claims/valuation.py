"""VAT, valuation of the loss and the indemnity principle (L121-1): the first money steps.

- **VAT**: when the stated amount includes VAT and the insured recovers VAT (VAT-registered), the
  indemnity is computed excluding VAT: ``excl = incl / (1 + rate)``; the VAT is retained (``vat``).
- **valuation** under the contract's basis:
  ``replacement_new`` (valeur à neuf): the amount, no depreciation;
  ``use_value`` (valeur d'usage): ``amount × (1 − d)``, ``d`` the depreciation rate or the rate of the
  age schedule for the thing's age (retained: ``depreciation``);
  ``market`` (valeur vénale), ``expert`` (VRADE, vehicles), ``agreed`` (valeur agréée):
  ``min(amount, value)`` with the market value, the expert's value or the agreed value (retained:
  ``indemnity_principle``);
- **indemnity principle** (L121-1): never more than the value of the thing at the time of loss:
  ``min(amount, actual_value)`` (not for an agreed value, which binds both parties).

The depreciation helpers are those of :mod:`polis.rating.bases` (same rules as for premium bases).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from polis.claims.steps import RetainedReason, Step, check_money, check_rate, show
from polis.kernel.errors import InvalidInput
from polis.rating.bases import AgeBand, depreciation_for_age, use_value

__all__ = [
    "ValuationBasis",
    "Vat",
    "indemnity_principle_step",
    "valuation_step",
    "vat_step",
]

ZERO = Decimal(0)


class ValuationBasis(StrEnum):
    """How the damaged thing is valued (the contract's valuation clause)."""

    REPLACEMENT_NEW = "replacement_new"
    USE_VALUE = "use_value"
    MARKET = "market"
    AGREED = "agreed"
    EXPERT = "expert"


@dataclass(frozen=True, slots=True)
class Vat:
    """The VAT facts of a loss: the rate, whether the stated amount includes it, whether the
    insured recovers it (VAT-registered business using the thing for taxable activity)."""

    rate: Decimal = ZERO
    amount_includes_vat: bool = False
    recoverable: bool = False


def vat_step(amount: Decimal, vat: Vat) -> tuple[Step, str | None]:
    """``excl = incl / (1 + rate)`` when the amount includes recoverable VAT; otherwise unchanged.

    Returns the step and, when the stated amount excludes a VAT the insured does not recover, a
    note (that VAT is not part of the stated loss, so it is not indemnified: decision in
    docs/claims.md).
    """
    check_rate(vat.rate, "loss.vat_rate")
    reference = "VAT: CGI art. 271 (deduction); indemnity principle L121-1"
    if vat.rate == 0:
        return Step("VAT", "no VAT stated", amount, RetainedReason.VAT, reference), None
    if vat.amount_includes_vat and vat.recoverable:
        excl = amount / (1 + vat.rate)
        formula = (
            f"amount incl. VAT {show(amount)} / (1 + {show(vat.rate)}) = {show(excl)} excl. VAT; "
            f"the insured recovers the VAT {show(amount - excl)}: not indemnified"
        )
        return Step("VAT", formula, excl, RetainedReason.VAT, reference), None
    if vat.amount_includes_vat:
        formula = f"VAT not recoverable: the amount incl. VAT {show(amount)} is indemnified"
        return Step("VAT", formula, amount, RetainedReason.VAT, reference), None
    if vat.recoverable:
        formula = f"amount stated excl. VAT {show(amount)}; VAT recoverable: nothing to remove"
        return Step("VAT", formula, amount, RetainedReason.VAT, reference), None
    vat_amount = amount * vat.rate
    note = (
        f"VAT {show(vat_amount)} ({show(vat.rate)} × {show(amount)}): not recoverable by the "
        "insured, but the loss is stated excl. VAT, so it is not part of it and is not "
        "indemnified; state the loss incl. VAT to have it indemnified"
    )
    formula = f"amount stated excl. VAT {show(amount)}, kept as stated; {note}"
    return Step("VAT", formula, amount, RetainedReason.VAT, reference), note


def _depreciation_rate(
    rate: Decimal | None, age_years: Decimal | None, schedule: Sequence[AgeBand]
) -> tuple[Decimal, str]:
    if rate is not None and schedule:
        raise InvalidInput(
            "give either a depreciation_rate or an age schedule, not both",
            field="valuation.depreciation_rate",
        )
    if rate is not None:
        check_rate(rate, "valuation.depreciation_rate")
        return rate, f"depreciation rate {show(rate)}"
    if schedule:
        if age_years is None:
            raise InvalidInput(
                "an age schedule needs the age in years", field="valuation.age_years"
            )
        check_rate(age_years, "valuation.age_years", upper=None)
        found = depreciation_for_age(age_years, schedule, field="valuation.schedule")
        return found, f"age {show(age_years)} years → schedule rate {show(found)}"
    raise InvalidInput(
        "use_value needs a depreciation_rate or an age schedule (schedule + age_years)",
        field="valuation.depreciation_rate",
    )


def valuation_step(
    amount: Decimal,
    basis: ValuationBasis,
    *,
    depreciation_rate: Decimal | None = None,
    age_years: Decimal | None = None,
    schedule: Sequence[AgeBand] = (),
    value: Decimal | None = None,
) -> Step:
    """The loss under the valuation basis (formulas in the module docstring)."""
    check_money(value, "valuation.value")
    if basis is ValuationBasis.USE_VALUE:
        rate, how = _depreciation_rate(depreciation_rate, age_years, schedule)
        after = use_value(amount, rate)
        formula = f"use value = {show(amount)} × (1 − {show(rate)}) [{how}] = {show(after)}"
        return Step(
            "valuation: use value (valeur d'usage)",
            formula,
            after,
            RetainedReason.DEPRECIATION,
            "contract valuation clause",
        )
    if depreciation_rate is not None or schedule:
        raise InvalidInput(
            f"depreciation only applies to use_value, not {basis.value}",
            field="valuation.depreciation_rate",
        )
    if basis is ValuationBasis.REPLACEMENT_NEW:
        formula = f"replacement-new value (valeur à neuf): {show(amount)}, no depreciation"
        return Step(
            "valuation: replacement new",
            formula,
            amount,
            RetainedReason.DEPRECIATION,
            "contract valuation clause (valeur à neuf)",
        )
    return _value_cap(amount, basis, value)


_VALUE_LABELS = {
    ValuationBasis.MARKET: "market value (valeur vénale)",
    ValuationBasis.EXPERT: "expert replacement value (VRADE)",
    ValuationBasis.AGREED: "agreed value (valeur agréée)",
}


def _value_cap(amount: Decimal, basis: ValuationBasis, value: Decimal | None) -> Step:
    """``min(amount, value)`` for the market, expert and agreed bases."""
    label = _VALUE_LABELS[basis]
    if value is None:
        formula = f"{label} not stated: the amount {show(amount)} is taken as assessed"
        after = amount
    else:
        after = min(amount, value)
        formula = f"min(loss {show(amount)}, {label} {show(value)}) = {show(after)}"
    return Step(f"valuation: {label}", formula, after, RetainedReason.INDEMNITY_PRINCIPLE, "L121-1")


def indemnity_principle_step(
    amount: Decimal, actual_value: Decimal | None, basis: ValuationBasis
) -> Step:
    """``min(amount, actual value at the time of loss)`` (L121-1); an agreed value is not discussed."""
    name = "indemnity principle (L121-1)"
    if basis is ValuationBasis.AGREED:
        formula = "agreed value: binds both parties, the actual value is not discussed"
        return Step(name, formula, amount, RetainedReason.INDEMNITY_PRINCIPLE, "L121-1")
    if actual_value is None:
        formula = f"no actual value stated: {show(amount)} kept"
        return Step(name, formula, amount, RetainedReason.INDEMNITY_PRINCIPLE, "L121-1")
    after = min(amount, actual_value)
    formula = f"min({show(amount)}, value at the time of loss {show(actual_value)}) = {show(after)}"
    return Step(name, formula, after, RetainedReason.INDEMNITY_PRINCIPLE, "L121-1")
