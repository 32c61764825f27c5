"""``on-demand-vs-annual`` calculator: the yearly cost of on-demand cover vs an annual contract.

The engine is :mod:`polis.advisor.on_demand_vs_annual`; this module validates, converts and
serialises. Request::

    {"usage": {"unit": "hour", "per_month": "12", "session_length": "4"},      # or "monthly": [12]
     "on_demand": {"product": "equipment-micro", "risk": {"equipment": "camera"},
                   "sum_insured": "1000", "as_of": "2025-09-01"},
     # or "on_demand": {"price_per_unit": "0.90", "fee_per_activation": "0.50",
     #                  "minimum_per_activation": "2.00"}           (taxes included)
     "annual_premium": "180.00"}

Money is a JSON string with 2 decimals; usage values are decimal strings. ``threshold_per_month``
is the constant monthly usage from which the annual contract is cheaper (null: never within a
month); ``curve`` samples the yearly on-demand cost against a constant monthly usage (for a plot).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from polis.advisor import BreakEven, GivenPrice, ProductPrice, UsagePattern, break_even
from polis.calc._base import CalcModel, ExplanationLine, parse_request
from polis.kernel.errors import InvalidInput, NotFound
from polis.kernel.money import to_decimal
from polis.ondemand.rates import rate_card
from polis.ondemand.terms import default_terms
from polis.policies.catalogue import default_catalogue
from polis.rating.pure import Unit

__all__ = [
    "BreakEvenCurvePoint",
    "BreakEvenOnDemand",
    "BreakEvenRequest",
    "BreakEvenResponse",
    "BreakEvenUsage",
    "on_demand_vs_annual",
]


def _decimal_in(value: object) -> Decimal:
    try:
        return to_decimal(value)
    except InvalidInput as e:
        raise PydanticCustomError("decimal", "{reason}", {"reason": e.message}) from e


DecimalIn = Annotated[Decimal, BeforeValidator(_decimal_in)]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


class BreakEvenUsage(CalcModel):
    """Units per month: ``per_month`` (every month) or ``monthly`` (12 values, January first)."""

    unit: Literal["hour", "day"]
    per_month: DecimalIn | None = None
    monthly: list[DecimalIn] | None = Field(default=None, min_length=12, max_length=12)
    session_length: DecimalIn | None = Field(
        default=None, description="units per activation (default 4 hours or 1 day)"
    )


class BreakEvenOnDemand(CalcModel):
    """A product sold on demand (``product`` + options + ``as_of``) or given prices (TTC)."""

    product: str | None = None
    version: str | None = None
    risk: dict[str, Any] = Field(default_factory=dict)
    sum_insured: DecimalIn | None = None
    deductible: DecimalIn | None = None
    as_of: dt.date | None = None
    price_per_unit: DecimalIn | None = None
    fee_per_activation: DecimalIn = Decimal("0")
    minimum_per_activation: DecimalIn = Decimal("0")

    @model_validator(mode="after")
    def _one_source(self) -> BreakEvenOnDemand:
        if (self.product is None) == (self.price_per_unit is None):
            raise ValueError("give a product, or price_per_unit (one of them)")
        if self.product is not None and self.as_of is None:
            raise ValueError("a product is priced on a date: give as_of")
        return self


class BreakEvenRequest(CalcModel):
    usage: BreakEvenUsage
    on_demand: BreakEvenOnDemand
    annual_premium: DecimalIn


class BreakEvenCurvePoint(CalcModel):
    usage: str
    on_demand_yearly: str
    annual: str


class BreakEvenResponse(CalcModel):
    unit: str
    usage_per_month: list[str]
    activations_per_month: list[int]
    on_demand_monthly: list[str]
    on_demand_yearly: str
    annual_premium: str
    difference: str
    cheaper: Literal["on_demand", "annual", "equal"]
    threshold_per_month: str | None
    price_source: str
    curve: list[BreakEvenCurvePoint]
    explanation: list[ExplanationLine]


def _product_price(spec: BreakEvenOnDemand, unit: Unit) -> ProductPrice:
    assert spec.product is not None
    assert spec.as_of is not None
    try:
        entry = default_catalogue().get(spec.product, spec.version, as_of=spec.as_of)
        terms = default_terms().get(entry.product.id, entry.product.version).terms
    except NotFound as e:
        raise InvalidInput(e.message, field=f"on_demand.{e.field or 'product'}") from e
    except InvalidInput as e:
        raise InvalidInput(e.message, field=f"on_demand.{e.field or 'product'}") from e
    try:
        card = rate_card(
            entry.product,
            terms,
            unit=unit,
            risk=spec.risk,
            sum_insured=spec.sum_insured,
            deductible=spec.deductible,
        )
    except InvalidInput as e:
        field = "usage.unit" if e.field == "unit" else f"on_demand.{e.field or 'risk'}"
        raise InvalidInput(e.message, field=field, code=e.code) from e
    return ProductPrice(card, terms, spec.as_of)


def _response(result: BreakEven) -> BreakEvenResponse:
    return BreakEvenResponse(
        unit=result.unit.value,
        usage_per_month=[_plain(u) for u in result.usage],
        activations_per_month=list(result.activations),
        on_demand_monthly=[_money(m) for m in result.on_demand_monthly],
        on_demand_yearly=_money(result.on_demand_yearly),
        annual_premium=_money(result.annual_premium),
        difference=_money(result.difference),
        cheaper=result.cheaper.value,
        threshold_per_month=None if result.threshold is None else _plain(result.threshold),
        price_source=result.price_source,
        curve=[
            BreakEvenCurvePoint(
                usage=_plain(p.usage), on_demand_yearly=_money(p.on_demand), annual=_money(p.annual)
            )
            for p in result.curve
        ],
        explanation=[
            ExplanationLine(
                step=e.step,
                formula=e.formula,
                amount=None if e.amount is None else _plain(e.amount),
            )
            for e in result.explanation
        ],
    )


def on_demand_vs_annual(request: BreakEvenRequest | dict[str, Any]) -> BreakEvenResponse:
    """Yearly on-demand cost vs the annual premium, the cheaper option and the switching threshold.

    Raises ``InvalidInput`` naming the field (``usage.monthly``, ``on_demand.risk.equipment``,
    ``annual_premium``…).
    """
    req = parse_request(BreakEvenRequest, request)
    unit = Unit(req.usage.unit)
    pattern = UsagePattern.build(
        unit,
        per_month=req.usage.per_month,
        monthly=req.usage.monthly,
        session_length=req.usage.session_length,
    )
    spec = req.on_demand
    price: GivenPrice | ProductPrice
    if spec.price_per_unit is not None:
        price = GivenPrice(
            spec.price_per_unit, spec.fee_per_activation, spec.minimum_per_activation
        )
    else:
        price = _product_price(spec, unit)
    return _response(break_even(pattern, price, req.annual_premium))
