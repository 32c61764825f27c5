"""The cumul clause: an on-demand top-up and an annual base contract cover the same loss.

An on-demand module can top up an annual base contract (raise theft/breakage cover for one event).
When both apply, the top-up's contract states the **order of intervention**. Each cover is first
settled **as if alone** by the settlement engine (its own deductible, limits, rules): ``b`` for
the base contract, ``t`` for the top-up; then, for a loss ``L``:

- ``primary`` — the top-up pays first: ``top = min(t, L)``, then ``base = min(b, L − top)``;
- ``excess`` — the top-up pays only above what the base pays, up to what it would pay alone:
  ``base = min(b, L)``, then ``top = min(t, L − base)``;
- ``contribution`` — L121-4: together they pay ``T = min(L, b + t)``, each ``T × own / (b + t)``,
  cents by largest remainder (:func:`polis.claims.rules.contributions`). Also the rule when the
  contract states no clause.

Always ``base + top + retained == L``, ``base ≤ b``, ``top ≤ t``, ``retained ≥ 0``
(property-tested). :func:`apply_cumul` turns the top-up's own settlement into what it pays under
the clause: the part the base contract bears is retained as ``other_insurers``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from polis.claims.rules import Contribution, contributions
from polis.claims.settlement import Retained, Settlement
from polis.claims.steps import RetainedReason, check_money, show
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money

__all__ = ["TOP_UP", "CumulClause", "CumulShare", "apply_cumul", "split_cumul"]

#: the name of the on-demand cover in contributions and explanations
TOP_UP = "on-demand top-up"
ZERO = Decimal("0.00")


class CumulClause(StrEnum):
    """The order of intervention stated by the top-up's contract."""

    PRIMARY = "primary"
    EXCESS = "excess"
    CONTRIBUTION = "contribution"


@dataclass(frozen=True, slots=True)
class CumulShare:
    """What each cover pays of ``loss`` and what stays with the insured, and why."""

    clause: CumulClause
    loss: Decimal
    base_alone: Decimal
    top_up_alone: Decimal
    base: Decimal
    top_up: Decimal
    retained: Decimal
    base_name: str
    explanation: tuple[Explanation, ...]


def _capped(value: Decimal, loss: Decimal, what: str, steps: list[Explanation]) -> Decimal:
    if value <= loss:
        return value
    steps.append(
        Explanation(f"{what} capped", f"{show(value)} alone > loss {show(loss)}: L121-1", loss)
    )
    return loss


def split_cumul(
    loss: Decimal,
    base_alone: Decimal,
    top_up_alone: Decimal,
    clause: CumulClause | None,
    *,
    base_name: str = "base contract",
) -> CumulShare:
    """Who pays what of ``loss`` (module docstring); ``clause`` None: ``contribution`` (L121-4)."""
    check_money(loss, "loss.amount")
    check_money(base_alone, "other_insurance.alone")
    check_money(top_up_alone, "indemnity")
    rule = clause or CumulClause.CONTRIBUTION
    steps = [
        Explanation(
            f"cumul clause ({rule.value})",
            ("stated by the contract" if clause else "none stated: L121-4 contribution")
            + f"; alone: {base_name} {show(base_alone)}, {TOP_UP} {show(top_up_alone)}",
            None,
        )
    ]
    b = _capped(base_alone, loss, base_name, steps)
    t = _capped(top_up_alone, loss, TOP_UP, steps)
    if rule is CumulClause.PRIMARY:
        top = t
        base = min(b, loss - top)
        steps.append(Explanation(TOP_UP, f"pays first: min({show(t)}, {show(loss)})", top))
        steps.append(
            Explanation(base_name, f"then min({show(b)}, {show(loss)} − {show(top)})", base)
        )
    elif rule is CumulClause.EXCESS:
        base = b
        top = min(t, loss - base)
        steps.append(Explanation(base_name, f"pays first: min({show(b)}, {show(loss)})", base))
        steps.append(
            Explanation(TOP_UP, f"pays above it: min({show(t)}, {show(loss)} − {show(base)})", top)
        )
    else:
        shares = contributions(loss, [(base_name, b), (TOP_UP, t)])
        base, top = shares[0].contribution, shares[1].contribution
        steps.append(
            Explanation(
                "L121-4",
                f"together min({show(loss)}, {show(b)} + {show(t)}) = {show(base + top)}, "
                f"each × own / Σ: {base_name} {show(base)}, {TOP_UP} {show(top)}",
                base + top,
            )
        )
    retained = loss - base - top
    steps.append(
        Explanation(
            "retained by the insured",
            f"{show(loss)} − {show(base)} − {show(top)} = {show(retained)}",
            retained,
        )
    )
    return CumulShare(
        rule,
        loss,
        base_alone,
        top_up_alone,
        round_money(base),
        round_money(top),
        round_money(retained),
        base_name,
        tuple(steps),
    )


def apply_cumul(settlement: Settlement, share: CumulShare) -> Settlement:
    """The top-up's settlement under the clause: it pays ``share.top_up``; the rest of what it
    would pay alone is borne by the base contract (retained ``other_insurers``)."""
    if settlement.indemnity != share.top_up_alone:
        raise ValueError("the share was computed on another settlement of the top-up")
    moved = settlement.indemnity - share.top_up
    retained = settlement.retained
    if moved:
        label = f"cumul clause ({share.clause.value}): {share.base_name}"
        retained = (*retained, Retained(RetainedReason.OTHER_INSURERS, moved, label))
    lines = (
        *settlement.explanation[:-1],
        *share.explanation,
        Explanation(
            "indemnity",
            f"this contract pays {show(share.top_up)} under the cumul clause "
            f"({share.clause.value}); {share.base_name} pays {show(share.base)}",
            share.top_up,
        ),
    )
    return replace(
        settlement,
        indemnity=share.top_up,
        retained=retained,
        contributions=(
            Contribution(TOP_UP, share.top_up_alone, share.top_up),
            Contribution(share.base_name, share.base_alone, share.base),
        ),
        explanation=lines,
    )
