"""Dated mode of the bonus-malus: annual reference periods built from due dates and dated claims.

Due dates are annual: ``D_k = add_months(D_1, 12 k)`` (a 29 February due date is 28 February in
common years). The reference period of ``D_k`` ends (exclusive) at ``D_k − 2 months`` and lasts 12
months (art. 9), as the half-open window ``[D_k − 14 months, D_k − 2 months)``. Periods are
contiguous — period k starts where period k−1 ended — so that every claim belongs to exactly one
period (this differs from ``D_k − 14 months`` by a day only around a clipped 29 February).

The first period starts at the subscription date when given: 9 to 12 months (art. 9). Shorter: the
first due date changes nothing and its claims count at the next one; longer: refused.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from polis.actuarial.crm import Claim, CrmInput, CrmResult, PendingClaim, Period, compute_crm
from polis.actuarial.crm_rules import CrmRules, Usage, load_rules
from polis.kernel.errors import InvalidInput
from polis.kernel.time import add_months

__all__ = [
    "DatedPeriods",
    "History",
    "Interruption",
    "compute_crm_history",
    "due_dates",
    "periods_from_history",
    "reference_end",
]

_Dated = tuple[dt.date, int, Claim]


@dataclass(frozen=True, slots=True)
class Interruption:
    """The contract was interrupted or suspended during ``[start, end)``."""

    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class History:
    """A contract's dated history; claims need a ``date``."""

    first_due_date: dt.date
    last_due_date: dt.date
    subscription_date: dt.date | None = None
    claims: Sequence[Claim] = ()
    interruptions: Sequence[Interruption] = ()


@dataclass(frozen=True, slots=True)
class DatedPeriods:
    periods: tuple[Period, ...]
    pending_claims: tuple[PendingClaim, ...]


def compute_crm_history(
    history: History,
    *,
    start: Decimal = Decimal("1.00"),
    usage: Usage = Usage.STANDARD,
    years_at_floor: int = 0,
    claim_free_periods: int = 0,
    reference_premium: Decimal | None = None,
    rules: CrmRules | None = None,
) -> CrmResult:
    """The coefficient at each due date: :func:`periods_from_history`, then ``compute_crm``."""
    rules = rules if rules is not None else load_rules()
    dated = periods_from_history(history, rules)
    request = CrmInput(
        dated.periods, start, usage, years_at_floor, claim_free_periods, reference_premium
    )
    return replace(compute_crm(request, rules), pending_claims=dated.pending_claims)


def reference_end(due_date: dt.date, rules: CrmRules) -> dt.date:
    """``D − 2 months``: exclusive end of the reference period of the due date ``D`` (art. 9)."""
    return add_months(due_date, -rules.months_before_due)


def due_dates(history: History, rules: CrmRules) -> list[dt.date]:
    """``D_k = add_months(first_due_date, 12 k)`` for ``k = 0 … n − 1`` up to ``last_due_date``."""
    first, last = history.first_due_date, history.last_due_date
    field = "history.last_due_date"
    if last < first:
        raise InvalidInput(f"must be on or after the first due date {first}", field=field)
    years = last.year - first.year
    if add_months(first, 12 * years) != last:
        raise InvalidInput(
            f"due dates are annual: must be the first due date {first} plus whole years",
            field=field,
        )
    if years + 1 > rules.max_periods:
        raise InvalidInput(f"at most {rules.max_periods} annual due dates", field=field)
    return [add_months(first, 12 * k) for k in range(years + 1)]


def periods_from_history(history: History, rules: CrmRules | None = None) -> DatedPeriods:
    """Cut the history into reference periods, one per due date, and list the pending claims."""
    rules = rules if rules is not None else load_rules()
    dues = due_dates(history, rules)
    ends = [reference_end(d, rules) for d in dues]
    first_start, short = _first_start(history, ends[0], rules)
    starts = [first_start, *ends[:-1]]
    if short and len(starts) > 1:
        starts[1] = first_start  # the short first period is merged into the next one
    for i, gap in enumerate(history.interruptions):
        if gap.end <= gap.start:
            raise InvalidInput(
                f"must be after the start {gap.start}", field=f"history.interruptions[{i}].end"
            )
    buckets, pending = _assign_claims(history, dues[0], ends, first_start, short, rules)
    periods = [
        _period(history, dues[k], starts[k], ends[k], buckets[k], rules) for k in range(len(dues))
    ]
    if short:
        periods[0] = _short_first_period(dues[0], first_start, ends[0], rules)
    return DatedPeriods(tuple(periods), tuple(pending))


def _first_start(history: History, first_end: dt.date, rules: CrmRules) -> tuple[dt.date, bool]:
    """Start of the first reference period, and whether it is shorter than 9 months."""
    subscription = history.subscription_date
    if subscription is None:
        return add_months(first_end, -rules.reference_months), False
    if subscription >= history.first_due_date:
        raise InvalidInput(
            f"must be before the first due date {history.first_due_date}",
            field="history.subscription_date",
        )
    if subscription < add_months(first_end, -rules.first_max_months):
        raise InvalidInput(
            f"the first reference period lasts {rules.first_min_months} to "
            f"{rules.first_max_months} months (art. 9), but from the subscription {subscription} "
            f"to {first_end} ({rules.months_before_due} months before the first due date) it is "
            f"longer: give the first annual due date after the subscription",
            field="history.first_due_date",
        )
    return subscription, subscription > add_months(first_end, -rules.first_min_months)


def _assign_claims(
    history: History,
    first_due: dt.date,
    ends: list[dt.date],
    first_start: dt.date,
    short: bool,
    rules: CrmRules,
) -> tuple[list[list[_Dated]], list[PendingClaim]]:
    """Put each claim in the period whose half-open window holds its date; later: pending."""
    if len(history.claims) > rules.max_periods * rules.max_claims_per_period:
        raise InvalidInput("too many claims", field="history.claims")
    buckets: list[list[_Dated]] = [[] for _ in ends]
    pending: list[PendingClaim] = []
    for i, claim in enumerate(history.claims):
        day = _claim_date(claim, i, first_start)
        k = bisect_right(ends, day)  # first period whose end is after the date
        if short and k == 0:
            k = 1
        if k < len(ends):
            buckets[k].append((day, i, claim))
        else:
            pending.append(PendingClaim(i, claim, _counts_at(first_due, day, len(ends), rules)))
    for k, bucket in enumerate(buckets):
        if len(bucket) > rules.max_claims_per_period:
            raise InvalidInput(
                f"more than {rules.max_claims_per_period} claims in the reference period of "
                f"period {k + 1}",
                field="history.claims",
            )
    return buckets, pending


def _claim_date(claim: Claim, index: int, first_start: dt.date) -> dt.date:
    field = f"history.claims[{index}].date"
    if claim.date is None:
        raise InvalidInput("a dated claim needs its date", field=field)
    if claim.date < first_start:
        raise InvalidInput(
            f"{claim.date} is before the first reference period, which starts on {first_start}",
            field=field,
        )
    return claim.date


def _counts_at(first_due: dt.date, day: dt.date, from_k: int, rules: CrmRules) -> dt.date | None:
    """The first due date ``D_k`` (``k ≥ from_k``) whose reference period ends after ``day``."""
    k = max(from_k, day.year - first_due.year - 1)
    try:
        while reference_end(add_months(first_due, 12 * k), rules) <= day:
            k += 1
        return add_months(first_due, 12 * k)
    except ValueError:  # beyond year 9999
        return None


def _period(
    history: History,
    due: dt.date,
    start: dt.date,
    end: dt.date,
    bucket: list[_Dated],
    rules: CrmRules,
) -> Period:
    """The period of one due date; interrupted if an interruption > 3 months overlaps it."""
    months = rules.interruption_threshold_months
    notes = tuple(
        f"interruption {gap.start} → {gap.end} (more than {months} months) overlaps the "
        f"reference period {start} → {end} (art. 9)"
        for gap in history.interruptions
        if gap.end > add_months(gap.start, months) and gap.start < end and start < gap.end
    )
    claims = tuple(claim for _, _, claim in sorted(bucket, key=lambda t: (t[0], t[1])))
    return Period(
        claims=claims,
        interrupted=bool(notes),
        due_date=due,
        reference_start=start,
        reference_end=end,
        notes=notes,
    )


def _short_first_period(due: dt.date, start: dt.date, end: dt.date, rules: CrmRules) -> Period:
    return Period(
        no_change_reason=f"first reference period shorter than {rules.first_min_months} months",
        due_date=due,
        reference_start=start if start < end else None,
        reference_end=end if start < end else None,
        notes=(
            f"subscription {start}, reference end {end}: its claims count at the next due date",
        ),
    )
