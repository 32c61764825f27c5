"""Pure premium (prime pure): the expected cost of the risk (premium.md §1).

Kinds:
- a given **amount**;
- a **technical rate** × basis: ``pure = technical_rate × basis``;
- **frequency × mean cost × exposure**: ``pure = frequency × mean_cost × exposure``;
- a **per-unit** amount for short durations: ``pure = max(amount_per_unit × quantity, minimum)``
  with units ``hour``, ``day``, ``act`` (or ``year``).

Time: an annual premium for part of a year is multiplied by a time factor —
- *prorata temporis*, **Actual/365**: each whole anniversary year counts 1, the remaining days
  count ``days / 365`` (kernel ``prorata``); so a full year is exactly 1, even across 29 February;
- or a **seasonality profile**: 12 monthly weights summing to 1; a period weighs, for each month it
  touches, ``weight × covered days / days in that month`` (whole years count 1).

Rounding: the pure premium is rounded half-up to the cent once, after the time factor and the
minimum (:func:`pure_premium`).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money
from polis.kernel.time import add_months, day_count, prorata
from polis.rating.text import show

__all__ = [
    "HOURS_PER_YEAR",
    "FrequencySeverity",
    "PerUnit",
    "PortfolioExperience",
    "PureAmount",
    "PureResult",
    "PureSpec",
    "SeasonalityProfile",
    "TechnicalRate",
    "TimeFactor",
    "Unit",
    "period_prorata",
    "portfolio_experience",
    "pure_premium",
    "seasonal_weight",
    "technical_rate_of",
    "time_factor",
    "unit_fraction_of_year",
]

HOURS_PER_YEAR = Decimal(365 * 24)


class Unit(StrEnum):
    """The unit a premium is priced per."""

    YEAR = "year"
    DAY = "day"
    HOUR = "hour"
    ACT = "act"


@dataclass(frozen=True, slots=True)
class PureAmount:
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TechnicalRate:
    rate: Decimal


@dataclass(frozen=True, slots=True)
class FrequencySeverity:
    frequency: Decimal
    mean_cost: Decimal
    exposure: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class PerUnit:
    amount_per_unit: Decimal
    unit: Unit
    quantity: Decimal


PureSpec = PureAmount | TechnicalRate | FrequencySeverity | PerUnit


@dataclass(frozen=True, slots=True)
class TimeFactor:
    """The multiplier of an annual premium for the covered period."""

    value: Decimal
    method: str  # "prorata" | "seasonality" | "none"
    days: int | None
    formula: str


@dataclass(frozen=True, slots=True)
class PureResult:
    """The pure premium line: ``amount`` rounded to the cent, ``exact`` before rounding."""

    amount: Decimal
    exact: Decimal
    explanation: tuple[Explanation, ...]


@dataclass(frozen=True, slots=True)
class PortfolioExperience:
    """``frequency = claims / exposure units``; ``mean cost = paid / claims``; ``unit pure = f × c``."""

    frequency: Decimal
    mean_cost: Decimal
    unit_pure_premium: Decimal


def portfolio_experience(
    claims: int, exposure_units: Decimal, total_paid: Decimal
) -> PortfolioExperience:
    """Frequency, mean cost and unit pure premium observed on a homogeneous portfolio."""
    if claims <= 0:
        raise InvalidInput("the number of claims must be positive", field="claims")
    if exposure_units <= 0:
        raise InvalidInput("the exposure must be positive", field="exposure_units")
    if total_paid < 0:
        raise InvalidInput("the amount paid must not be negative", field="total_paid")
    frequency = Decimal(claims) / exposure_units
    mean_cost = total_paid / Decimal(claims)
    return PortfolioExperience(frequency, mean_cost, frequency * mean_cost)


def technical_rate_of(unit_pure_premium: Decimal, unit_basis: Decimal) -> Decimal:
    """``technical rate = unit pure premium / unit of basis`` (e.g. 90 / 100,000 = 0.0009 = 0.9 ‰)."""
    if unit_basis <= 0:
        raise InvalidInput("the unit of basis must be positive", field="unit_basis")
    return unit_pure_premium / unit_basis


def _whole_years(start: date, end: date) -> tuple[int, date]:
    """The number of whole anniversary years in ``[start, end)`` and the last anniversary."""
    years = 0
    while add_months(start, 12 * (years + 1)) <= end:
        years += 1
    return years, add_months(start, 12 * years)


def period_prorata(start: date, end: date) -> TimeFactor:
    """``whole years + remaining days / 365`` (Actual/365; a full year is exactly 1)."""
    if end <= start:
        raise InvalidInput(
            f"the period end {end} must be after its start {start}", field="period.end"
        )
    years, anniversary = _whole_years(start, end)
    rest = prorata(anniversary, end)
    days = day_count(start, end)
    remaining = day_count(anniversary, end)
    value = Decimal(years) + rest
    formula = f"{years} whole year(s) + {remaining}/365 (Actual/365) = {show(value)}"
    if years == 0:
        formula = f"{remaining}/365 (Actual/365) = {show(value)}"
    return TimeFactor(value, "prorata", days, formula)


@dataclass(frozen=True, slots=True)
class SeasonalityProfile:
    """Twelve monthly weights (January first) summing to exactly 1."""

    weights: tuple[Decimal, ...]

    def __post_init__(self) -> None:
        if len(self.weights) != 12:
            raise InvalidInput(
                f"a seasonality profile has 12 monthly weights, got {len(self.weights)}",
                field="seasonality",
            )
        for i, weight in enumerate(self.weights):
            if weight < 0:
                raise InvalidInput("weights must not be negative", field=f"seasonality[{i}]")
        total = sum(self.weights, Decimal(0))
        if total != 1:
            raise InvalidInput(f"the 12 weights must sum to 1, got {total}", field="seasonality")


def _month_weight(weights: Sequence[Decimal], start: date, end: date) -> Fraction:
    """``Σ over months of weight × covered days / days in month`` for ``[start, end)``, exact."""
    total = Fraction(0)
    day = start
    while day < end:
        days_in_month = calendar.monthrange(day.year, day.month)[1]
        month_end = date(day.year, day.month, days_in_month) + timedelta(days=1)
        stop = min(month_end, end)
        covered = (stop - day).days
        total += Fraction(weights[day.month - 1]) * covered / days_in_month
        day = stop
    return total


def seasonal_weight(start: date, end: date, profile: SeasonalityProfile) -> TimeFactor:
    """``whole years + Σ weight(month) × covered days / days in month`` over the remainder."""
    if end <= start:
        raise InvalidInput(
            f"the period end {end} must be after its start {start}", field="period.end"
        )
    years, anniversary = _whole_years(start, end)
    rest = _month_weight(profile.weights, anniversary, end)
    value = Decimal(years) + Decimal(rest.numerator) / Decimal(rest.denominator)
    formula = (
        f"{years} whole year(s) + Σ monthly weight × covered days / days in month "
        f"from {anniversary} to {end} = {show(value)}"
    )
    return TimeFactor(value, "seasonality", day_count(start, end), formula)


def time_factor(
    start: date, end: date, seasonality: SeasonalityProfile | None = None
) -> TimeFactor:
    """Prorata temporis (Actual/365), or the seasonality weight when a profile is given."""
    if seasonality is None:
        return period_prorata(start, end)
    return seasonal_weight(start, end, seasonality)


def unit_fraction_of_year(unit: Unit, quantity: Decimal) -> Decimal:
    """The share of a year ``quantity`` units stand for: day → q/365, hour → q/8760, year → q.

    An act has no duration: it counts as 1 (used only to pro-rate fixed contributions).
    """
    if unit is Unit.DAY:
        return quantity / Decimal(365)
    if unit is Unit.HOUR:
        return quantity / HOURS_PER_YEAR
    if unit is Unit.YEAR:
        return quantity
    return Decimal(1)


def _base(spec: PureSpec, basis: Decimal | None) -> tuple[Decimal, str]:
    if isinstance(spec, PureAmount):
        if spec.amount < 0:
            raise InvalidInput("must not be negative", field="pure.amount")
        return spec.amount, f"amount {show(spec.amount)}"
    if isinstance(spec, TechnicalRate):
        if spec.rate < 0:
            raise InvalidInput("must not be negative", field="pure.technical_rate")
        if basis is None:
            raise InvalidInput("a technical rate needs a basis", field="basis")
        value = spec.rate * basis
        return value, f"technical rate {show(spec.rate)} × basis {show(basis)} = {show(value)}"
    if isinstance(spec, FrequencySeverity):
        for name in ("frequency", "mean_cost", "exposure"):
            if getattr(spec, name) < 0:
                raise InvalidInput("must not be negative", field=f"pure.{name}")
        value = spec.frequency * spec.mean_cost * spec.exposure
        return value, (
            f"frequency {show(spec.frequency)} × mean cost {show(spec.mean_cost)} × exposure "
            f"{show(spec.exposure)} = {show(value)}"
        )
    if spec.amount_per_unit < 0:
        raise InvalidInput("must not be negative", field="pure.amount")
    if spec.quantity < 0:
        raise InvalidInput("must not be negative", field="pure.quantity")
    value = spec.amount_per_unit * spec.quantity
    return value, (
        f"{show(spec.amount_per_unit)} per {spec.unit.value} × {show(spec.quantity)} = {show(value)}"
    )


def pure_premium(
    spec: PureSpec,
    *,
    basis: Decimal | None = None,
    time: TimeFactor | None = None,
    minimum: Decimal | None = None,
) -> PureResult:
    """``pure = round_half_up(max(base × time factor, minimum))``.

    ``base`` is the annual amount (or per-unit amount × quantity). The time factor applies to annual
    premiums only: a per-unit premium (hour/day/act) already measures its duration.
    """
    base, how = _base(spec, basis)
    lines = [Explanation("pure premium: base", how, None)]
    value = base
    if time is not None and not (isinstance(spec, PerUnit) and spec.unit is not Unit.YEAR):
        value = base * time.value
        lines.append(
            Explanation(
                f"pure premium × {time.method}",
                f"{show(base)} × {show(time.value)} = {show(value)}",
                None,
            )
        )
    if minimum is not None:
        if minimum < 0:
            raise InvalidInput("must not be negative", field="pure.minimum")
        if value < minimum:
            lines.append(
                Explanation(
                    "minimum charge", f"{show(value)} < minimum {show(minimum)} → {minimum}", None
                )
            )
            value = minimum
    amount = round_money(value)
    lines.append(
        Explanation("pure premium", f"round_half_up({show(value)}) to the cent = {amount}", amount)
    )
    return PureResult(amount, value, tuple(lines))
