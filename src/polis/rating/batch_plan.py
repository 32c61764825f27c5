"""The compiled form of a product for the batch rater: exact fixed-point constants (:mod:`.batch`).

Each decimal of the product and the tax table becomes a :class:`Fixed` — an integer mantissa and a
power-of-ten scale (``Decimal("0.00062")`` is ``Fixed(62, 5)``) — so the columnar rater computes
with integers only. A :class:`Plan` holds every constant resolved for one due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from polis.kernel.money import round_money
from polis.rating.bases import Statistic, Valuation
from polis.rating.loadings import LoadingOf
from polis.rating.pure import Unit
from polis.rating.taxes import ContributionKind

__all__ = [
    "BandsFactor",
    "BasisPlan",
    "ContributionPlan",
    "CoverPlan",
    "Factor",
    "FeePlan",
    "Fixed",
    "LoadingPlan",
    "Plan",
    "SurchargePlan",
    "TableFactor",
    "to_cents",
]


@dataclass(frozen=True, slots=True)
class Fixed:
    """The exact decimal ``m / 10**s`` (``s`` ≥ 0, trailing zeros removed)."""

    m: int
    s: int

    @classmethod
    def of(cls, value: Decimal) -> Fixed:
        sign, digits, exponent = value.normalize().as_tuple()
        assert isinstance(exponent, int)
        m = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        if exponent >= 0:
            return cls(m * 10**exponent, 0)
        return cls(m, -exponent)

    def at(self, scale: int) -> int:
        """The mantissa at a scale ≥ ``s``."""
        assert scale >= self.s
        return self.m * int(10 ** (scale - self.s))

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.m).scaleb(-self.s)


def to_cents(value: Decimal) -> int:
    """``round_money(value)`` as an integer number of cents."""
    return int(round_money(value) * 100)


@dataclass(frozen=True, slots=True)
class TableFactor:
    """A lookup by the field's value (enum value, ``"true"``/``"false"``, integer text)."""

    name: str
    field: str
    table: dict[str, Fixed]
    default: Fixed | None


@dataclass(frozen=True, slots=True)
class BandsFactor:
    """The factor of the first band with ``value ≤ up_to``; the last band may be open."""

    name: str
    field: str
    bounds: tuple[Decimal, ...]  # the closed bands' up_to, increasing
    factors: tuple[Fixed, ...]  # one per band (one more than bounds when the last is open)
    default: Fixed | None


Factor = TableFactor | BandsFactor


@dataclass(frozen=True, slots=True)
class BasisPlan:
    """Where the basis comes from. Depreciation applies on ``use_value`` rows only."""

    kind: str  # insured_value | exposure | declarations
    amount_field: str | None
    valuation: Valuation | None
    valuation_field: str | None
    depreciation_rate: Fixed | None
    depreciation_field: str | None
    age_field: str | None
    schedule: tuple[tuple[Decimal, Fixed], ...]  # (max_age_years, rate)
    values_field: str | None
    statistic: Statistic
    provisional_field: str | None


@dataclass(frozen=True, slots=True)
class LoadingPlan:
    name: str
    of: LoadingOf
    value: Fixed  # amount (already rounded to cents for amounts) or rate
    first_cover_only: bool  # a contract amount loading: charged on the first cover using them


@dataclass(frozen=True, slots=True)
class SurchargePlan:
    key: str
    rate: Fixed
    unless_theft_fire: bool  # motor damage: only when the row has no theft + fire cover


@dataclass(frozen=True, slots=True)
class CoverPlan:
    """One cover: the tariff's constants, its factors, loadings, surcharge and tax rate."""

    id: str
    line: str
    included_when: str | None
    kind: str  # rate | amount | per_unit | frequency_severity
    constant: Fixed  # rate, amount or frequency × mean cost (1 for per_unit)
    basis: BasisPlan | None
    exposure_field: str | None
    per_unit: dict[Unit, Fixed] | None
    unit: Unit | None
    unit_field: str | None
    unit_values: tuple[str, ...]
    quantity_field: str | None
    factors: tuple[Factor, ...]
    minimum: Fixed | None
    minimum_cents: int | None
    loadings: tuple[LoadingPlan, ...]
    contract_loadings: bool
    surcharge: SurchargePlan | None
    tax_rate: Fixed
    theft_fire: bool  # a theft + fire cover for the motor surcharge rule


@dataclass(frozen=True, slots=True)
class ContributionPlan:
    name: str
    kind: ContributionKind
    value: Fixed  # fixed amount or rate
    base_covers: tuple[str, ...]  # rate: the covers whose net premium is the base
    owed_with: tuple[str, ...] | None  # None: always owed; else owed when one of them is included


@dataclass(frozen=True, slots=True)
class FeePlan:
    name: str
    cents: int
    taxable: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """A product compiled for premiums due on ``as_of`` against one tax table."""

    product_id: str
    version: str
    as_of: date
    covers: tuple[CoverPlan, ...]
    fees: tuple[FeePlan, ...]
    fees_tax_cents: int | None
    contributions: tuple[ContributionPlan, ...]
    time: tuple[int, int]  # the time factor of annual tariffs as an exact fraction
    prorate_contributions: bool
    regularisation: tuple[tuple[str, str], ...]  # (cover id, provisional premium field), in order
    cat_nat_taxed: bool
    tax_table_version: str
