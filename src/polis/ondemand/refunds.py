"""Refunds: an early stop (the product's rule) and a cancellation before the start (everything).

**Early stop.** The time still due is kept; the rest of each charge of the window is re-priced and
the difference given back, line by line (premium, surcharge, taxes, contributions; the activation
fee is kept), minus the product's refund fee:

- ``none``: no refund (the cover ends, the price stays);
- ``unused_hours``: every **started hour** from the window's start is due: kept until
  ``start + ⌈(stop − start) / 1 h⌉ h``;
- ``unused_days``: the **started Europe/Paris day** is due: kept until the next local midnight.

Kept as well: the time of the window that other live windows of the object cover (they were not
billed for it, as it was covered by this window). Each charge is re-priced with the day lines it was
sold with — same rate, discount and cap headroom; the minimum charge still applies to what is
kept — so **a refund never goes below the minimum charge** and never re-prices another window.
A refund smaller than its fee is no refund.

**Cancellation before the start**: every line of every charge is given back, fees included.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from polis.kernel.explain import Explanation
from polis.kernel.money import round_money
from polis.kernel.time import Window, local_midnight, to_local
from polis.ondemand.intervals import WindowSet, by_local_day, hours_of, intersect, length, union
from polis.ondemand.lines import Line, LineKind, add_lines, lines_of, negate, total_of
from polis.ondemand.pricing import (
    Charge,
    ChargeKind,
    DayCharge,
    fraction_of_year,
    top_up_to_minimum,
)
from polis.ondemand.rates import RateCard, price_contract_for
from polis.ondemand.terms import OnDemandTerms, RefundRule
from polis.ondemand.windows import CoverWindow
from polis.rating.pure import Unit
from polis.rating.taxes import TaxTable
from polis.rating.text import show

__all__ = ["DayRefund", "Refund", "cancellation_refund", "kept_until", "stop_refund"]

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class DayRefund:
    """What a refund takes off one local day: exact pure amount and hours of cover given back."""

    day: date
    amount: Decimal
    hours: Decimal


@dataclass(frozen=True, slots=True)
class Refund:
    """Money given back on a window: negative lines (and a positive ``refund_fee``)."""

    window_id: str
    object_ref: str
    reason: str  # "stop" | "cancel"
    at: datetime
    lines: tuple[Line, ...]
    days: tuple[DayRefund, ...]
    released_fee_days: tuple[date, ...]
    explanation: tuple[Explanation, ...]

    @property
    def total(self) -> Decimal:
        """Σ lines: negative (money back) or zero."""
        return total_of(self.lines)


def kept_until(rule: RefundRule, window: CoverWindow, stop: datetime) -> datetime:
    """The instant up to which the time stays due after a stop at ``stop``."""
    if rule is RefundRule.NONE:
        return window.sold_end
    if rule is RefundRule.UNUSED_HOURS:
        seconds = (stop - window.start).total_seconds()
        hours = max(1, math.ceil(seconds / 3600))
        return min(window.start + timedelta(hours=hours), window.sold_end)
    next_day = to_local(stop).date() + timedelta(days=1)
    return min(local_midnight(next_day), window.sold_end)


def _reprice_days(charge: Charge, kept: WindowSet) -> list[DayCharge]:
    kept_by_day = dict(by_local_day(kept))
    any_kept = bool(kept)
    days = []
    for d in charge.days:
        hours = hours_of(length(kept_by_day.get(d.day, ())))
        if charge.unit is Unit.HOUR:
            time_charge = charge.rate * hours
        elif charge.unit is Unit.DAY:
            time_charge = d.time_charge if hours > 0 else ZERO
        else:
            time_charge = d.time_charge if any_kept else ZERO
        discounted = time_charge * (1 - charge.discount)
        charged = discounted if d.headroom is None else min(discounted, d.headroom)
        days.append(DayCharge(d.day, hours, time_charge, discounted, d.headroom, charged))
    return days


def _reprice(
    card: RateCard, charge: Charge, kept: WindowSet, taxes: TaxTable | None
) -> tuple[tuple[DayCharge, ...], tuple[Line, ...], Decimal]:
    days = _reprice_days(charge, kept)
    minimum = charge.minimum if charge.kind is ChargeKind.ACTIVATION and kept else ZERO
    final = top_up_to_minimum(days, minimum)
    exact = sum((d.charged for d in final), ZERO)
    pure = round_money(exact)
    if not kept and charge.fee_day is None:
        return final, (), pure
    priced = price_contract_for(
        card,
        pure,
        due_date=charge.due_date,
        fee=charge.fee_day is not None,
        fraction=fraction_of_year(charge.unit, final, kept),
        taxes=taxes,
    )
    return final, lines_of(priced), pure


def _day_refunds(pairs: Iterable[tuple[DayCharge, DayCharge]]) -> tuple[DayRefund, ...]:
    sums: dict[date, tuple[Decimal, Decimal]] = {}
    for sold, kept in pairs:
        amount, hours = sums.get(sold.day, (ZERO, ZERO))
        sums[sold.day] = (amount + sold.charged - kept.charged, hours + sold.hours - kept.hours)
    return tuple(
        DayRefund(day, amount, hours)
        for day, (amount, hours) in sorted(sums.items())
        if amount or hours
    )


def stop_refund(
    card: RateCard,
    terms: OnDemandTerms,
    window: CoverWindow,
    charges: Sequence[Charge],
    *,
    others: Iterable[CoverWindow],
    at: datetime,
    taxes: TaxTable | None = None,
) -> Refund:
    """The refund of ``window`` stopped at ``window.end`` (already stopped by ``stop_window``)."""
    rule = terms.refund.rule
    stop = window.end
    until = kept_until(rule, window, stop)
    head = Explanation(
        f"early stop ({rule.value})",
        f"stopped at {stop.isoformat()}; time due until {until.isoformat()}",
        None,
    )
    if rule is RefundRule.NONE:
        note = Explanation("refund", "this product gives no refund after the start", ZERO)
        return Refund(window.id, window.object_ref, "stop", at, (), (), (), (head, note))
    others_live = [o.window for o in others if o.live and o.id != window.id]
    keep = union([Window(window.start, until), *others_live]) if until > window.start else ()
    lines: list[Sequence[Line]] = []
    pairs: list[tuple[DayCharge, DayCharge]] = []
    steps = [head]
    for charge in charges:
        kept = intersect(charge.pieces, keep)
        days, kept_lines, pure = _reprice(card, charge, kept, taxes)
        pairs.extend(zip(charge.days, days, strict=True))
        diff = add_lines(negate(charge.lines), kept_lines)
        lines.append(diff)
        steps.append(
            Explanation(
                f"{charge.kind.value} re-priced",
                f"{show(hours_of(length(kept)))} h of {show(charge.hours)} h kept: pure "
                f"{charge.pure} → {pure}; refund {total_of(diff)}",
                total_of(diff),
            )
        )
    back = add_lines(*lines)
    fee = round_money(terms.refund.fee)
    if -total_of(back) <= fee:
        steps.append(
            Explanation(
                "refund",
                f"{-total_of(back)} to give back does not exceed the refund fee {fee}: no refund",
                ZERO,
            )
        )
        return Refund(window.id, window.object_ref, "stop", at, (), (), (), tuple(steps))
    if fee:
        back = (*back, Line(LineKind.REFUND_FEE, "refund_fee", None, fee))
    steps.append(
        Explanation("refund", f"{-total_of(back) - fee} − fee {fee} = {-total_of(back)}", None)
    )
    return Refund(
        window.id, window.object_ref, "stop", at, back, _day_refunds(pairs), (), tuple(steps)
    )


def cancellation_refund(window: CoverWindow, charges: Sequence[Charge], *, at: datetime) -> Refund:
    """Everything back: the window was cancelled before its start."""
    back = add_lines(*(negate(c.lines) for c in charges))
    days = _day_refunds((d, replace(d, hours=ZERO, charged=ZERO)) for c in charges for d in c.days)
    released = tuple(c.fee_day for c in charges if c.fee_day is not None)
    note = Explanation(
        "cancellation before the start", f"every line given back: {total_of(back)}", None
    )
    return Refund(window.id, window.object_ref, "cancel", at, back, days, released, (note,))
