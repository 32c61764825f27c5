"""The request of the ``premium`` calculator and its conversion to the rating engine's values.

Fields of contracts.md (names unchanged): ``line``, ``due_date``, ``basis``, ``pure``, ``period``,
``loadings``, ``contributions``, ``cat_nat``; added: ``covers``, ``insurer``, ``fees``,
``seasonality``, ``tax_overrides``, ``prorate_contributions``, ``motor_cat_nat_base`` and, in
``pure``, ``unit``/``quantity``/``minimum`` for short units.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Literal, TypeVar

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from polis.calc._base import CalcModel
from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.rating.bases import (
    AgeBand,
    Basis,
    DeclarationsBasis,
    ExposureBasis,
    ExposureUnit,
    InsuredValueBasis,
    Statistic,
    Valuation,
)
from polis.rating.loadings import InsurerKind, Loading, LoadingOf, LoadingType
from polis.rating.pricing import MotorCatNatBase
from polis.rating.pure import (
    FrequencySeverity,
    PerUnit,
    PureAmount,
    PureSpec,
    TechnicalRate,
    Unit,
)

__all__ = [
    "AgeBandIn",
    "BasisIn",
    "CoverIn",
    "DecimalIn",
    "FeeIn",
    "LoadingIn",
    "PeriodIn",
    "PremiumRequest",
    "PureIn",
    "covers_of",
    "prefixed",
    "required",
    "to_basis",
    "to_loadings",
    "to_pure_spec",
]

T = TypeVar("T")


def _decimal_in(value: object) -> Decimal:
    try:
        return to_decimal(value)
    except InvalidInput as e:
        raise PydanticCustomError("decimal", "{reason}", {"reason": e.message}) from e


DecimalIn = Annotated[Decimal, BeforeValidator(_decimal_in)]


class AgeBandIn(CalcModel):
    max_age_years: DecimalIn
    rate: DecimalIn


class BasisIn(CalcModel):
    """``kind``: insured_value (amount, valuation, depreciation) | exposure (amount, unit) |
    declarations (values, statistic, provisional_premium_paid)."""

    kind: Literal["insured_value", "exposure", "declarations"]
    amount: DecimalIn | None = None
    valuation: Valuation | None = None
    depreciation_rate: DecimalIn | None = None
    age_years: DecimalIn | None = None
    depreciation_schedule: list[AgeBandIn] | None = None
    unit: ExposureUnit | None = None
    values: list[DecimalIn] | None = Field(default=None, max_length=366)
    statistic: Statistic | None = None
    provisional_premium_paid: DecimalIn | None = None


class PureIn(CalcModel):
    """Exactly one of ``amount``, ``technical_rate``, ``frequency`` (+ ``mean_cost``, ``exposure``)."""

    amount: DecimalIn | None = None
    technical_rate: DecimalIn | None = None
    frequency: DecimalIn | None = None
    mean_cost: DecimalIn | None = None
    exposure: DecimalIn | None = None
    unit: Unit = Unit.YEAR
    quantity: DecimalIn | None = None
    minimum: DecimalIn | None = None


class PeriodIn(CalcModel):
    start: dt.date
    end: dt.date


class LoadingIn(CalcModel):
    name: str = Field(min_length=1, max_length=100)
    amount: DecimalIn | None = None
    rate: DecimalIn | None = None
    of: Literal["pure", "net"] | None = None
    type: LoadingType | None = None


class FeeIn(CalcModel):
    name: str = Field(min_length=1, max_length=100)
    amount: DecimalIn
    taxable: bool = True


class CoverIn(CalcModel):
    id: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    line: str
    basis: BasisIn | None = None
    pure: PureIn
    cat_nat: bool | None = None
    motor_cat_nat_base: MotorCatNatBase = MotorCatNatBase.DAMAGE
    loadings: list[LoadingIn] | None = None


class PremiumRequest(CalcModel):
    line: str | None = None
    due_date: dt.date
    basis: BasisIn | None = None
    pure: PureIn | None = None
    period: PeriodIn | None = None
    loadings: list[LoadingIn] = Field(default_factory=list, max_length=50)
    contributions: list[str] | None = None
    cat_nat: bool | None = None
    motor_cat_nat_base: MotorCatNatBase = MotorCatNatBase.DAMAGE
    covers: list[CoverIn] | None = Field(default=None, max_length=50)
    insurer: InsurerKind = InsurerKind.COMPANY
    fees: list[FeeIn] = Field(default_factory=list, max_length=20)
    seasonality: list[DecimalIn] | None = None
    tax_overrides: dict[str, DecimalIn | bool] | None = None
    prorate_contributions: bool = False


@contextmanager
def prefixed(prefix: str) -> Iterator[None]:
    """Re-raise an ``InvalidInput`` with its field under ``prefix`` (``covers[1].`` + ``pure.amount``)."""
    try:
        yield
    except InvalidInput as e:
        raise type(e)(e.message, field=f"{prefix}{e.field or ''}") from e


def _only(basis: BasisIn, allowed: set[str]) -> None:
    for name in BasisIn.model_fields:
        if name != "kind" and name not in allowed and getattr(basis, name) is not None:
            raise InvalidInput(f"not used by a basis of kind {basis.kind}", field=f"basis.{name}")


def required(value: T | None, field: str) -> T:
    if value is None:
        raise InvalidInput("this field is required", field=field)
    return value


def to_basis(basis: BasisIn) -> Basis:
    """The domain basis of a request basis; fields of another kind are refused."""
    if basis.kind == "insured_value":
        _only(
            basis,
            {"amount", "valuation", "depreciation_rate", "age_years", "depreciation_schedule"},
        )
        schedule = tuple(
            AgeBand(b.max_age_years, b.rate) for b in basis.depreciation_schedule or []
        )
        return InsuredValueBasis(
            required(basis.amount, "basis.amount"),
            basis.valuation or Valuation.REPLACEMENT_NEW,
            basis.depreciation_rate,
            basis.age_years,
            schedule,
        )
    if basis.kind == "exposure":
        _only(basis, {"amount", "unit"})
        return ExposureBasis(
            required(basis.amount, "basis.amount"), required(basis.unit, "basis.unit")
        )
    _only(basis, {"values", "statistic", "provisional_premium_paid"})
    paid = basis.provisional_premium_paid
    if paid is not None and paid < 0:
        raise InvalidInput("must not be negative", field="basis.provisional_premium_paid")
    return DeclarationsBasis(
        tuple(required(basis.values, "basis.values")), basis.statistic or Statistic.MEAN, paid
    )


def to_pure_spec(pure: PureIn) -> PureSpec:
    given = [n for n in ("amount", "technical_rate", "frequency") if getattr(pure, n) is not None]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one of amount, technical_rate, frequency (+ mean_cost)", field="pure"
        )
    if pure.unit is not Unit.YEAR or pure.quantity is not None:
        if pure.amount is None:
            raise InvalidInput(
                f"a premium per {pure.unit.value} is an amount per unit", field="pure.amount"
            )
        return PerUnit(pure.amount, pure.unit, required(pure.quantity, "pure.quantity"))
    if pure.amount is not None:
        return PureAmount(pure.amount)
    if pure.technical_rate is not None:
        return TechnicalRate(pure.technical_rate)
    if pure.mean_cost is None:
        raise InvalidInput("frequency × mean_cost: mean_cost is required", field="pure.mean_cost")
    exposure = pure.exposure if pure.exposure is not None else Decimal(1)
    return FrequencySeverity(required(pure.frequency, "pure.frequency"), pure.mean_cost, exposure)


def covers_of(req: PremiumRequest) -> list[CoverIn]:
    if req.covers is not None:
        for name in ("pure", "basis", "cat_nat"):
            if getattr(req, name) is not None:
                raise InvalidInput("give it in each cover when covers are listed", field=name)
        if not req.covers:
            raise InvalidInput("at least one cover is needed", field="covers")
        return req.covers
    line = required(req.line, "line")
    cover = CoverIn(
        id=line,
        line=line,
        basis=req.basis,
        pure=required(req.pure, "pure"),
        cat_nat=req.cat_nat,
        motor_cat_nat_base=req.motor_cat_nat_base,
    )
    return [cover]


def to_loadings(items: list[LoadingIn], field: str) -> tuple[Loading, ...]:
    result = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if (item.amount is None) == (item.rate is None):
            raise InvalidInput("give either amount, or rate with of", field=where)
        if item.amount is not None:
            if item.of is not None:
                raise InvalidInput("an amount loading has no 'of'", field=f"{where}.of")
            result.append(Loading.amount(item.name, item.amount, item.type))
        else:
            of = required(item.of, f"{where}.of")
            result.append(
                Loading.rate(
                    item.name, required(item.rate, f"{where}.rate"), LoadingOf(of), item.type
                )
            )
    return tuple(result)
