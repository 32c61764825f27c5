"""Break-even: the yearly cost of on-demand cover against an annual contract, and the threshold.

**Usage.** Units (hours or days) per month — one figure for every month, or twelve — used in
*sessions* of ``session_length`` units (default: 4 hours, or 1 day): a month of ``u`` units is
``⌈u / session⌉`` activations, all of a full session but the last. Each activation is priced on its
own Europe/Paris day (no overlap, no shared daily cap).

**On-demand price.** Either a product sold on demand (its tariff, minimum charge, daily cap,
volume tiers, fees and taxes, by :func:`polis.ondemand.price_time`; the k-th activation of a month
gets the tier of k), or given prices **including taxes**: ``max(price per unit × length, minimum)
+ fee`` per activation.

**Comparison.** ``yearly on-demand = Σ months Σ activations``; the annual contract costs its premium
whatever the use. The **switching threshold** is the smallest constant monthly usage (to 0.01 unit)
whose yearly on-demand cost reaches the annual premium: above it the annual contract is cheaper.
The on-demand cost never decreases with usage (a longer session or one more activation never costs
less), so the threshold is found by bisection; ``None`` when on-demand stays cheaper even at a full
month of use (744 hours or 31 days).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money
from polis.kernel.time import PARIS, Window, local_midnight
from polis.ondemand.pricing import ChargeKind, MonthVolume, UsageBook, price_time, volume_discount
from polis.ondemand.rates import RateCard
from polis.ondemand.terms import OnDemandTerms
from polis.rating.pure import Unit
from polis.rating.taxes import TaxTable
from polis.rating.text import show

__all__ = [
    "BreakEven",
    "Cheaper",
    "CurvePoint",
    "GivenPrice",
    "ProductPrice",
    "UsagePattern",
    "break_even",
]

ZERO = Decimal("0.00")
STEP = Decimal("0.01")
FULL_MONTH = {Unit.HOUR: Decimal(744), Unit.DAY: Decimal(31)}
DEFAULT_SESSION = {Unit.HOUR: Decimal(4), Unit.DAY: Decimal(1)}


class Cheaper(StrEnum):
    ON_DEMAND = "on_demand"
    ANNUAL = "annual"
    EQUAL = "equal"


@dataclass(frozen=True, slots=True)
class UsagePattern:
    """Units per month for 12 months (January first) and the length of one session."""

    unit: Unit
    monthly: tuple[Decimal, ...]
    session_length: Decimal

    @classmethod
    def build(
        cls,
        unit: Unit,
        *,
        per_month: Decimal | None = None,
        monthly: Sequence[Decimal] | None = None,
        session_length: Decimal | None = None,
    ) -> UsagePattern:
        if unit not in FULL_MONTH:
            raise InvalidInput("usage is counted in hours or days", field="usage.unit")
        if (per_month is None) == (monthly is None):
            raise InvalidInput("give per_month or monthly (12 values)", field="usage")
        values = tuple(monthly) if monthly is not None else (per_month or ZERO,) * 12
        if len(values) != 12:
            raise InvalidInput(f"12 monthly values, got {len(values)}", field="usage.monthly")
        for i, value in enumerate(values):
            field = "usage.per_month" if per_month is not None else f"usage.monthly[{i}]"
            if value < 0 or value > FULL_MONTH[unit]:
                raise InvalidInput(
                    f"between 0 and {FULL_MONTH[unit]} {unit.value}s a month", field=field
                )
        length = DEFAULT_SESSION[unit] if session_length is None else session_length
        if length <= 0 or length > FULL_MONTH[unit]:
            raise InvalidInput(
                f"a session lasts more than 0 and at most {FULL_MONTH[unit]} {unit.value}s",
                field="usage.session_length",
            )
        return cls(unit, values, length)

    def sessions(self, usage: Decimal) -> list[Decimal]:
        """The lengths of the activations of a month of ``usage`` units."""
        if usage <= 0:
            return []
        count = int((usage / self.session_length).to_integral_value(rounding=ROUND_CEILING))
        last = usage - self.session_length * (count - 1)
        return [self.session_length] * (count - 1) + [last]


@dataclass(frozen=True, slots=True)
class GivenPrice:
    """On-demand prices given by the user, taxes included."""

    per_unit: Decimal
    fee_per_activation: Decimal = ZERO
    minimum_per_activation: Decimal = ZERO

    def describe(self, unit: Unit) -> str:
        return (
            f"given price {self.per_unit:.2f} € per {unit.value} (taxes included), minimum "
            f"{self.minimum_per_activation:.2f} € and fee {self.fee_per_activation:.2f} € "
            "per activation"
        )


@dataclass(frozen=True, slots=True)
class ProductPrice:
    """A product sold on demand: its rate card and terms; taxes due on ``as_of``."""

    card: RateCard
    terms: OnDemandTerms
    as_of: date
    taxes: TaxTable | None = None

    def describe(self, unit: Unit) -> str:
        product = self.card.product
        return f"product {product.id} {product.version} per {unit.value}, taxes of {self.as_of}"


@dataclass(frozen=True, slots=True)
class CurvePoint:
    usage: Decimal
    on_demand: Decimal
    annual: Decimal


@dataclass(frozen=True, slots=True)
class BreakEven:
    unit: Unit
    usage: tuple[Decimal, ...]
    activations: tuple[int, ...]
    on_demand_monthly: tuple[Decimal, ...]
    on_demand_yearly: Decimal
    annual_premium: Decimal
    cheaper: Cheaper
    threshold: Decimal | None  # units per month (constant) from which the annual is cheaper
    curve: tuple[CurvePoint, ...]
    price_source: str
    explanation: tuple[Explanation, ...]

    @property
    def difference(self) -> Decimal:
        """``on-demand − annual`` per year (negative: on-demand saves that much)."""
        return self.on_demand_yearly - self.annual_premium


ActivationCost = Callable[[int, Decimal], Decimal]


def _given_cost(price: GivenPrice) -> ActivationCost:
    def cost(_k: int, length: Decimal) -> Decimal:
        return (
            round_money(max(price.per_unit * length, price.minimum_per_activation))
            + price.fee_per_activation
        )

    return cost


def _product_cost(price: ProductPrice, unit: Unit) -> ActivationCost:
    if price.card.unit is not unit:
        raise InvalidInput(
            f"the usage is in {unit.value}s but the rate card prices per {price.card.unit.value}",
            field="usage.unit",
        )
    at = local_midnight(price.as_of)
    memo: dict[tuple[Decimal, Decimal], Decimal] = {}

    def cost(k: int, length: Decimal) -> Decimal:
        discount = volume_discount(price.terms, MonthVolume(activations=k), ChargeKind.ACTIVATION)
        key = (discount, length)
        if key not in memo:
            if unit is Unit.DAY:  # whole Europe/Paris days from midnight (a day unit's basis)
                days = int(length.to_integral_value(rounding=ROUND_CEILING))
                end = price.as_of + timedelta(days=days)
                window = Window(local_midnight(price.as_of), local_midnight(end))
            else:  # from 09:00 local, real elapsed hours
                start = datetime.combine(price.as_of, time(9), PARIS)
                micros = int(length * 3_600_000_000)
                window = Window(start, start + timedelta(microseconds=micros))
            charge = price_time(
                price.card,
                window,
                window_id="break-even",
                object_ref="break-even",
                kind=ChargeKind.ACTIVATION,
                book=UsageBook(),
                discount=discount,
                at=at,
                taxes=price.taxes,
            )
            memo[key] = charge.total
        return memo[key]

    return cost


def _month_cost(pattern: UsagePattern, cost: ActivationCost, usage: Decimal) -> Decimal:
    return sum(
        (cost(k, length) for k, length in enumerate(pattern.sessions(usage))), Decimal("0.00")
    )


def _threshold(pattern: UsagePattern, cost: ActivationCost, annual: Decimal) -> Decimal | None:
    """Smallest constant monthly usage (to 0.01) whose yearly cost reaches ``annual``."""
    if 12 * _month_cost(pattern, cost, FULL_MONTH[pattern.unit]) < annual:
        return None
    low, high = 0, int(FULL_MONTH[pattern.unit] / STEP)  # in hundredths of a unit
    if 12 * _month_cost(pattern, cost, ZERO) >= annual:
        return ZERO
    while high - low > 1:
        middle = (low + high) // 2
        if 12 * _month_cost(pattern, cost, Decimal(middle) * STEP) >= annual:
            high = middle
        else:
            low = middle
    return Decimal(high) * STEP


def _curve(
    pattern: UsagePattern, cost: ActivationCost, annual: Decimal, threshold: Decimal | None
) -> tuple[CurvePoint, ...]:
    top = max([*pattern.monthly, threshold or ZERO, pattern.session_length])
    top = min(FULL_MONTH[pattern.unit], max(top * Decimal("1.5"), pattern.session_length * 2))
    points = 40
    steps = int(top / pattern.session_length) + 1
    jumps = {pattern.session_length * k + extra for k in range(steps) for extra in (ZERO, STEP)}
    usages = sorted(
        {(top * i / points).quantize(STEP) for i in range(points + 1)}
        | {u for u in jumps if u <= top}
        | ({threshold} if threshold is not None else set())
        | set(pattern.monthly)
    )
    return tuple(CurvePoint(u, 12 * _month_cost(pattern, cost, u), annual) for u in usages)


def break_even(
    pattern: UsagePattern, price: GivenPrice | ProductPrice, annual_premium: Decimal
) -> BreakEven:
    """Yearly on-demand cost for ``pattern`` vs ``annual_premium``; the switching threshold."""
    if annual_premium < 0:
        raise InvalidInput("must not be negative", field="annual_premium")
    given = {"price_per_unit": "per_unit", "fee_per_activation": "fee_per_activation"}
    given["minimum_per_activation"] = "minimum_per_activation"
    for field, name in given.items():
        if isinstance(price, GivenPrice) and getattr(price, name) < 0:
            raise InvalidInput("must not be negative", field=f"on_demand.{field}")
    cost = (
        _given_cost(price) if isinstance(price, GivenPrice) else _product_cost(price, pattern.unit)
    )
    monthly = tuple(_month_cost(pattern, cost, u) for u in pattern.monthly)
    activations = tuple(len(pattern.sessions(u)) for u in pattern.monthly)
    yearly = sum(monthly, ZERO)
    cheaper = (
        Cheaper.EQUAL
        if yearly == annual_premium
        else Cheaper.ON_DEMAND
        if yearly < annual_premium
        else Cheaper.ANNUAL
    )
    threshold = _threshold(pattern, cost, annual_premium)
    unit = pattern.unit.value
    total_usage = sum(pattern.monthly, Decimal(0))
    steps = [
        Explanation(
            "usage",
            f"{show(total_usage)} {unit}s a year in sessions of {show(pattern.session_length)} "
            f"{unit}(s): {sum(activations)} activation(s)",
        ),
        Explanation("on-demand price", price.describe(pattern.unit)),
        Explanation(
            "on-demand cost per year",
            " + ".join(str(m) for m in monthly) + f" = {yearly}",
            yearly,
        ),
        Explanation(
            "annual contract", f"premium {annual_premium} whatever the use", annual_premium
        ),
    ]
    verdict = {
        Cheaper.ON_DEMAND: f"on-demand saves {annual_premium - yearly} a year",
        Cheaper.ANNUAL: f"the annual contract saves {yearly - annual_premium} a year",
        Cheaper.EQUAL: "both cost the same",
    }[cheaper]
    steps.append(Explanation("cheaper", verdict, yearly - annual_premium))
    if threshold is None:
        steps.append(
            Explanation(
                "switching threshold",
                f"none: even {FULL_MONTH[pattern.unit]} {unit}s every month cost less on demand",
            )
        )
    else:
        steps.append(
            Explanation(
                "switching threshold",
                f"from {show(threshold)} {unit}s a month (every month), on-demand cover costs "
                f"at least the annual premium: above it, the annual contract is cheaper",
                threshold,
            )
        )
    return BreakEven(
        pattern.unit,
        pattern.monthly,
        activations,
        monthly,
        yearly,
        annual_premium,
        cheaper,
        threshold,
        _curve(pattern, cost, annual_premium, threshold),
        price.describe(pattern.unit),
        tuple(steps),
    )
