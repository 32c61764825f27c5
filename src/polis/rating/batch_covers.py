"""The columnar twin of one cover's tariff (:func:`polis.policies.tariff.evaluate_cover`).

For each cover the exact value before rounding is one fraction per row::

    value = N / (10^S × d × n)     N = constant × basis × [1 − depreciation] × quantity × factors × t

where every multiplicand is an integer mantissa (scale summed in ``S``), ``t / d`` is the time
factor of annual tariffs (``d = 365`` for a period shorter than a year, else 1) and ``n`` the number
of declarations when the basis is their mean. Steps 1–6 of the single path map to:

1. basis → the amount field's mantissa, × ``(10^s − depreciation)`` on use-value rows (a rate, a
   rate field or the age schedule), or the declarations' sum (mean: ``n`` joins the denominator),
   max or last;
2. base → × the constant (rate, amount, frequency × mean cost), × exposure, × price per unit ×
   quantity;
3. factors → × each factor's mantissa (enum: gather by code; integer/boolean: lookup; bands: the
   first ``value ≤ up_to``, compared on mantissas);
4. time → × ``t`` with ``d`` in the denominator (per-unit rows in hours, days or acts: none);
5. minimum → ``N < minimum × 10^S × d × n`` takes the minimum's cents;
6. rounding → ``round_half_up(N·100 / (10^S × d × n))`` in integers: the only rounding.

Rows the single path might round differently are flagged (see :mod:`polis.rating.batch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from polis.rating.bases import Statistic, Valuation
from polis.rating.batch_inputs import Field, at_most, use_value_rows
from polis.rating.batch_plan import CoverPlan, Fixed, Plan
from polis.rating.batch_terms import (
    DENSE_SPAN,
    EXACT_DIGITS,
    Term,
    band_index,
    dense,
    lookup,
    near_tie,
    round_half_up,
)
from polis.rating.pure import Unit

__all__ = ["PureColumns", "field_term", "pure_columns", "year_share"]


#: a mean of ``n`` declarations whose sum times 10^8 is a multiple of ``n`` terminates within 8 more
#: decimals: the single path computes it exactly (if the whole stays within 28 digits)
MEAN_DIGITS = 10**8


@dataclass(frozen=True, slots=True)
class _Division:
    """The divisions of a cover's exact value: the time factor's ``d``, the declarations' ``n``."""

    den: int  # 365 for a partial year (non-terminating time factor), else 1
    timed: pl.Expr | None  # the rows the time factor applies to (None: all)
    count: Term | None  # the number of declarations (mean basis)
    terminating: pl.Expr | None  # the rows whose mean terminates within 8 decimals


@dataclass(frozen=True, slots=True)
class PureColumns:
    """One cover's pure premium in cents, and the rows to hand to the single path."""

    cents: Term
    flag: pl.Expr | None


def field_term(f: Field) -> Term:
    return Term(f.col(), f.bound, f.lo < 0)


def _keep(cover: CoverPlan, fields: dict[str, Field]) -> tuple[Term, int] | None:
    """``1 − depreciation`` on the use-value rows (1 elsewhere), with its scale."""
    basis = cover.basis
    assert basis is not None
    if basis.valuation_field is None and basis.valuation is not Valuation.USE_VALUE:
        return None
    if basis.depreciation_field is not None:
        f = fields[basis.depreciation_field]
        keep, scale = Term.const(10**f.scale) - field_term(f), f.scale
    elif basis.depreciation_rate is not None:
        rate = basis.depreciation_rate
        keep, scale = Term.const(10**rate.s - rate.m), rate.s
    else:
        keep, scale = _schedule(cover, fields)
    if basis.valuation_field is None:
        return keep, scale
    return keep.when(use_value_rows(cover, fields), 10**scale), scale


def _schedule(cover: CoverPlan, fields: dict[str, Field]) -> tuple[Term, int]:
    basis = cover.basis
    assert basis is not None
    assert basis.age_field is not None
    age = fields[basis.age_field]
    scale = max(rate.s for _, rate in basis.schedule)
    keeps = [10**scale - rate.at(scale) for _, rate in basis.schedule]
    keeps.append(keeps[-1])  # beyond the last band: its rate (the cap)
    ages = [max_age for max_age, _ in basis.schedule]
    if age.hi - age.lo <= DENSE_SPAN:
        index = band_index(ages, age.scale, age.lo, age.hi)
        return Term(dense(age.col(), age.lo, age.hi, [keeps[i] for i in index]), 10**scale), scale
    expr: pl.Expr = pl.lit(keeps[-1], pl.Int64)
    for max_age, keep in reversed(list(zip(ages, keeps, strict=False))):
        limit = int(max_age.scaleb(age.scale).to_integral_value(rounding="ROUND_FLOOR"))
        expr = pl.when(at_most(age.col(), limit)).then(pl.lit(keep, pl.Int64)).otherwise(expr)
    return Term(expr, 10**scale), scale


def _basis(
    cover: CoverPlan, fields: dict[str, Field]
) -> tuple[list[tuple[Term, int]], Term | None, pl.Expr | None]:
    basis = cover.basis
    if cover.kind != "rate" or basis is None:
        return [], None, None
    if basis.kind == "declarations":
        assert basis.values_field is not None
        f = fields[basis.values_field]
        items = f.col().list
        if basis.statistic is Statistic.MEAN:
            count = Term(items.len().cast(pl.Int64), max(f.max_items, 1))
            total = Term(items.sum(), f.bound)
            terminating = (total * MEAN_DIGITS).narrow() % count.narrow() == 0
            return [(total, f.scale)], count, terminating
        stat = items.max() if basis.statistic is Statistic.MAX else items.last()
        return [(Term(stat, f.bound), f.scale)], None, None
    assert basis.amount_field is not None
    amount = fields[basis.amount_field]
    parts = [(field_term(amount), amount.scale)]
    keep = _keep(cover, fields) if basis.kind == "insured_value" else None
    return parts + ([keep] if keep else []), None, None


def _per_unit(cover: CoverPlan, fields: dict[str, Field]) -> list[tuple[Term, int]]:
    prices = cover.per_unit or {}
    if cover.unit is not None:
        price = prices[cover.unit]
        part = (Term.const(price.m), price.s)
    else:
        assert cover.unit_field is not None
        scale = max(p.s for p in prices.values())
        values = [prices[Unit(v)].at(scale) for v in cover.unit_values]
        expr = pl.lit(pl.Series(values, dtype=pl.Int64)).gather(fields[cover.unit_field].col())
        part = (Term(expr, max(values)), scale)
    assert cover.quantity_field is not None
    quantity = fields[cover.quantity_field]
    return [part, (field_term(quantity), quantity.scale)]


def year_share(cover: CoverPlan, fields: dict[str, Field]) -> pl.Expr | None:
    """The rows priced per year (the time factor applies); ``None``: every row."""
    if cover.kind != "per_unit":
        return None
    if cover.unit is not None:
        return pl.lit(cover.unit is Unit.YEAR)
    assert cover.unit_field is not None
    if Unit.YEAR.value not in cover.unit_values:
        return pl.lit(False)
    return fields[cover.unit_field].col() == cover.unit_values.index(Unit.YEAR.value)


def _time(
    cover: CoverPlan, fields: dict[str, Field], plan: Plan
) -> tuple[tuple[Term, int] | None, int, pl.Expr | None]:
    """The time factor as a multiplicand (with its scale), its denominator, and its rows.

    ``days / 365`` that terminates (73, 146, 219, 292 days) is an exact decimal; otherwise the
    multiplicand is ``days`` over ``d = 365`` (per-unit rows in hours, days, acts: ``d / d``).
    """
    num, den = plan.time
    if (num, den) == (1, 1):
        return None, 1, None
    yearly = year_share(cover, fields)
    decimal = Decimal(num) / Decimal(den)
    if (decimal * 10**8) % 1 == 0:
        fixed = Fixed.of(decimal)
        term = Term.const(fixed.m)
        return (term if yearly is None else term.when(yearly, 10**fixed.s), fixed.s), 1, None
    term = Term.const(num)
    return (term if yearly is None else term.when(yearly, den), 0), den, yearly


def pure_columns(cover: CoverPlan, fields: dict[str, Field], plan: Plan) -> PureColumns:
    """Steps 1–6 for every row (see the module docstring)."""
    parts: list[tuple[Term, int]] = [(Term.const(cover.constant.m), cover.constant.s)]
    basis_parts, count, terminating = _basis(cover, fields)
    parts += basis_parts
    if cover.exposure_field is not None:
        f = fields[cover.exposure_field]
        parts.append((field_term(f), f.scale))
    if cover.kind == "per_unit":
        parts += _per_unit(cover, fields)
    for factor in cover.factors:
        f = fields[factor.field]
        parts.append(lookup(factor, f))
    time, den, timed = _time(cover, fields, plan)
    if time is not None:
        parts.append(time)
    value, scale = parts[0][0], parts[0][1]
    for term, s in parts[1:]:
        value, scale = value * term, scale + s
    division = _Division(den, timed, count, terminating)
    return _rounded(value, scale, division, cover.minimum, cover.minimum_cents)


def _flags(value: Term, num: Term, denominator: Term, division: _Division) -> pl.Expr | None:
    """The rows the single path may round differently (see ``docs/batch.md``, parity)."""
    flags = []
    inexact = []  # rows where the single path divides without an exact result
    if division.den != 1:
        inexact.append(pl.lit(True) if division.timed is None else division.timed)
    if division.terminating is not None:
        inexact.append(~division.terminating)
    if inexact:
        magnitude = Term(num.narrow().abs(), num.bound) if num.signed else num
        flags.append(near_tie(magnitude, denominator) & pl.any_horizontal(inexact))
    extra = MEAN_DIGITS if division.count is not None else 1  # a terminating mean's decimals
    if value.bound * extra >= EXACT_DIGITS:  # beyond 28 digits: the single path rounds them
        flags.append(value.as_type(True).abs() * extra >= EXACT_DIGITS)
    return pl.any_horizontal(flags) if flags else None


def _rounded(
    value: Term,
    scale: int,
    division: _Division,
    minimum: Fixed | None,
    minimum_cents: int | None,
) -> PureColumns:
    """Steps 5–6: the minimum, then the one rounding to cents; and the rows to flag."""
    den, count = division.den, division.count
    if minimum is not None and minimum.s > scale:
        value, scale = value * 10 ** (minimum.s - scale), minimum.s
    if scale >= 2:
        num, cents_den = value, 10 ** (scale - 2) * den
    else:
        num, cents_den = value * 10 ** (2 - scale), den
    denominator = Term.const(cents_den) if count is None else Term.const(cents_den) * count
    cents = round_half_up(num, denominator)
    flag = _flags(value, num, denominator, division)
    if minimum is not None and minimum_cents is not None:
        threshold = Term.const(minimum.at(scale) * den)
        if count is not None:
            threshold = threshold * count
        below = value.narrow() < threshold.narrow()
        cents = Term.const(minimum_cents).when(below, cents)
    return PureColumns(cents, flag)
