"""The on-demand use cases as pure functions: activate, extend, stop early, cancel.

Each takes what the persistence layer loaded (the subscription, the customer and their limits, the
object's :class:`UsageBook`, the month's volume, the window and its charges) and the clock
(``now``), and returns the new window, the charge or refund, the ledger entry to store and the
updated book. Nothing here reads a clock, a database or the environment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from polis.kernel.errors import InvalidInput
from polis.kernel.time import ensure_utc, to_local
from polis.ondemand.billing import LedgerEntry, charge_entry, refund_entry
from polis.ondemand.customers import Customer
from polis.ondemand.limits import CustomerLimits, check_activation_allowed
from polis.ondemand.pricing import (
    Charge,
    ChargeKind,
    MonthVolume,
    UsageBook,
    price_time,
    volume_discount,
)
from polis.ondemand.rates import RateCard
from polis.ondemand.refunds import Refund, cancellation_refund, stop_refund
from polis.ondemand.subscription import Subscription
from polis.ondemand.terms import OnDemandTerms
from polis.ondemand.windows import (
    CoverWindow,
    cancel_window,
    extend_window,
    open_window,
    plan_window,
    stop_window,
)
from polis.rating.taxes import TaxTable

__all__ = [
    "Activation",
    "Cancellation",
    "Extension",
    "Stop",
    "activate",
    "book_of",
    "cancel",
    "extend",
    "stop",
]


@dataclass(frozen=True, slots=True)
class Activation:
    window: CoverWindow
    charge: Charge
    entry: LedgerEntry
    book: UsageBook


@dataclass(frozen=True, slots=True)
class Extension:
    window: CoverWindow
    charge: Charge
    entry: LedgerEntry
    book: UsageBook


@dataclass(frozen=True, slots=True)
class Stop:
    window: CoverWindow
    refund: Refund
    entry: LedgerEntry


@dataclass(frozen=True, slots=True)
class Cancellation:
    window: CoverWindow
    refund: Refund
    entry: LedgerEntry


def _same_subscription(subscription: Subscription, card: RateCard, terms: OnDemandTerms) -> None:
    product = card.product
    if (subscription.product_id, subscription.product_version) != (product.id, product.version):
        raise InvalidInput("the rate card is for another product", field="product")
    if (terms.product, terms.product_version) != (product.id, product.version):
        raise InvalidInput("the terms are for another product", field="product")


def _product_valid(card: RateCard, now: datetime) -> None:
    product, day = card.product, to_local(now).date()
    if day < product.valid_from or (product.valid_until is not None and day >= product.valid_until):
        raise InvalidInput(
            f"product {product.id} {product.version} is not sold on {day}", field="product"
        )


def activate(
    subscription: Subscription,
    customer: Customer,
    limits: CustomerLimits,
    card: RateCard,
    terms: OnDemandTerms,
    *,
    window_id: str,
    now: datetime,
    book: UsageBook,
    volume: MonthVolume | None = None,
    activations_today: int = 0,
    object_ref: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    duration: timedelta | None = None,
    source: str = "manual",
    source_ref: str | None = None,
    taxes: TaxTable | None = None,
) -> Activation:
    """Open and price a window now or scheduled (``start`` None: now).

    Refusals: ``customer.not_verified``, ``limit.daily_activations_exceeded`` (the caller counts
    the activations of the local day of ``now``); window errors name ``start``, ``end``,
    ``duration`` or ``object_ref``.
    """
    moment = ensure_utc(now, field="now")
    _same_subscription(subscription, card, terms)
    if customer.id != subscription.customer_id:
        raise InvalidInput("the subscription belongs to another customer", field="customer")
    check_activation_allowed(customer, limits, activations_today=activations_today)
    _product_valid(card, moment)
    item = subscription.item(object_ref)
    planned = plan_window(
        terms, now=moment, unit=subscription.unit, start=start, end=end, duration=duration
    )
    window = open_window(
        window_id,
        subscription.id,
        item.ref,
        planned,
        now=moment,
        source=source,
        source_ref=source_ref,
    )
    discount = volume_discount(terms, volume or MonthVolume(), ChargeKind.ACTIVATION)
    charge = price_time(
        card,
        planned,
        window_id=window_id,
        object_ref=item.ref,
        kind=ChargeKind.ACTIVATION,
        book=book,
        discount=discount,
        at=moment,
        taxes=taxes,
    )
    entry = charge_entry(subscription.id, charge)
    return Activation(window, charge, entry, book.with_charge(charge, planned))


def extend(
    subscription: Subscription,
    card: RateCard,
    terms: OnDemandTerms,
    window: CoverWindow,
    new_end: datetime,
    *,
    now: datetime,
    book: UsageBook,
    volume: MonthVolume | None = None,
    taxes: TaxTable | None = None,
) -> Extension:
    """A later end; only the added time is priced (no new minimum charge, no new fee)."""
    moment = ensure_utc(now, field="now")
    _same_subscription(subscription, card, terms)
    extended, added = extend_window(window, new_end, now=moment, terms=terms, unit=card.unit)
    discount = volume_discount(terms, volume or MonthVolume(), ChargeKind.EXTENSION)
    charge = price_time(
        card,
        added,
        window_id=window.id,
        object_ref=window.object_ref,
        kind=ChargeKind.EXTENSION,
        book=book,
        discount=discount,
        at=moment,
        taxes=taxes,
    )
    entry = charge_entry(subscription.id, charge)
    return Extension(extended, charge, entry, book.with_charge(charge, added))


def stop(
    subscription: Subscription,
    card: RateCard,
    terms: OnDemandTerms,
    window: CoverWindow,
    charges: Sequence[Charge],
    *,
    now: datetime,
    others: Iterable[CoverWindow] = (),
    at: datetime | None = None,
    taxes: TaxTable | None = None,
) -> Stop:
    """End a started window early; refund by the product's rule (``others``: the object's other
    windows, whose time stays paid)."""
    moment = ensure_utc(now, field="now")
    _same_subscription(subscription, card, terms)
    stopped = stop_window(window, now=moment, terms=terms, at=at)
    refund = stop_refund(card, terms, stopped, charges, others=others, at=moment, taxes=taxes)
    return Stop(stopped, refund, refund_entry(subscription.id, refund))


def cancel(
    subscription: Subscription,
    window: CoverWindow,
    charges: Sequence[Charge],
    *,
    now: datetime,
) -> Cancellation:
    """Cancel before the start: everything charged is given back, fees included."""
    moment = ensure_utc(now, field="now")
    cancelled = cancel_window(window, now=moment)
    refund = cancellation_refund(cancelled, charges, at=moment)
    return Cancellation(cancelled, refund, refund_entry(subscription.id, refund))


def book_of(
    object_ref: str,
    windows: Iterable[CoverWindow],
    charges: Iterable[Charge],
    refunds: Iterable[Refund] = (),
) -> UsageBook:
    """The object's book rebuilt from what is stored: its windows, charges and refunds."""
    mine = [w for w in windows if w.object_ref == object_ref]
    live = [w.window for w in mine if w.live]
    own = [c for c in charges if c.object_ref == object_ref]
    backs = [r for r in refunds if r.object_ref == object_ref]
    return UsageBook.of(
        live,
        own,
        [(d.day, d.amount) for r in backs for d in r.days],
        [day for r in backs for day in r.released_fee_days],
    )
