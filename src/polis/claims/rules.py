"""The proportional rules and the contributions of several insurers (Code des assurances).

- **L113-8** intentional misstatement: the contract is void, no indemnity (not a proportion);
- **L113-9** non-intentional misstatement found after the loss (premium rule):
  ``indemnity × rate_paid / rate_due`` (no change when ``rate_paid ≥ rate_due``);
- **L121-5** under-insurance (capital rule): ``indemnity × sum_insured / actual_value`` when
  ``actual_value > sum_insured × (1 + tolerance)``; set aside by first-loss cover, an agreed value,
  or while the gap is within the tolerance (exactly at the threshold: no reduction);
- **L121-4** several insurances of the same interest: with ``aᵢ`` what each insurer would pay
  alone, they pay together ``T = min(loss, Σ aᵢ)`` and each contributes ``T × aᵢ / Σ aᵢ``; the cents
  are split by largest remainder (kernel ``allocate``) so the contributions add up to ``T`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from polis.claims.steps import RetainedReason, Step, check_money, check_rate, show
from polis.kernel.errors import InvalidInput
from polis.kernel.money import allocate, round_money

__all__ = [
    "THIS_INSURER",
    "Contribution",
    "Misstatement",
    "OtherInsurer",
    "capital_rule_step",
    "contributions",
    "other_insurers_step",
    "premium_rule_step",
]

THIS_INSURER = "this insurer"


@dataclass(frozen=True, slots=True)
class Misstatement:
    """A misstatement of the risk found after the loss: the rates (or premiums) paid and due."""

    rate_paid: Decimal | None = None
    rate_due: Decimal | None = None
    intentional: bool = False


@dataclass(frozen=True, slots=True)
class OtherInsurer:
    """Another insurer of the same interest and what it would pay alone (L121-4)."""

    name: str
    alone: Decimal


@dataclass(frozen=True, slots=True)
class Contribution:
    """One insurer's share of a loss insured several times (L121-4)."""

    insurer: str
    alone: Decimal
    contribution: Decimal


def premium_rule_step(amount: Decimal, misstatement: Misstatement | None) -> Step:
    """L113-9: ``amount × rate_paid / rate_due`` (ratio capped at 1)."""
    name, reference = "premium rule (L113-9)", "L113-9 al. 3"
    if misstatement is None:
        return Step(
            name, "no misstatement: not applied", amount, RetainedReason.PREMIUM_RULE, reference
        )
    paid, due = misstatement.rate_paid, misstatement.rate_due
    if paid is None or due is None:
        missing = "rate_paid" if paid is None else "rate_due"
        raise InvalidInput(
            "a non-intentional misstatement needs rate_paid and rate_due",
            field=f"misstatement.{missing}",
        )
    check_rate(paid, "misstatement.rate_paid", upper=None)
    check_rate(due, "misstatement.rate_due", upper=None)
    if due == 0:
        raise InvalidInput("must be > 0", field="misstatement.rate_due")
    if paid >= due:
        formula = f"rate paid {show(paid)} ≥ rate due {show(due)}: no reduction"
        return Step(name, formula, amount, RetainedReason.PREMIUM_RULE, reference)
    after = amount * paid / due
    formula = f"{show(amount)} × {show(paid)} / {show(due)} = {show(after)}"
    return Step(name, formula, after, RetainedReason.PREMIUM_RULE, reference)


def _capital_rule_set_aside(
    sum_insured: Decimal | None,
    actual_value: Decimal | None,
    first_loss: bool,
    agreed_value: bool,
    tolerance: Decimal,
) -> str | None:
    """Why the capital rule does not apply (``None``: it applies)."""
    if first_loss:
        return "first-loss cover (premier risque): set aside"
    if agreed_value:
        return "agreed value (valeur agréée): set aside"
    if sum_insured is None or actual_value is None:
        return "sum insured or actual value not stated: not applied"
    threshold = sum_insured * (1 + tolerance)
    if actual_value <= threshold:
        return (
            f"actual value {show(actual_value)} ≤ sum insured {show(sum_insured)} × "
            f"(1 + {show(tolerance)}) = {show(threshold)}: no under-insurance, not applied"
        )
    return None


def capital_rule_step(
    amount: Decimal,
    *,
    sum_insured: Decimal | None,
    actual_value: Decimal | None,
    first_loss: bool = False,
    agreed_value: bool = False,
    tolerance: Decimal = Decimal(0),
) -> Step:
    """L121-5: ``amount × sum_insured / actual_value`` unless set aside (module docstring)."""
    check_money(sum_insured, "sum_insured")
    check_money(actual_value, "actual_value")
    check_rate(tolerance, "tolerance", upper=None)
    name, reference = "capital rule (L121-5)", "L121-5"
    aside = _capital_rule_set_aside(sum_insured, actual_value, first_loss, agreed_value, tolerance)
    if aside is not None or sum_insured is None or actual_value is None:
        why = aside or "not applied"
        return Step(name, why, amount, RetainedReason.CAPITAL_RULE, reference)
    after = amount * sum_insured / actual_value
    formula = (
        f"{show(amount)} × sum insured {show(sum_insured)} / actual value {show(actual_value)} "
        f"= {show(after)}"
    )
    if tolerance > 0:
        threshold = sum_insured * (1 + tolerance)
        formula += (
            f" (actual value above sum insured × (1 + tolerance {show(tolerance)}) = "
            f"{show(threshold)})"
        )
    return Step(name, formula, after, RetainedReason.CAPITAL_RULE, reference)


def contributions(loss: Decimal, alone: Sequence[tuple[str, Decimal]]) -> tuple[Contribution, ...]:
    """L121-4: ``T = min(loss, Σ aᵢ)`` shared as ``T × aᵢ / Σ aᵢ``, cents by largest remainder.

    ``alone`` lists ``(insurer, what it would pay alone)`` in cents; ``loss`` is rounded to the cent.
    Each contribution is at most what the insurer would pay alone, and they add up to ``T``.
    """
    if not alone:
        raise InvalidInput("at least one insurer is needed", field="other_insurers")
    amounts = [a for _, a in alone]
    total_alone = sum(amounts, Decimal(0))
    if total_alone == 0:
        return tuple(Contribution(name, a, Decimal("0.00")) for name, a in alone)
    shared = min(round_money(loss), total_alone)
    parts = allocate(shared, amounts)
    return tuple(Contribution(name, a, part) for (name, a), part in zip(alone, parts, strict=True))


def other_insurers_step(
    amount: Decimal, loss: Decimal, others: Sequence[OtherInsurer]
) -> tuple[Step, tuple[Contribution, ...]]:
    """This insurer's contribution when others insure the same interest (L121-4)."""
    name, reference = "other insurers (L121-4)", "L121-4"
    if not others:
        return Step(name, "no other insurer", amount, RetainedReason.OTHER_INSURERS, reference), ()
    for i, other in enumerate(others):
        check_money(other.alone, f"other_insurers[{i}].alone")
        if not other.name.strip() or other.name == THIS_INSURER:
            raise InvalidInput(
                "a distinct, non-empty name is needed", field=f"other_insurers[{i}].name"
            )
    own = round_money(amount)
    alone = [(THIS_INSURER, own), *((o.name, o.alone) for o in others)]
    shares = contributions(loss, alone)
    total_alone = sum((a for _, a in alone), Decimal(0))
    listed = ", ".join(f"{c.insurer} {show(c.alone)}" for c in shares)
    shared = min(round_money(loss), total_alone)
    formula = (
        f"alone: {listed}; together they pay min(loss {show(round_money(loss))}, "
        f"Σ {show(total_alone)}) = {show(shared)}, each × own / Σ: "
        + ", ".join(f"{c.insurer} {show(c.contribution)}" for c in shares)
    )
    return Step(
        name, formula, shares[0].contribution, RetainedReason.OTHER_INSURERS, reference
    ), shares
