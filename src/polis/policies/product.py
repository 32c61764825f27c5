"""The product file format (TOML), validated by Pydantic: a product is data, not code.

A product declares its risk fields (the questions asked), its covers (each with a line of business,
a basis and a tariff of base rate/amount × factors), its loadings, fees, contributions, units and
validity. Decimals are written as TOML **strings** (``"0.00062"``) so they are read exactly; a float
is refused. See ``docs/rating.md`` for an annotated example.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.policies.checks import check_product
from polis.rating.bases import ExposureUnit, Statistic, Valuation
from polis.rating.loadings import InsurerKind, LoadingType
from polis.rating.pricing import MotorCatNatBase
from polis.rating.pure import Unit

__all__ = [
    "AgeBandSpec",
    "BandSpec",
    "BasisSpec",
    "CoverSpec",
    "DecimalText",
    "FactorSpec",
    "FeeSpec",
    "FieldType",
    "LifeSpec",
    "LoadingSpec",
    "Product",
    "RiskField",
    "TariffSpec",
    "Text",
]


def _decimal_text(value: object) -> Decimal:
    if isinstance(value, float):
        raise ValueError(f'write decimals as strings in product files (e.g. "{value}")')
    try:
        return to_decimal(value)
    except InvalidInput as e:
        raise ValueError(e.message) from e


DecimalText = Annotated[Decimal, BeforeValidator(_decimal_text)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]

FieldType = Literal["decimal", "integer", "enum", "boolean", "decimal_list"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A text in French and English."""

    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)


class RiskField(_Strict):
    """One field of the risk: its type, allowed values or bounds, required or default."""

    type: FieldType
    label: Text | None = None
    values: list[str] | None = None
    min: DecimalText | None = None
    max: DecimalText | None = None
    min_items: int = Field(default=1, ge=0)
    max_items: int = Field(default=366, ge=1)
    required: bool = True
    default: str | int | bool | list[str] | None = None

    @model_validator(mode="after")
    def _coherent(self) -> RiskField:
        if (self.type == "enum") != (self.values is not None):
            raise ValueError("an enum field lists its values (and only an enum does)")
        if self.values is not None and (
            not self.values or len(set(self.values)) != len(self.values)
        ):
            raise ValueError("values must be distinct and not empty")
        if (self.min is not None or self.max is not None) and self.type not in {
            "decimal",
            "integer",
            "decimal_list",
        }:
            raise ValueError("min/max only apply to numbers")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        if self.default is not None and self.required:
            raise ValueError("a field with a default is not required: set required = false")
        return self


class BandSpec(_Strict):
    """``factor`` applies when ``value ≤ up_to`` (first matching band); ``up_to`` absent: open band."""

    up_to: DecimalText | None = None
    factor: DecimalText = Field(gt=0)


class FactorSpec(_Strict):
    """A multiplicative factor read from a risk field: a categorical table or numeric bands."""

    name: Identifier
    field: Identifier
    kind: Literal["table", "bands"]
    table: dict[str, DecimalText] | None = None
    bands: list[BandSpec] | None = None
    default: DecimalText | None = None

    @model_validator(mode="after")
    def _coherent(self) -> FactorSpec:
        if self.kind == "table" and not self.table:
            raise ValueError("a table factor needs a non-empty table")
        if self.kind == "bands":
            if not self.bands or self.table is not None:
                raise ValueError("a bands factor needs bands (and no table)")
            bounds = [b.up_to for b in self.bands]
            if any(b is None for b in bounds[:-1]):
                raise ValueError("only the last band may be open (no up_to)")
            closed = [b for b in bounds if b is not None]
            if closed != sorted(set(closed)):
                raise ValueError("bands must have strictly increasing up_to")
        for value in [*(self.table or {}).values(), *([self.default] if self.default else [])]:
            if value <= 0:
                raise ValueError("factors must be positive")
        return self


class AgeBandSpec(_Strict):
    max_age_years: DecimalText = Field(ge=0)
    rate: DecimalText = Field(ge=0, le=1)


class BasisSpec(_Strict):
    """Where the basis comes from: fixed values in the product or fields of the risk (``*_from``)."""

    kind: Literal["insured_value", "exposure", "declarations"]
    amount_from: Identifier | None = None
    valuation: Valuation | None = None
    valuation_from: Identifier | None = None
    depreciation_rate: DecimalText | None = Field(default=None, ge=0, le=1)
    depreciation_rate_from: Identifier | None = None
    age_from: Identifier | None = None
    depreciation_schedule: list[AgeBandSpec] | None = None
    unit: ExposureUnit | None = None
    values_from: Identifier | None = None
    statistic: Statistic = Statistic.MEAN
    provisional_premium_from: Identifier | None = None

    @model_validator(mode="after")
    def _coherent(self) -> BasisSpec:
        if self.kind in {"insured_value", "exposure"} and self.amount_from is None:
            raise ValueError(f"a {self.kind} basis reads its amount from a risk field: amount_from")
        if self.kind == "exposure" and self.unit is None:
            raise ValueError("an exposure basis names its unit (turnover, payroll, …)")
        if self.kind == "declarations" and self.values_from is None:
            raise ValueError("a declarations basis reads its values from a risk field: values_from")
        if self.valuation is not None and self.valuation_from is not None:
            raise ValueError("give valuation or valuation_from, not both")
        if self.depreciation_schedule and self.age_from is None:
            raise ValueError("a depreciation schedule needs age_from")
        return self


class LifeSpec(_Strict):
    """A life cover priced by the ``life`` calculator (passed in as ``life_pricer``)."""

    cover: Literal["term", "whole_life", "pure_endowment", "endowment", "annuity_due"]
    term_years: int | None = Field(default=None, ge=1, le=100)
    premium: Literal["single", "level_annual"] = "level_annual"
    timing: str = "end_of_year"
    interest_rate: DecimalText = Field(ge=0, lt=1)
    table: str | None = None
    table_from: Identifier | None = None
    tables: dict[str, str] | None = None
    age_from: Identifier
    sum_assured_from: Identifier
    birth_year_from: Identifier | None = None

    @model_validator(mode="after")
    def _coherent(self) -> LifeSpec:
        if (self.table is None) == (self.table_from is None):
            raise ValueError("give table, or table_from with tables")
        if self.table_from is not None and not self.tables:
            raise ValueError("table_from needs tables (risk value → table name)")
        return self


class TariffSpec(_Strict):
    """``kind``: rate (× basis) | amount | per_unit | frequency_severity | life; then × factors."""

    kind: Literal["rate", "amount", "per_unit", "frequency_severity", "life"]
    rate: DecimalText | None = Field(default=None, ge=0)
    amount: DecimalText | None = Field(default=None, ge=0)
    per_unit: dict[Unit, DecimalText] | None = None
    unit: Unit | None = None
    unit_from: Identifier | None = None
    quantity_from: Identifier | None = None
    frequency: DecimalText | None = Field(default=None, ge=0)
    mean_cost: DecimalText | None = Field(default=None, ge=0)
    exposure_from: Identifier | None = None
    minimum: DecimalText | None = Field(default=None, ge=0)
    factors: list[FactorSpec] = Field(default_factory=list)
    life: LifeSpec | None = None

    @model_validator(mode="after")
    def _coherent(self) -> TariffSpec:
        needs = {
            "rate": ("rate",),
            "amount": ("amount",),
            "per_unit": ("per_unit", "quantity_from"),
            "frequency_severity": ("frequency", "mean_cost"),
            "life": ("life",),
        }[self.kind]
        for name in needs:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.kind} tariff needs {name}")
        if self.kind == "per_unit" and (self.unit is None) == (self.unit_from is None):
            raise ValueError("a per_unit tariff gives unit, or unit_from (a risk field)")
        if (
            self.kind == "per_unit"
            and self.unit is not None
            and self.unit not in (self.per_unit or {})
        ):
            raise ValueError(f"per_unit has no amount for the unit {self.unit.value}")
        if self.kind == "life" and self.factors:
            raise ValueError("a life tariff takes no factors (its pricer decides)")
        return self


class LoadingSpec(_Strict):
    name: Identifier
    type: LoadingType | None = None
    amount: DecimalText | None = Field(default=None, ge=0)
    rate: DecimalText | None = Field(default=None, ge=0, lt=1)
    of: Literal["pure", "net"] | None = None

    @model_validator(mode="after")
    def _coherent(self) -> LoadingSpec:
        if (self.amount is None) == (self.rate is None):
            raise ValueError("a loading is an amount, or a rate with of = pure|net")
        if self.rate is not None and self.of is None:
            raise ValueError("a rate loading says what it is a rate of: of = pure|net")
        return self


class FeeSpec(_Strict):
    name: Identifier
    label: Text | None = None
    amount: DecimalText = Field(ge=0)
    taxable: bool = True


class CoverSpec(_Strict):
    id: Identifier
    name: Text
    line: str
    cat_nat: bool | None = None
    motor_cat_nat_base: MotorCatNatBase = MotorCatNatBase.DAMAGE
    basis: BasisSpec | None = None
    tariff: TariffSpec
    included_when: Identifier | None = None
    loadings: list[LoadingSpec] | None = None

    @model_validator(mode="after")
    def _coherent(self) -> CoverSpec:
        if self.tariff.kind == "rate" and self.basis is None:
            raise ValueError("a rate tariff multiplies a basis: give basis")
        return self


class Product(_Strict):
    """A versioned product; a published version is immutable (its SHA-256 is pinned)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=64)
    version: str = Field(pattern=r"^\d+(\.\d+)*$", max_length=32)
    name: Text
    description: Text | None = None
    insurer: InsurerKind
    lines: list[str] = Field(min_length=1)
    tax_line: str
    units: list[Unit] = Field(default_factory=lambda: [Unit.YEAR])
    valid_from: dt.date
    valid_until: dt.date | None = None
    term_months: int = Field(default=12, ge=1, le=1200)
    risk: dict[Identifier, RiskField] = Field(default_factory=dict)
    covers: list[CoverSpec] = Field(min_length=1)
    loadings: list[LoadingSpec] = Field(default_factory=list)
    fees: list[FeeSpec] = Field(default_factory=list)
    contributions: list[str] | None = None
    prorate_contributions: bool = False

    @property
    def version_key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))

    @model_validator(mode="after")
    def _coherent(self) -> Product:
        check_product(self)
        return self
