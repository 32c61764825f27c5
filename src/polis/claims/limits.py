"""Limits (plafonds), applied after the deductible in this order, ``y`` the running indemnity:

1. per item: each item's share of ``y`` in proportion to its stated amount, ``yᵢ = y × aᵢ / Σ a``,
   capped at its limit (the item's own, else the per-item limit): ``y' = Σ min(yᵢ, Lᵢ)``
   (retained: ``item_limit``);
2. sub-limit of the peril (glass, theft…): ``y' = min(y, L_peril)`` (``sub_limit``);
3. per claim: ``y' = min(y, L_claim)`` (``limit``);
4. per event, given what the event's other claims were paid:
   ``y' = min(y, max(0, L_event − paid_event))`` (``event_limit``);
5. annual aggregate, given what was paid in the year:
   ``y' = min(y, max(0, L_year − paid_year))`` (``aggregate_limit``): a claim that reaches the
   aggregate is paid the remainder only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from polis.claims.steps import RetainedReason, Step, check_money, show
from polis.kernel.errors import InvalidInput

__all__ = [
    "Limits",
    "LossItem",
    "limit_steps",
    "validate_items",
    "validate_limits",
]

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LossItem:
    """One damaged or stolen thing: its stated amount and, optionally, its own limit."""

    label: str
    amount: Decimal
    limit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """The contract's limits; ``None`` (or no entry for a peril) means no such limit."""

    per_claim: Decimal | None = None
    per_event: Decimal | None = None
    per_item: Decimal | None = None
    by_peril: Mapping[str, Decimal] = field(default_factory=dict)
    annual_aggregate: Decimal | None = None


def validate_limits(limits: Limits) -> None:
    check_money(limits.per_claim, "limit")
    check_money(limits.per_event, "limits.per_event")
    check_money(limits.per_item, "limits.per_item")
    check_money(limits.annual_aggregate, "annual_aggregate_limit")
    for peril, amount in limits.by_peril.items():
        check_money(amount, f"sub_limits.{peril}")


def validate_items(items: Sequence[LossItem], loss_amount: Decimal) -> None:
    """Items add up to the loss amount exactly, amounts and limits in cents."""
    for i, item in enumerate(items):
        if not item.label.strip():
            raise InvalidInput("an item needs a label", field=f"items[{i}].label")
        check_money(item.amount, f"items[{i}].amount")
        check_money(item.limit, f"items[{i}].limit")
    total = sum((item.amount for item in items), ZERO)
    if items and total != loss_amount:
        raise InvalidInput(
            f"the items add up to {total}, not to the loss amount {loss_amount}", field="items"
        )


def _item_step(
    running: Decimal, items: Sequence[LossItem], per_item: Decimal | None
) -> Step | None:
    capped = [(item, item.limit if item.limit is not None else per_item) for item in items]
    if not any(limit is not None for _, limit in capped):
        return None
    total = sum((item.amount for item in items), ZERO)
    if total == 0:
        return None
    after, parts = ZERO, []
    for item, limit in capped:
        share = running * item.amount / total
        kept = share if limit is None else min(share, limit)
        after += kept
        if kept != share:
            parts.append(f"{item.label} {show(share)} → limit {show(limit or ZERO)}")
    formula = (
        f"shares of {show(running)} in proportion to the items' amounts; "
        + ("; ".join(parts) if parts else "no item above its limit")
        + f": {show(after)}"
    )
    return Step("limit per item", formula, after, RetainedReason.ITEM_LIMIT, "contract limits")


def _cap(running: Decimal, cap: Decimal, name: str, how: str, reason: RetainedReason) -> Step:
    after = min(running, cap)
    formula = f"min({show(running)}, {how}) = {show(after)}"
    return Step(name, formula, after, reason, "contract limits")


_Cap = tuple[str, Decimal, str, RetainedReason]


def _caps(limits: Limits, peril: str | None, paid_event: Decimal, paid_year: Decimal) -> list[_Cap]:
    """``(name, cap, how, reason)`` of steps 2–5, those that apply."""
    caps: list[_Cap] = []
    if peril is not None and peril in limits.by_peril:
        sub = limits.by_peril[peril]
        caps.append((f"sub-limit {peril}", sub, f"sub-limit {show(sub)}", RetainedReason.SUB_LIMIT))
    if limits.per_claim is not None:
        claim = limits.per_claim
        caps.append(("limit per claim", claim, f"limit {show(claim)}", RetainedReason.LIMIT))
    if limits.per_event is not None:
        left = max(ZERO, limits.per_event - paid_event)
        how = f"event limit {show(limits.per_event)} − paid {show(paid_event)} = {show(left)}"
        caps.append(("limit per event", left, how, RetainedReason.EVENT_LIMIT))
    if limits.annual_aggregate is not None:
        left = max(ZERO, limits.annual_aggregate - paid_year)
        how = (
            f"annual aggregate {show(limits.annual_aggregate)} − paid this year "
            f"{show(paid_year)} = {show(left)}"
        )
        caps.append(("annual aggregate limit", left, how, RetainedReason.AGGREGATE_LIMIT))
    return caps


def limit_steps(
    running: Decimal,
    limits: Limits,
    *,
    items: Sequence[LossItem] = (),
    peril: str | None = None,
    paid_this_event: Decimal = ZERO,
    paid_this_year: Decimal = ZERO,
) -> list[Step]:
    """The limit steps that apply, in the order of the module docstring."""
    validate_limits(limits)
    check_money(paid_this_event, "paid_this_event")
    check_money(paid_this_year, "paid_this_year")
    steps: list[Step] = []
    item_step = _item_step(running, items, limits.per_item)
    if item_step is not None:
        steps.append(item_step)
    current = item_step.after if item_step is not None else running
    for name, cap, how, reason in _caps(limits, peril, paid_this_event, paid_this_year):
        step = _cap(current, cap, name, how, reason)
        steps.append(step)
        current = step.after
    if not steps:
        steps.append(Step("limits", "no limit", running, RetainedReason.LIMIT, "contract limits"))
    return steps
