"""Bases (assiettes): the quantity a technical rate multiplies (premium.md §1 "Bases by line").

Three kinds of basis, each giving one exact ``Decimal`` (no rounding: only money lines are rounded):

- **insured value** (property, fixed values) under one valuation:
  ``replacement_new`` (valeur à neuf) = replacement cost;
  ``use_value`` (valeur d'usage) = replacement cost × (1 − depreciation), the depreciation being a
  rate, or read from an age schedule ``[(max_age_years, rate), …]``;
  ``market`` (valeur vénale) = declared exchange value; ``agreed`` (valeur agréée) = the value fixed by
  both parties;
- **exposure** (liability): an indicator — turnover, payroll, headcount, beds, places, vehicles;
- **declarations** (stocks, floating policies): a statistic of the declared values —
  ``mean`` (default), ``max`` or ``last``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.rating.text import show

__all__ = [
    "AgeBand",
    "Basis",
    "BasisValue",
    "DeclarationsBasis",
    "ExposureBasis",
    "ExposureUnit",
    "InsuredValueBasis",
    "Regularisation",
    "Statistic",
    "Valuation",
    "basis_value",
    "declared_value",
    "depreciation_for_age",
    "insured_value",
    "regularisation",
    "use_value",
]


class Valuation(StrEnum):
    """How a fixed property value is measured."""

    REPLACEMENT_NEW = "replacement_new"
    USE_VALUE = "use_value"
    MARKET = "market"
    AGREED = "agreed"


class ExposureUnit(StrEnum):
    """Exposure indicators for liability (no capital)."""

    TURNOVER = "turnover"
    PAYROLL = "payroll"
    HEADCOUNT = "headcount"
    BEDS = "beds"
    PLACES = "places"
    VEHICLES = "vehicles"


class Statistic(StrEnum):
    """The statistic of the declarations that the final premium of a floating policy uses."""

    MEAN = "mean"
    MAX = "max"
    LAST = "last"


@dataclass(frozen=True, slots=True)
class AgeBand:
    """One row of a depreciation schedule: up to ``max_age_years`` (inclusive), depreciate ``rate``."""

    max_age_years: Decimal
    rate: Decimal


@dataclass(frozen=True, slots=True)
class InsuredValueBasis:
    """A property value: ``amount`` is the replacement cost for ``replacement_new``/``use_value``,
    the market value for ``market``, the agreed value for ``agreed``."""

    amount: Decimal
    valuation: Valuation = Valuation.REPLACEMENT_NEW
    depreciation_rate: Decimal | None = None
    age_years: Decimal | None = None
    schedule: tuple[AgeBand, ...] = ()


@dataclass(frozen=True, slots=True)
class ExposureBasis:
    """An exposure indicator (turnover in euros, headcount in persons, …)."""

    amount: Decimal
    unit: ExposureUnit


@dataclass(frozen=True, slots=True)
class DeclarationsBasis:
    """Periodic declarations of a fluctuating value (stocks)."""

    values: tuple[Decimal, ...]
    statistic: Statistic = Statistic.MEAN
    provisional_premium_paid: Decimal | None = None


Basis = InsuredValueBasis | ExposureBasis | DeclarationsBasis


@dataclass(frozen=True, slots=True)
class BasisValue:
    """The basis amount a rate multiplies, with how it was obtained."""

    amount: Decimal
    kind: str
    label: str
    explanation: tuple[Explanation, ...]


def _non_negative(value: Decimal, field: str) -> Decimal:
    if value < 0:
        raise InvalidInput(f"must not be negative, got {value}", field=field)
    return value


def _rate(value: Decimal, field: str) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise InvalidInput(f"a depreciation rate is between 0 and 1, got {value}", field=field)
    return value


def use_value(replacement_cost: Decimal, depreciation_rate: Decimal) -> Decimal:
    """``use value = replacement cost × (1 − depreciation rate)`` (valeur d'usage, vétusté deducted)."""
    return replacement_cost * (Decimal(1) - depreciation_rate)


def depreciation_for_age(
    age_years: Decimal, schedule: Sequence[AgeBand], *, field: str = "basis.depreciation_schedule"
) -> Decimal:
    """The rate of the first band with ``age ≤ max_age_years``; beyond the last band, its rate (the cap).

    The schedule must be sorted by strictly increasing ``max_age_years`` with rates in [0, 1].
    """
    if not schedule:
        raise InvalidInput("an age schedule needs at least one band", field=field)
    _non_negative(age_years, "basis.age_years")
    previous: Decimal | None = None
    for i, band in enumerate(schedule):
        _rate(band.rate, f"{field}[{i}].rate")
        if previous is not None and band.max_age_years <= previous:
            raise InvalidInput(
                "bands must be sorted by strictly increasing max_age_years", field=f"{field}[{i}]"
            )
        previous = band.max_age_years
    for band in schedule:
        if age_years <= band.max_age_years:
            return band.rate
    return schedule[-1].rate


def _depreciation(basis: InsuredValueBasis) -> tuple[Decimal, str]:
    if basis.depreciation_rate is not None and basis.schedule:
        raise InvalidInput(
            "give either a depreciation_rate or an age schedule, not both",
            field="basis.depreciation_rate",
        )
    if basis.depreciation_rate is not None:
        rate = _rate(basis.depreciation_rate, "basis.depreciation_rate")
        return rate, f"depreciation rate {rate}"
    if basis.schedule:
        if basis.age_years is None:
            raise InvalidInput("an age schedule needs the age in years", field="basis.age_years")
        rate = depreciation_for_age(basis.age_years, basis.schedule)
        return rate, f"age {basis.age_years} years → schedule rate {rate}"
    raise InvalidInput(
        "use_value needs a depreciation_rate or an age schedule (depreciation_schedule + age_years)",
        field="basis.depreciation_rate",
    )


def insured_value(basis: InsuredValueBasis) -> BasisValue:
    """The sum insured a property rate applies to, under the basis' valuation."""
    amount = _non_negative(basis.amount, "basis.amount")
    if basis.valuation is not Valuation.USE_VALUE:
        if basis.depreciation_rate is not None or basis.schedule:
            raise InvalidInput(
                f"depreciation only applies to use_value, not {basis.valuation.value}",
                field="basis.depreciation_rate",
            )
        labels = {
            Valuation.REPLACEMENT_NEW: "replacement-new value (valeur à neuf), no depreciation",
            Valuation.MARKET: "market value (valeur vénale) as declared",
            Valuation.AGREED: "agreed value (valeur agréée), fixed by both parties",
        }
        line = Explanation(
            "basis: insured value", f"{labels[basis.valuation]} = {show(amount)}", amount
        )
        return BasisValue(amount, "insured_value", basis.valuation.value, (line,))
    rate, how = _depreciation(basis)
    value = use_value(amount, rate)
    line = Explanation(
        "basis: insured value",
        f"use value (valeur d'usage) = replacement cost {show(amount)} × (1 − {show(rate)}) "
        f"[{how}] = {show(value)}",
        value,
    )
    return BasisValue(value, "insured_value", basis.valuation.value, (line,))


def declared_value(values: Sequence[Decimal], statistic: Statistic) -> Decimal:
    """``mean = Σ values / n``; ``max``; ``last`` (the latest declaration)."""
    if not values:
        raise InvalidInput("at least one declaration is needed", field="basis.values")
    for i, value in enumerate(values):
        _non_negative(value, f"basis.values[{i}]")
    if statistic is Statistic.MEAN:
        return sum(values, Decimal(0)) / Decimal(len(values))
    if statistic is Statistic.MAX:
        return max(values)
    return values[-1]


def basis_value(basis: Basis) -> BasisValue:
    """The basis amount for any kind of basis, explained."""
    if isinstance(basis, InsuredValueBasis):
        return insured_value(basis)
    if isinstance(basis, ExposureBasis):
        amount = _non_negative(basis.amount, "basis.amount")
        line = Explanation(
            "basis: exposure",
            f"{basis.unit.value} = {show(amount)} (liability: no capital)",
            amount,
        )
        return BasisValue(amount, "exposure", basis.unit.value, (line,))
    value = declared_value(basis.values, basis.statistic)
    shown = ", ".join(show(v) for v in basis.values)
    line = Explanation(
        "basis: declarations",
        f"{basis.statistic.value} of the {len(basis.values)} declarations [{shown}] = {show(value)}",
        value,
    )
    return BasisValue(value, "declarations", basis.statistic.value, (line,))


@dataclass(frozen=True, slots=True)
class Regularisation:
    """Floating policy: ``amount = final premium − provisional premium paid`` (net layer)."""

    statistic: Statistic
    declared_value: Decimal
    final_premium: Decimal
    provisional_premium: Decimal
    amount: Decimal


def regularisation(
    basis: DeclarationsBasis, declared: Decimal, final_net_premium: Decimal
) -> Regularisation | None:
    """``final net premium (on the statistic of the declarations) − provisional premium paid``.

    Positive: the insured owes the difference; negative: the insurer refunds it. ``None`` when no
    provisional premium was paid. Taxes on the regularisation call are those in force at its due
    date (it is a premium like any other).
    """
    if basis.provisional_premium_paid is None:
        return None
    paid = _non_negative(basis.provisional_premium_paid, "basis.provisional_premium_paid")
    return Regularisation(
        basis.statistic, declared, final_net_premium, paid, final_net_premium - paid
    )
