"""Pricing of on-demand windows with the product's tariff and the rating engine.

**Unit rates.** The pure price of one unit (hour, day, act) is the product's ``per_unit`` price ×
its factors on the subscription's risk, exact (:func:`polis.ondemand.rates.rate_card`): the same
arithmetic as ``polis quote`` with quantity 1, before the minimum and the rounding.

**New time only.** A window (or an extension) is priced on the part of it not already covered by
another live window of the same object (``UsageBook.covered``): overlapping windows are never
billed twice. That new time is cut at Europe/Paris midnights; for each local day ``D``:

- ``time charge``: hour → ``hour rate × real hours of new time in D`` (so a 23- or 25-hour DST day
  costs what it lasts); day → ``day rate`` (a local day of any length is one day); act → the act
  price once per activation, on its first day (an extension of a round costs nothing);
- ``× (1 − volume discount)`` (tier of the Europe/Paris month, :class:`MonthVolume`);
- **cap**: the pure premium charged for one object in one local day never exceeds the day price
  (hour and act units with ``daily_cap``; always for day units, so a day is never paid twice):
  ``charged = min(discounted, day price − already charged that day)``.

Then the **minimum charge** (the tariff's ``minimum``, per activation that adds time; not on
extensions): ``max(Σ charged, minimum)``, the top-up limited by what the caps leave. The pure
premium is ``round_half_up(Σ)`` — the only rounding — and the rating engine's
``price_contract`` adds loadings, the cat-nat surcharge, taxes by line, fees and contributions
(fixed ones pro-rated by the covered share of a year when the product says so: hours / 8760,
days / 365). The **activation fee** is charged once per object and local day: an activation whose
new time starts on a day already charged a fee pays none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money
from polis.kernel.time import Window, to_local
from polis.ondemand.intervals import WindowSet, by_local_day, difference, hours_of, length, union
from polis.ondemand.lines import Line, lines_of, total_of
from polis.ondemand.rates import RateCard, price_contract_for
from polis.ondemand.terms import OnDemandTerms
from polis.rating.pure import HOURS_PER_YEAR, Unit
from polis.rating.taxes import TaxTable
from polis.rating.text import show

__all__ = [
    "Charge",
    "ChargeKind",
    "DayCharge",
    "MonthVolume",
    "UsageBook",
    "fraction_of_year",
    "month_volume",
    "price_time",
    "top_up_to_minimum",
    "volume_discount",
]

ZERO = Decimal(0)


class ChargeKind(StrEnum):
    ACTIVATION = "activation"
    EXTENSION = "extension"


# ------------------------------------------------------------------------------------- usage


@dataclass(frozen=True, slots=True)
class MonthVolume:
    """The Europe/Paris month so far, before this activation: activations and hours covered."""

    activations: int = 0
    hours: Decimal = ZERO


def volume_discount(terms: OnDemandTerms, volume: MonthVolume, kind: ChargeKind) -> Decimal:
    """The tier's discount: activations counts this one (the n-th of the month); hours do not."""
    if terms.volume is None:
        return ZERO
    if terms.volume.basis == "activations":
        count = volume.activations + (1 if kind is ChargeKind.ACTIVATION else 0)
        return terms.volume.discount_for(Decimal(count))
    return terms.volume.discount_for(volume.hours)


@dataclass(frozen=True, slots=True)
class DayCharge:
    """One Europe/Paris day of a charge: the new hours, the time charge, the cap, what was charged.

    ``headroom`` is what the cap still allowed that day when priced (None: no cap); ``charged``
    (exact) includes ``topup``, the part of the minimum charge put on this day.
    """

    day: date
    hours: Decimal
    time_charge: Decimal
    discounted: Decimal
    headroom: Decimal | None
    charged: Decimal
    topup: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Charge:
    """A priced activation or extension of a window: the new time, day by day, and the lines."""

    window_id: str
    object_ref: str
    kind: ChargeKind
    unit: Unit
    rate: Decimal
    discount: Decimal
    minimum: Decimal
    pieces: WindowSet
    days: tuple[DayCharge, ...]
    pure: Decimal
    fee_day: date | None
    due_date: date
    at: datetime
    lines: tuple[Line, ...]
    explanation: tuple[Explanation, ...]

    @property
    def total(self) -> Decimal:
        return total_of(self.lines)

    @property
    def hours(self) -> Decimal:
        return hours_of(length(self.pieces))

    @property
    def exact(self) -> Decimal:
        return sum((d.charged for d in self.days), ZERO)


@dataclass(frozen=True, slots=True)
class UsageBook:
    """One object's usage so far: the time covered by live windows, the pure charged per local
    day (exact), the local days whose activation fee is paid."""

    covered: WindowSet = ()
    charged: Mapping[date, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    fee_days: frozenset[date] = frozenset()

    def with_charge(self, charge: Charge, window: Window) -> UsageBook:
        charged = dict(self.charged)
        for day in charge.days:
            charged[day.day] = charged.get(day.day, ZERO) + day.charged
        fees = self.fee_days | ({charge.fee_day} if charge.fee_day else set())
        return UsageBook(union((*self.covered, window)), MappingProxyType(charged), fees)

    @staticmethod
    def of(
        windows: Iterable[Window],
        charges: Iterable[Charge],
        refunded: Iterable[tuple[date, Decimal]] = (),
        released_fee_days: Iterable[date] = (),
    ) -> UsageBook:
        """Rebuild from the live windows of the object, its charges and the refunded day amounts."""
        charged: dict[date, Decimal] = {}
        fees: set[date] = set()
        for charge in charges:
            for day in charge.days:
                charged[day.day] = charged.get(day.day, ZERO) + day.charged
            if charge.fee_day is not None:
                fees.add(charge.fee_day)
        for day_date, amount in refunded:
            charged[day_date] = charged.get(day_date, ZERO) - amount
        fees -= set(released_fee_days)
        kept = {day: amount for day, amount in charged.items() if amount}
        return UsageBook(union(windows), MappingProxyType(kept), frozenset(fees))


def month_volume(charges: Iterable[Charge], year: int, month: int) -> MonthVolume:
    """The volume of a Europe/Paris month from charges: activations whose new cover starts in it,
    and the hours of new cover inside it."""
    activations = 0
    hours = ZERO
    for charge in charges:
        if charge.kind is ChargeKind.ACTIVATION and charge.pieces:
            first = to_local(charge.pieces[0].start).date()
            activations += (first.year, first.month) == (year, month)
        hours += sum(
            (d.hours for d in charge.days if (d.day.year, d.day.month) == (year, month)), ZERO
        )
    return MonthVolume(activations, hours)


# --------------------------------------------------------------------------------- time charge


def _time_charges(
    card: RateCard,
    pieces: WindowSet,
    *,
    kind: ChargeKind,
    discount: Decimal,
    charged_before: Mapping[date, Decimal],
) -> tuple[Decimal, list[DayCharge]]:
    rate = card.rate(card.unit)
    if rate is None:  # pragma: no cover - rate_card and the terms checks guarantee it
        raise InvalidInput(f"no price per {card.unit.value}", field="unit")
    cap = card.day_cap
    days = []
    for index, (day, parts) in enumerate(by_local_day(pieces)):
        hours = hours_of(length(parts))
        if card.unit is Unit.HOUR:
            time_charge = rate * hours
        elif card.unit is Unit.DAY:
            time_charge = rate
        else:
            time_charge = rate if index == 0 and kind is ChargeKind.ACTIVATION else ZERO
        discounted = time_charge * (1 - discount)
        headroom = None if cap is None else max(cap - charged_before.get(day, ZERO), ZERO)
        charged = discounted if headroom is None else min(discounted, headroom)
        days.append(DayCharge(day, hours, time_charge, discounted, headroom, charged))
    return rate, days


def top_up_to_minimum(days: list[DayCharge], minimum: Decimal) -> tuple[DayCharge, ...]:
    """Raise the charge to ``minimum``, day by day in order, within each day's cap headroom."""
    missing = minimum - sum((d.charged for d in days), ZERO)
    result = []
    for day in days:
        if missing > 0:
            room = missing if day.headroom is None else min(missing, day.headroom - day.charged)
            if room > 0:
                day = replace(day, charged=day.charged + room, topup=room)
                missing -= room
        result.append(day)
    return tuple(result)


def _day_lines(card: RateCard, days: Iterable[DayCharge], discount: Decimal) -> list[Explanation]:
    steps = []
    rate = card.rate(card.unit) or ZERO
    for d in days:
        if card.unit is Unit.HOUR:
            how = f"{show(d.hours)} h × {show(rate)} = {show(d.time_charge)}"
        else:
            how = f"{card.unit.value} price {show(d.time_charge)} ({show(d.hours)} h of new cover)"
        if discount:
            how += f"; − {show(discount * 100)} % volume discount = {show(d.discounted)}"
        if d.headroom is not None and d.headroom < d.discounted:
            how += f"; daily cap: only {show(d.headroom)} left that day"
        if d.topup:
            how += f"; + {show(d.topup)} to reach the minimum charge"
        steps.append(Explanation(f"new cover on {d.day.isoformat()}", how, None))
    return steps


def fraction_of_year(unit: Unit, days: Iterable[DayCharge], pieces: WindowSet) -> Decimal:
    """The covered share of a year for pro-rated contributions: days / 365, else hours / 8760."""
    if unit is Unit.DAY:
        return Decimal(sum(1 for d in days if d.hours > 0)) / Decimal(365)
    return hours_of(length(pieces)) / HOURS_PER_YEAR


def price_time(
    card: RateCard,
    requested: Window,
    *,
    window_id: str,
    object_ref: str,
    kind: ChargeKind,
    book: UsageBook,
    discount: Decimal,
    at: datetime,
    taxes: TaxTable | None = None,
) -> Charge:
    """Price ``requested`` (a new window, or the time an extension adds) against ``book``."""
    pieces = difference([requested], book.covered)
    due = to_local(at).date()
    if not pieces:
        note = Explanation(
            "already covered",
            f"[{requested.start.isoformat()}, {requested.end.isoformat()}) is inside cover already "
            "paid for this object: nothing to pay",
            ZERO,
        )
        return Charge(
            window_id, object_ref, kind, card.unit, card.rate(card.unit) or ZERO, discount,
            card.minimum, (), (), ZERO, None, due, at, (), (note,),
        )  # fmt: skip
    rate, days = _time_charges(
        card, pieces, kind=kind, discount=discount, charged_before=book.charged
    )
    minimum = card.minimum if kind is ChargeKind.ACTIVATION else ZERO
    final_days = top_up_to_minimum(days, minimum)
    exact = sum((d.charged for d in final_days), ZERO)
    pure = round_money(exact)
    first_day = final_days[0].day
    fee_day = (
        first_day if kind is ChargeKind.ACTIVATION and first_day not in book.fee_days else None
    )
    priced = price_contract_for(
        card,
        pure,
        due_date=due,
        fee=fee_day is not None,
        fraction=fraction_of_year(card.unit, final_days, pieces),
        taxes=taxes,
    )
    overlap = hours_of(requested.duration - length(pieces))
    steps = [
        Explanation(
            f"{kind.value} of window {window_id} on {object_ref}",
            f"{show(hours_of(requested.duration))} h asked, {show(overlap)} h already covered: "
            f"{show(hours_of(length(pieces)))} h of new cover priced per {card.unit.value}",
            None,
        ),
        *_day_lines(card, final_days, discount),
    ]
    if minimum and any(d.topup for d in final_days):
        steps.append(Explanation("minimum charge", f"raised to the minimum {show(minimum)}", None))
    steps.append(Explanation("pure premium", f"round_half_up({show(exact)}) = {pure}", pure))
    if kind is ChargeKind.ACTIVATION and fee_day is None:
        steps.append(
            Explanation("activation fee", f"already paid for {first_day.isoformat()}: none", None)
        )
    steps.extend(priced.explanation)
    return Charge(
        window_id, object_ref, kind, card.unit, rate, discount, minimum, pieces, final_days,
        pure, fee_day, due, at, lines_of(priced), tuple(steps),
    )  # fmt: skip
