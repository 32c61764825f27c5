"""A product's tariff evaluated on one (resolved) risk → the pure premium of each cover.

The exact sequence, per included cover, on ``Decimal`` values (default context, 28 significant
digits); a columnar twin must follow it step by step to agree to the cent:

1. **basis** (exact, not rounded): insured value (valuation, then depreciation
   ``amount × (1 − rate)``), exposure amount, or the statistic of the declarations;
2. **base**: ``rate × basis`` | ``amount`` | ``per_unit[unit] × quantity`` |
   ``frequency × mean_cost × exposure`` | ``life_pricer(spec, risk)``;
3. **factors**, in the order the product lists them: ``value = value × factor`` (table lookup by the
   field's value — booleans as ``"true"``/``"false"``, integers as their decimal text — or the first
   band with ``field ≤ up_to``; a missing key takes the factor's ``default``);
4. **time**: ``× time factor`` (prorata Actual/365 of the period) for annual tariffs
   (rate, amount, frequency_severity, per_unit with unit ``year``); none for hour/day/act units and
   for life (the pricer's premium is the one due);
5. **minimum**: ``max(value, minimum)``;
6. **rounding**: ``round_half_up(value, 0.01)`` — the only rounding of the pure premium.
Everything after (loadings, surcharges, taxes, contributions) is :mod:`polis.rating.pricing`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polis.kernel.errors import InvalidInput, PolisError
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money
from polis.policies.product import BasisSpec, CoverSpec, FactorSpec, LifeSpec, Product
from polis.policies.risk import RiskValue
from polis.rating.bases import (
    AgeBand,
    Basis,
    BasisValue,
    DeclarationsBasis,
    ExposureBasis,
    InsuredValueBasis,
    Valuation,
    basis_value,
)
from polis.rating.pure import TimeFactor, Unit
from polis.rating.text import show

__all__ = [
    "CoverTariff",
    "FactorValue",
    "LifeCoverSpec",
    "LifePricer",
    "LifePricerMissing",
    "basis_of",
    "evaluate_cover",
    "evaluate_tariff",
    "factor_value",
    "included_covers",
]


class LifePricerMissing(PolisError):
    """A life cover was quoted without a life pricer wired in."""

    code = "rating.life_pricer_missing"


@dataclass(frozen=True, slots=True)
class LifeCoverSpec:
    """What the life calculator needs for one cover (contracts.md ``life`` request fields)."""

    table: str
    age: int
    sum_assured: Decimal
    interest_rate: Decimal
    cover: str
    term_years: int | None
    premium: str
    timing: str
    birth_year: int | None = None

    def as_request(self) -> dict[str, Any]:
        """The ``life`` calculator request (contracts.md) for this cover."""
        request: dict[str, Any] = {
            "table": self.table,
            "age": self.age,
            "sum_assured": str(self.sum_assured),
            "interest_rate": str(self.interest_rate),
            "cover": self.cover,
            "premium": self.premium,
            "timing": self.timing,
        }
        if self.term_years is not None:
            request["term_years"] = self.term_years
        if self.birth_year is not None:
            request["birth_year"] = self.birth_year
        return request


#: returns the pure premium due for the cover (the level annual or the single premium)
LifePricer = Callable[[LifeCoverSpec, Mapping[str, RiskValue]], Decimal]


@dataclass(frozen=True, slots=True)
class FactorValue:
    name: str
    key: str
    factor: Decimal


@dataclass(frozen=True, slots=True)
class CoverTariff:
    """The tariff of one cover on one risk: every intermediate value, then the pure premium."""

    cover_id: str
    basis: BasisValue | None
    base: Decimal
    factors: tuple[FactorValue, ...]
    time: TimeFactor | None
    unit: Unit
    quantity: Decimal | None
    minimum: Decimal | None
    exact: Decimal
    pure: Decimal
    explanation: tuple[Explanation, ...]


def _get(risk: Mapping[str, RiskValue], name: str, cover: str) -> RiskValue:
    value = risk.get(name)
    if value is None:
        raise InvalidInput(f"needed by the tariff of cover {cover}", field=f"risk.{name}")
    return value


def _number(risk: Mapping[str, RiskValue], name: str, cover: str) -> Decimal:
    value = _get(risk, name, cover)
    assert isinstance(value, Decimal | int)
    assert not isinstance(value, bool)
    return Decimal(value)


def basis_of(spec: BasisSpec, risk: Mapping[str, RiskValue], cover: str) -> Basis:
    """The domain basis read from the risk (``*_from`` fields) and the product's fixed values."""
    if spec.kind == "exposure":
        assert spec.unit is not None
        assert spec.amount_from is not None
        return ExposureBasis(_number(risk, spec.amount_from, cover), spec.unit)
    if spec.kind == "declarations":
        assert spec.values_from is not None
        values = _get(risk, spec.values_from, cover)
        assert isinstance(values, tuple)
        paid = risk.get(spec.provisional_premium_from) if spec.provisional_premium_from else None
        assert paid is None or isinstance(paid, Decimal)
        return DeclarationsBasis(values, spec.statistic, paid)
    assert spec.amount_from is not None
    valuation = spec.valuation or Valuation.REPLACEMENT_NEW
    if spec.valuation_from is not None:
        valuation = Valuation(str(_get(risk, spec.valuation_from, cover)))
    rate: Decimal | None = None
    age: Decimal | None = None
    schedule: tuple[AgeBand, ...] = ()
    if valuation is Valuation.USE_VALUE:
        rate = spec.depreciation_rate
        if spec.depreciation_rate_from is not None:
            rate = _number(risk, spec.depreciation_rate_from, cover)
        if rate is None and spec.age_from is not None:
            age = _number(risk, spec.age_from, cover)
            schedule = tuple(
                AgeBand(b.max_age_years, b.rate) for b in spec.depreciation_schedule or []
            )
    return InsuredValueBasis(_number(risk, spec.amount_from, cover), valuation, rate, age, schedule)


def _risk_field(spec: BasisSpec, field: str | None, cover: str) -> str:
    """Name the risk field behind a basis error (``basis.values[2]`` → ``risk.declarations[2]``)."""
    sources = {
        "basis.amount": spec.amount_from,
        "basis.depreciation_rate": spec.depreciation_rate_from,
        "basis.age_years": spec.age_from,
        "basis.values": spec.values_from,
        "basis.provisional_premium_paid": spec.provisional_premium_from,
    }
    text = field or ""
    for prefix, source in sources.items():
        if source is not None and text.startswith(prefix):
            return f"risk.{source}{text[len(prefix) :]}"
    return f"covers.{cover}.{text}"


def _key(value: RiskValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def factor_value(spec: FactorSpec, value: RiskValue) -> FactorValue:
    """The factor for a risk value: table lookup, or the first band with ``value ≤ up_to``."""
    key = _key(value)
    if spec.kind == "table":
        factor = (spec.table or {}).get(key, spec.default)
    else:
        assert isinstance(value, Decimal | int)
        assert not isinstance(value, bool)
        factor = next(
            (b.factor for b in spec.bands or [] if b.up_to is None or Decimal(value) <= b.up_to),
            spec.default,
        )
    if factor is None:
        raise InvalidInput(f"no factor {spec.name} for {key!r}", field=f"risk.{spec.field}")
    return FactorValue(spec.name, key, factor)


def _life_spec(life: LifeSpec, risk: Mapping[str, RiskValue], cover: str) -> LifeCoverSpec:
    table = life.table
    if life.table_from is not None:
        table = (life.tables or {})[str(_get(risk, life.table_from, cover))]
    assert table is not None
    birth = risk.get(life.birth_year_from) if life.birth_year_from else None
    assert birth is None or isinstance(birth, int)
    return LifeCoverSpec(
        table=table,
        age=int(_number(risk, life.age_from, cover)),
        sum_assured=_number(risk, life.sum_assured_from, cover),
        interest_rate=life.interest_rate,
        cover=life.cover,
        term_years=life.term_years,
        premium=life.premium,
        timing=life.timing,
        birth_year=birth,
    )


def _base(
    cover: CoverSpec,
    risk: Mapping[str, RiskValue],
    basis: BasisValue | None,
    life_pricer: LifePricer | None,
) -> tuple[Decimal, Unit, Decimal | None, str]:
    """Step 2: the base amount, its unit and quantity, and the formula."""
    t = cover.tariff
    if t.kind == "rate":
        assert basis is not None
        assert t.rate is not None
        value = t.rate * basis.amount
        return (
            value,
            Unit.YEAR,
            None,
            f"rate {show(t.rate)} × basis {show(basis.amount)} = {show(value)}",
        )
    if t.kind == "amount":
        assert t.amount is not None
        return t.amount, Unit.YEAR, None, f"amount {show(t.amount)}"
    if t.kind == "frequency_severity":
        assert t.frequency is not None
        assert t.mean_cost is not None
        exposure = _number(risk, t.exposure_from, cover.id) if t.exposure_from else Decimal(1)
        value = t.frequency * t.mean_cost * exposure
        return (
            value,
            Unit.YEAR,
            None,
            (
                f"frequency {show(t.frequency)} × mean cost {show(t.mean_cost)} × exposure "
                f"{show(exposure)} = {show(value)}"
            ),
        )
    if t.kind == "per_unit":
        unit = t.unit or Unit(str(_get(risk, t.unit_from or "", cover.id)))
        assert t.quantity_from is not None
        quantity = _number(risk, t.quantity_from, cover.id)
        price = (t.per_unit or {})[unit]
        value = price * quantity
        return (
            value,
            unit,
            quantity,
            (f"{show(price)} per {unit.value} × {show(quantity)} = {show(value)}"),
        )
    assert t.life is not None
    spec = _life_spec(t.life, risk, cover.id)
    if life_pricer is None:
        raise LifePricerMissing(
            f"cover {cover.id} is priced by the life calculator, but no life pricer was given "
            "(pass life_pricer to quote_risk)",
            field=f"covers.{cover.id}",
        )
    value = life_pricer(spec, risk)
    formula = f"life {spec.cover} ({spec.table}, age {spec.age}, {spec.premium}) = {show(value)}"
    return value, Unit.YEAR, None, formula


def evaluate_cover(
    cover: CoverSpec,
    risk: Mapping[str, RiskValue],
    *,
    time: TimeFactor,
    life_pricer: LifePricer | None = None,
) -> CoverTariff:
    """Steps 1–6 for one cover (see the module docstring)."""
    basis = None
    if cover.basis is not None:
        try:
            basis = basis_value(basis_of(cover.basis, risk, cover.id))
        except InvalidInput as e:
            raise type(e)(e.message, field=_risk_field(cover.basis, e.field, cover.id)) from e
    base, unit, quantity, formula = _base(cover, risk, basis, life_pricer)
    value = base
    steps = [*(basis.explanation if basis else ()), Explanation("base", formula, None)]
    factors = []
    for spec in cover.tariff.factors:
        found = factor_value(spec, _get(risk, spec.field, cover.id))
        value = value * found.factor
        factors.append(found)
        steps.append(
            Explanation(
                f"factor {found.name} = {found.key}",
                f"× {show(found.factor)} = {show(value)}",
                None,
            )
        )
    applied_time = None
    if unit is Unit.YEAR and cover.tariff.kind != "life":
        applied_time = time
        value = value * time.value
        steps.append(
            Explanation(f"time ({time.method})", f"× {show(time.value)} = {show(value)}", None)
        )
    minimum = cover.tariff.minimum
    if minimum is not None and value < minimum:
        steps.append(
            Explanation(
                "minimum charge", f"{show(value)} < minimum {show(minimum)} → {minimum}", None
            )
        )
        value = minimum
    pure = round_money(value)
    steps.append(Explanation("pure premium", f"round_half_up({show(value)}) = {pure}", pure))
    labelled = tuple(Explanation(f"{s.step} [{cover.id}]", s.formula, s.amount) for s in steps)
    return CoverTariff(
        cover.id,
        basis,
        base,
        tuple(factors),
        applied_time,
        unit,
        quantity,
        minimum,
        value,
        pure,
        labelled,
    )


def included_covers(product: Product, risk: Mapping[str, RiskValue]) -> tuple[CoverSpec, ...]:
    """The covers the risk takes: all, except those whose ``included_when`` field is false."""
    return tuple(
        c for c in product.covers if c.included_when is None or risk.get(c.included_when) is True
    )


def evaluate_tariff(
    product: Product,
    risk: Mapping[str, RiskValue],
    *,
    time: TimeFactor,
    life_pricer: LifePricer | None = None,
) -> tuple[CoverTariff, ...]:
    """Every included cover's tariff, in the product's order."""
    return tuple(
        evaluate_cover(c, risk, time=time, life_pricer=life_pricer)
        for c in included_covers(product, risk)
    )
