"""Windows opened by a trigger whose end is not known yet (a geofence entry, a partner start) (pure).

A geofence entry or a rental handed over opens cover *now* with no end: the window is booked with a
**provisional end** (:func:`provisional_end`) and charged for it up front, like any activation
(the certificate states that period). When the trigger closes it (the exit, the rental returned),
the window is **closed** by :func:`close_trigger_window`: stopped at that instant and re-priced to
the **started units** — every started hour (hour and act units: ``unused_hours``), every started
Europe/Paris day (day units: ``unused_days``) — with **no refund fee**, whatever the product's own
early-stop rule: the provisional end was Polis' guess, not the insured's choice. Acts are sold
whole (no refund).

The provisional end is ``hint`` (the partner's expected end) or ``start + default``, cut to the
product's longest window (``max_window_hours``, ``act_max_hours`` per act) and, for a product sold
on some weekdays only, to the local midnight that ends the last allowed day in a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from polis.kernel.time import ensure_utc, local_midnight, to_local
from polis.ondemand.activation import Stop, stop
from polis.ondemand.pricing import Charge
from polis.ondemand.rates import RateCard
from polis.ondemand.subscription import Subscription
from polis.ondemand.terms import WEEKDAYS, OnDemandTerms, RefundRule, RefundTerms
from polis.ondemand.windows import CoverWindow
from polis.rating.pure import Unit
from polis.rating.taxes import TaxTable

__all__ = [
    "DEFAULT_OPEN_LENGTH",
    "close_terms",
    "close_trigger_window",
    "provisional_end",
]

#: provisional length of an open-ended trigger window when nothing better is known
DEFAULT_OPEN_LENGTH = timedelta(hours=24)


def provisional_end(
    terms: OnDemandTerms,
    unit: Unit,
    start: datetime,
    *,
    hint: datetime | None = None,
    default: timedelta = DEFAULT_OPEN_LENGTH,
) -> datetime:
    """The end to book an open-ended window with (see the module docstring)."""
    begin = ensure_utc(start, field="start")
    end = ensure_utc(hint, field="expected_end") if hint is not None else begin + default
    longest = terms.act_max_hours if unit is Unit.ACT and terms.act_max_hours else None
    cap = timedelta(hours=min(terms.max_window_hours, longest or terms.max_window_hours))
    end = min(end, begin + cap)
    if terms.allowed_weekdays is not None:
        allowed = set(terms.allowed_weekdays)
        day = to_local(begin).date()
        for _ in range(7):
            if WEEKDAYS[day.weekday()] not in allowed:
                break
            day += timedelta(days=1)
        if local_midnight(day) > begin:  # else the start day is not sold: the window is refused
            end = min(end, local_midnight(day))
    return end


def close_terms(terms: OnDemandTerms, unit: Unit) -> OnDemandTerms:
    """``terms`` with the refund rule of a trigger close: started units due, no fee."""
    rule = {Unit.HOUR: RefundRule.UNUSED_HOURS, Unit.DAY: RefundRule.UNUSED_DAYS}.get(
        unit, RefundRule.NONE
    )
    return terms.model_copy(update={"refund": RefundTerms(rule=rule, fee=Decimal(0))})


def close_trigger_window(
    subscription: Subscription,
    card: RateCard,
    terms: OnDemandTerms,
    window: CoverWindow,
    charges: Sequence[Charge],
    *,
    at: datetime,
    others: Iterable[CoverWindow] = (),
    taxes: TaxTable | None = None,
) -> Stop:
    """Close a trigger window at ``at`` (its start < ``at`` < its end): a stop at that instant,
    re-priced to the started units without a fee."""
    moment = ensure_utc(at, field="at")
    return stop(
        subscription,
        card,
        close_terms(terms, subscription.unit),
        window,
        charges,
        now=moment,
        others=others,
        taxes=taxes,
    )
