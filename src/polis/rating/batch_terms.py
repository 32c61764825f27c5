"""Exact integer column arithmetic for the batch rater: :class:`Term` and the factor lookups.

A :class:`Term` is a Polars integer expression with a bound on its absolute value. Each operation
computes the bound of its result and picks the narrowest safe type — ``Int64`` below 2^62, else
``Int128`` below 2^125 — so a product of a few decimals stays in fast 64-bit arithmetic and never
overflows; beyond 2^125 the plan is refused (``InvalidInput``) rather than computed wrong.

Rounding is ``round_half_up(n / d) = (2n + d) // (2d)`` for ``n ≥ 0`` (exact integer division); the
signed variant rounds half away from zero like ``Decimal.quantize(ROUND_HALF_UP)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import numpy as np
import polars as pl

from polis.kernel.errors import InvalidInput
from polis.rating.batch_inputs import Field, at_most
from polis.rating.batch_plan import BandsFactor, Factor, Fixed, TableFactor

__all__ = [
    "DENSE_SPAN",
    "EXACT_DIGITS",
    "Term",
    "band_index",
    "beyond_28_digits",
    "dense",
    "lookup",
    "near_tie",
    "round_half_up",
]

INT64_SAFE = 2**62
INT128_SAFE = 2**125
#: a Decimal result of the single path (28 significant digits, ≤ 20 operations) is within this
#: relative distance of the exact value; rows whose exact value is closer to a half cent are rated
#: by the single path itself
TIE_MARGIN = 10**25


def _wide(bound: int) -> bool:
    if bound >= INT128_SAFE:
        raise InvalidInput(
            "the values of this portfolio need more than 37 digits for exact batch rating "
            "(amounts or decimals too large)",
            field="risk",
        )
    return bound >= INT64_SAFE


@dataclass(frozen=True, slots=True)
class Term:
    """An integer expression, a bound on its absolute value, and whether it may be negative.

    ``value`` is set for constants (it lets a division by a constant bound its quotient).
    """

    expr: pl.Expr
    bound: int
    signed: bool = False
    value: int | None = None

    @classmethod
    def const(cls, value: int) -> Term:
        wide = _wide(abs(value))
        literal = pl.lit(value, dtype=pl.Int128 if wide else pl.Int64)
        return cls(literal, abs(value), value < 0, value)

    @property
    def wide(self) -> bool:
        return _wide(self.bound)

    def as_type(self, wide: bool) -> pl.Expr:
        return self.expr.cast(pl.Int128 if wide else pl.Int64)

    def narrow(self) -> pl.Expr:
        """The expression in the narrowest safe type."""
        return self.as_type(self.wide)

    def _combine(self, other: Term, bound: int, op: str) -> Term:
        wide = _wide(bound)
        a, b = self.as_type(wide), other.as_type(wide)
        expr = {"mul": a * b, "add": a + b, "sub": a - b}[op]
        return Term(expr, bound, self.signed or other.signed or op == "sub")

    def __mul__(self, other: Term | int) -> Term:
        o = _term(other)
        if o.value == 1:
            return self
        return self._combine(o, max(self.bound * o.bound, 1), "mul")

    def __add__(self, other: Term | int) -> Term:
        o = _term(other)
        return self._combine(o, self.bound + o.bound, "add")

    def __sub__(self, other: Term | int) -> Term:
        o = _term(other)
        return self._combine(o, self.bound + o.bound, "sub")

    def when(self, condition: pl.Expr, otherwise: Term | int | None) -> Term:
        """This term where ``condition`` holds, else ``otherwise`` (``None``: null)."""
        o = None if otherwise is None else _term(otherwise)
        bound = max(self.bound, o.bound if o else 0)
        wide = _wide(bound)
        other = pl.lit(None, pl.Int64) if o is None else o.as_type(wide)
        expr = pl.when(condition).then(self.as_type(wide)).otherwise(other)
        return Term(expr, bound, self.signed or (o is not None and o.signed))


#: the single path's Decimal context keeps 28 significant digits: below this, a product is exact
EXACT_DIGITS = 10**28


def beyond_28_digits(product: Term) -> pl.Expr | None:
    """The rows where a product of mantissas may have been rounded by the single path."""
    if product.bound < EXACT_DIGITS:
        return None
    return product.narrow().abs() >= EXACT_DIGITS


def _term(value: Term | int) -> Term:
    return value if isinstance(value, Term) else Term.const(value)


def _floordiv(num: Term, den: Term, bound: int) -> Term:
    wide = _wide(max(num.bound, den.bound))
    return Term(num.as_type(wide) // den.as_type(wide), bound)


def round_half_up(num: Term, den: Term | int) -> Term:
    """``num / den`` rounded half-up (half away from zero when ``num`` may be negative).

    ``den`` is positive: a constant, or a per-row term whose rows are ≥ 1.
    """
    d = _term(den)
    bound = num.bound // max(d.value or 1, 1) + 1
    if not num.signed:
        return _floordiv(num * 2 + d, d * 2, bound)
    magnitude = Term(num.narrow().abs(), num.bound)
    q = _floordiv(magnitude * 2 + d, d * 2, bound)
    return Term(pl.when(num.narrow() < 0).then(-q.narrow()).otherwise(q.narrow()), bound, True)


def near_tie(num: Term, den: Term | int) -> pl.Expr:
    """Whether ``num / den`` (≥ 0) is within ``1e-25`` of its own size from a half unit.

    With ``x = 2·num mod 2·den``, the distance to the nearest half is ``|x − den| / (2·den)``; the
    row is flagged when ``|x − den| ≤ 2·num / 10^25`` (tested as ``≤ 2·num // 10^25 + 1``).
    """
    d = _term(den)
    twice = num * 2
    wide = _wide(max(twice.bound, d.bound * 2))
    x = twice.as_type(wide) % (d * 2).as_type(wide)
    distance = (x - d.as_type(wide)).abs()
    if twice.bound < TIE_MARGIN:  # 2·num // 10^25 is 0 on every row
        return distance <= 1
    margin = twice.as_type(True) // pl.lit(TIE_MARGIN, pl.Int128) + 1
    return distance.cast(pl.Int128) <= margin


# -------------------------------------------------------------------------------------- lookups

#: a lookup over at most this many distinct mantissas is one gather from a dense array
DENSE_SPAN = 1 << 16


def dense(column: pl.Expr, lo: int, hi: int, values: Sequence[int | None]) -> pl.Expr:
    """``values[v − lo]`` for each row's integer ``v`` in ``[lo, hi]`` (one gather; null stays null)."""
    assert len(values) == hi - lo + 1
    table = pl.Series(values, dtype=pl.Int64)
    return pl.lit(table).gather(column - lo if lo else column)


def _scale(values: Sequence[Fixed | None]) -> int:
    return max((v.s for v in values if v is not None), default=0)


def band_index(bounds: Sequence[Decimal], field_scale: int, lo: int, hi: int) -> np.ndarray:
    """For each mantissa in ``[lo, hi]``: the index of its band (``len(bounds)``: beyond them)."""
    limits = [int(b.scaleb(field_scale).to_integral_value(rounding=ROUND_FLOOR)) for b in bounds]
    return np.searchsorted(np.asarray(limits, dtype=np.int64), np.arange(lo, hi + 1), side="left")


def _mantissas(values: Sequence[Fixed | None], scale: int) -> list[int | None]:
    return [None if v is None else v.at(scale) for v in values]


def _bound(values: Sequence[Fixed | None], scale: int) -> int:
    return max([abs(v.at(scale)) for v in values if v is not None] + [1])


def _table(factor: TableFactor, field: Field) -> tuple[Term, int]:
    scale = _scale([*factor.table.values(), factor.default])
    bound = _bound([*factor.table.values(), factor.default], scale)
    column = field.col()

    def at(value: Fixed | None) -> int | None:
        return None if value is None else value.at(scale)

    if field.type == "enum":
        found = [at(factor.table.get(v, factor.default)) for v in field.values]
        return Term(pl.lit(pl.Series(found, dtype=pl.Int64)).gather(column), bound), scale
    if field.type == "boolean":
        yes, no = (at(factor.table.get(k, factor.default)) for k in ("true", "false"))
        expr = pl.when(column).then(pl.lit(yes, pl.Int64)).otherwise(pl.lit(no, pl.Int64))
        return Term(expr, bound), scale
    if field.hi - field.lo <= DENSE_SPAN:
        keys = range(field.lo, field.hi + 1)
        found = [at(factor.table.get(str(k), factor.default)) for k in keys]
        return Term(dense(column, field.lo, field.hi, found), bound), scale
    expr = column.replace_strict(
        [int(k) for k in factor.table],
        [at(v) for v in factor.table.values()],
        default=at(factor.default),
        return_dtype=pl.Int64,
    )
    return Term(expr, bound), scale


def _bands(factor: BandsFactor, field: Field) -> tuple[Term, int]:
    scale = _scale([*factor.factors, factor.default])
    bound = _bound([*factor.factors, factor.default], scale)
    open_band = factor.factors[len(factor.bounds) :]
    beyond = open_band[0] if open_band else factor.default
    per_band = _mantissas([*factor.factors[: len(factor.bounds)], beyond], scale)
    if field.hi - field.lo <= DENSE_SPAN:
        index = band_index(factor.bounds, field.scale, field.lo, field.hi)
        found = [per_band[i] for i in index]
        return Term(dense(field.col(), field.lo, field.hi, found), bound), scale
    expr: pl.Expr = pl.lit(per_band[-1], pl.Int64)
    for up_to, value in reversed(list(zip(factor.bounds, per_band, strict=False))):
        limit = int(up_to.scaleb(field.scale).to_integral_value(rounding=ROUND_FLOOR))
        expr = pl.when(at_most(field.col(), limit)).then(pl.lit(value, pl.Int64)).otherwise(expr)
    return Term(expr, bound), scale


def lookup(factor: Factor, field: Field) -> tuple[Term, int]:
    """The factor's mantissa for each row, and its scale."""
    if isinstance(factor, TableFactor):
        return _table(factor, field)
    return _bands(factor, field)
