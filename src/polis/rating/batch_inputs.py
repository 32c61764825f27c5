"""The risk columns of a batch: checked like :func:`polis.policies.risk.resolve_risk`, row by row.

A portfolio is a Polars frame with one row per risk and one column per risk field. Accepted column
types (exact values only — a float column is refused, money is never binary floating point):

- ``decimal``: ``Decimal(p, s)`` or any integer type; read as an integer mantissa at scale ``s``;
- ``integer``: any integer type; ``enum``: ``String``, ``Categorical`` or ``Enum``; ``boolean``;
- ``decimal_list``: a ``List`` of decimals or integers.

A missing optional column takes the field's default (or stays null); a null cell takes the default.
Every problem raises ``InvalidInput`` naming ``risk.<field>`` and the first bad row (0-based, counted
from ``first_row``): a missing required column, a column of the wrong type, a null required value,
an enum value not allowed, a number out of bounds, a list of the wrong length; and, for the covers a
row takes, a value a tariff needs but lacks, a value beyond the last closed band, a negative basis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import polars as pl

from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.policies.product import Product, RiskField
from polis.rating.bases import Valuation
from polis.rating.batch_plan import BandsFactor, CoverPlan, Fixed, Plan

__all__ = ["PREFIX", "Field", "at_most", "below", "included", "normalise", "use_value_rows"]

PREFIX = "__polis_"


@dataclass(frozen=True, slots=True)
class Field:
    """A risk field as the rater reads it: its normalised column(s) and the bounds found."""

    name: str
    type: str
    column: str  # the normalised column (mantissa, enum code, boolean; for lists: the item sum)
    scale: int = 0  # decimal and decimal_list: the mantissa's scale
    values: tuple[str, ...] = ()  # enum
    lo: int = 0  # smallest mantissa found (lists: item sum) — for the integer widths
    hi: int = 0  # largest
    max_items: int = 0  # decimal_list: the most items a row may have

    @property
    def bound(self) -> int:
        return max(abs(self.lo), abs(self.hi), 1)

    def col(self) -> pl.Expr:
        return pl.col(self.column)


def _threshold(value: Decimal, scale: int, rounding: str) -> int:
    return int(value.scaleb(scale).to_integral_value(rounding=rounding))


def at_most(column: pl.Expr, limit: int) -> pl.Expr:
    """``column ≤ limit`` for an integer column, whatever the size of ``limit``."""
    if abs(limit) < 2**62:
        return column <= limit
    return column.cast(pl.Int128) <= max(min(limit, 2**126), -(2**126))


def below(column: pl.Expr, limit: int) -> pl.Expr:
    """``column < limit`` for an integer column, whatever the size of ``limit``."""
    return at_most(column, limit - 1)


def _default_scale(spec: RiskField) -> int:
    if spec.type != "decimal" or spec.default is None:
        return 0
    return Fixed.of(to_decimal(spec.default)).s


def _decimal_column(name: str, dtype: pl.DataType, scale: int, label: str) -> pl.Expr:
    """The column as an integer mantissa at ``scale`` (≥ the column's own scale)."""
    if isinstance(dtype, pl.Decimal):
        own = dtype.scale or 0
        wide = (dtype.precision or 38) + scale - own > 18
        expr = pl.col(name).to_physical().cast(pl.Int128 if wide else pl.Int64)
        return expr * 10 ** (scale - own) if scale > own else expr
    if dtype.is_integer():
        expr = pl.col(name).cast(pl.Int64, strict=False)
        return expr * 10**scale if scale else expr
    if dtype == pl.Null:
        return pl.lit(None, dtype=pl.Int64)
    raise InvalidInput(
        f"expected a Decimal or integer column (exact values), got {dtype}", field=label
    )


def _scale_of(dtype: pl.DataType) -> int:
    return (dtype.scale or 0) if isinstance(dtype, pl.Decimal) else 0


def _list_column(name: str, dtype: pl.DataType, label: str) -> tuple[pl.Expr, int]:
    """A list column as lists of Int128 mantissas, and their scale."""
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    if isinstance(inner, pl.Decimal):
        return pl.col(name).list.eval(pl.element().to_physical().cast(pl.Int128)), inner.scale or 0
    if isinstance(inner, pl.DataType) and inner.is_integer():
        return pl.col(name).list.eval(pl.element().cast(pl.Int128, strict=False)), 0
    raise InvalidInput(
        f"expected a list of Decimal or integer values (exact), got {dtype}", field=label
    )


def _enum_codes(name: str, dtype: pl.DataType, values: tuple[str, ...]) -> pl.Expr:
    if isinstance(dtype, pl.Enum) and tuple(dtype.categories.to_list()) == values:
        return pl.col(name).to_physical()
    raw = pl.col(name) if dtype == pl.String else pl.col(name).cast(pl.String)
    return raw.cast(pl.Enum(values), strict=False).to_physical()


def _normalised(spec: RiskField, name: str, frame: pl.DataFrame) -> tuple[pl.Expr, Field]:
    label, out = f"risk.{name}", f"{PREFIX}{name}"
    present = name in frame.columns
    dtype = frame.schema[name] if present else pl.Null()
    if spec.type == "enum":
        values = tuple(spec.values or [])
        textual = dtype in (pl.String, pl.Null) or isinstance(dtype, pl.Categorical | pl.Enum)
        if not textual:
            raise InvalidInput(f"expected a text or categorical column, got {dtype}", field=label)
        codes = (
            _enum_codes(name, dtype, values)
            if present and dtype != pl.Null
            else pl.lit(None, dtype=pl.UInt32)
        )
        if spec.default is not None:
            codes = codes.fill_null(values.index(str(spec.default)))
        return codes.alias(out), Field(name, "enum", out, values=values)
    if spec.type == "boolean":
        if present and dtype not in (pl.Boolean, pl.Null):
            raise InvalidInput(f"expected a boolean column, got {dtype}", field=label)
        value = pl.col(name).cast(pl.Boolean) if present else pl.lit(None, dtype=pl.Boolean)
        if spec.default is not None:
            value = value.fill_null(bool(spec.default))
        return value.alias(out), Field(name, "boolean", out)
    if spec.type == "decimal_list":
        if not present or dtype == pl.Null:
            empty = pl.lit(None, dtype=pl.List(pl.Int128))
            return empty.alias(out), Field(name, spec.type, out, max_items=spec.max_items)
        items, scale = _list_column(name, dtype, label)
        return items.alias(out), Field(name, spec.type, out, scale=scale, max_items=spec.max_items)
    scale = max(_scale_of(dtype), _default_scale(spec))
    if spec.type == "integer":
        if present and not (dtype.is_integer() or dtype == pl.Null):
            raise InvalidInput(f"expected an integer column, got {dtype}", field=label)
        scale = 0
    value = _decimal_column(name, dtype, scale, label) if present else pl.lit(None, pl.Int64)
    if spec.default is not None:
        value = value.fill_null(Fixed.of(to_decimal(spec.default)).at(scale))
    return value.alias(out), Field(name, spec.type, out, scale=scale)


# ----------------------------------------------------------------------------------- row checks

Message = Callable[[object], str]


@dataclass(frozen=True, slots=True)
class _Check:
    bad: pl.Expr
    field: str
    column: str | None  # the raw column whose value the message shows
    message: Message


def _bounds_checks(spec: RiskField, f: Field, raw: str | None) -> list[_Check]:
    label, checks = f"risk.{f.name}", []
    if f.type == "decimal_list":
        value = f.col()
        length = pl.col(f.column).list.len()
        checks.append(
            _Check(
                length.is_not_null() & ~length.is_between(spec.min_items, spec.max_items),
                label,
                raw,
                lambda v: f"expected {spec.min_items} to {spec.max_items} values, got {v}",
            )
        )
        checks.append(
            _Check(
                value.list.eval(pl.element().is_null()).list.any().fill_null(False),
                label,
                raw,
                lambda v: f"every declared value is a number, got {v}",
            )
        )
        low, high = value.list.min(), value.list.max()
    else:
        low = high = f.col()
    if spec.min is not None:
        floor = _threshold(spec.min, f.scale, ROUND_CEILING)
        checks.append(
            _Check(below(low, floor), label, raw, lambda v: f"{v} is below the minimum {spec.min}")
        )
    if spec.max is not None:
        ceiling = _threshold(spec.max, f.scale, ROUND_FLOOR)
        checks.append(
            _Check(
                ~at_most(high, ceiling) & high.is_not_null(),
                label,
                raw,
                lambda v: f"{v} is above the maximum {spec.max}",
            )
        )
    return checks


def _field_checks(spec: RiskField, f: Field, frame: pl.DataFrame) -> list[_Check]:
    label = f"risk.{f.name}"
    raw = f.name if f.name in frame.columns else None
    checks = []
    if raw is not None and f.type != "boolean":  # a value that did not convert
        converted_null = f.col().is_null() & pl.col(raw).is_not_null()
        if f.type == "enum":
            allowed = ", ".join(f.values)
            checks.append(
                _Check(
                    converted_null,
                    label,
                    raw,
                    lambda v: f"{v!r} is not allowed; allowed values: {allowed}",
                )
            )
        else:
            checks.append(_Check(converted_null, label, raw, lambda v: f"{v} is out of range"))
    if spec.required:
        checks.append(_Check(f.col().is_null(), label, None, lambda v: "this field is required"))
    if f.type in {"decimal", "integer", "decimal_list"}:
        checks += _bounds_checks(spec, f, raw)
    return checks


def included(cover: CoverPlan, fields: dict[str, Field]) -> pl.Expr:
    """Whether each row takes the cover (``included_when`` true; absent: always)."""
    if cover.included_when is None:
        return pl.lit(True)
    return fields[cover.included_when].col().fill_null(False)


def use_value_rows(cover: CoverPlan, fields: dict[str, Field]) -> pl.Expr:
    """The rows whose insured value of this cover is a use value (depreciation applies)."""
    basis = cover.basis
    if basis is None or basis.kind != "insured_value":
        return pl.lit(False)
    if basis.valuation_field is not None:
        f = fields[basis.valuation_field]
        return f.col() == f.values.index(Valuation.USE_VALUE.value)
    return pl.lit(basis.valuation is Valuation.USE_VALUE)


def _needed(cover: CoverPlan) -> list[str]:
    basis = cover.basis
    names = [
        basis.amount_field if basis else None,
        basis.valuation_field if basis else None,
        basis.values_field if basis else None,
        cover.exposure_field,
        cover.unit_field,
        cover.quantity_field,
        *(f.field for f in cover.factors),
    ]
    return [n for n in dict.fromkeys(names) if n is not None]


def _depreciation_checks(cover: CoverPlan, fields: dict[str, Field], on: pl.Expr) -> list[_Check]:
    basis = cover.basis
    if basis is None or basis.kind != "insured_value":
        return []
    rows = on & use_value_rows(cover, fields)
    checks = []
    if basis.depreciation_field is not None:
        f = fields[basis.depreciation_field]
        one = 10**f.scale
        checks.append(_needed_check(cover, f, rows))
        checks.append(
            _Check(
                rows & ((f.col() < 0) | ~at_most(f.col(), one)),
                f"risk.{f.name}",
                f.name,
                lambda v: f"a depreciation rate is between 0 and 1, got {v}",
            )
        )
    elif basis.depreciation_rate is None and basis.age_field is not None:
        f = fields[basis.age_field]
        checks.append(_needed_check(cover, f, rows))
        checks.append(_Check(rows & (f.col() < 0), f"risk.{f.name}", f.name, _negative))
    return checks


def _no_factor(name: str) -> Message:
    return lambda value: f"no factor {name} for {str(value)!r}"


def _negative(value: object) -> str:
    return f"must not be negative, got {value}"


def _needed_check(cover: CoverPlan, f: Field, rows: pl.Expr) -> _Check:
    return _Check(
        rows & f.col().is_null(),
        f"risk.{f.name}",
        None,
        lambda v: f"needed by the tariff of cover {cover.id}",
    )


def _cover_checks(cover: CoverPlan, fields: dict[str, Field]) -> list[_Check]:
    on = included(cover, fields)
    checks = [_needed_check(cover, fields[n], on) for n in _needed(cover)]
    checks += _depreciation_checks(cover, fields, on)
    basis = cover.basis
    if basis is not None and basis.amount_field is not None:
        f = fields[basis.amount_field]
        checks.append(_Check(on & (f.col() < 0), f"risk.{f.name}", f.name, _negative))
    if basis is not None and basis.values_field is not None:
        f = fields[basis.values_field]
        checks.append(_Check(on & (f.col().list.min() < 0), f"risk.{f.name}", f.name, _negative))
    for factor in cover.factors:
        closed = isinstance(factor, BandsFactor) and len(factor.bounds) == len(factor.factors)
        if isinstance(factor, BandsFactor) and closed and factor.default is None:
            f = fields[factor.field]
            last = _threshold(factor.bounds[-1], f.scale, ROUND_FLOOR)
            beyond = on & ~at_most(f.col(), last) & f.col().is_not_null()
            checks.append(_Check(beyond, f"risk.{f.name}", f.name, _no_factor(factor.name)))
    return checks


def _stats(fields: dict[str, Field]) -> list[pl.Expr]:
    exprs = []
    for f in fields.values():
        if f.type in {"decimal", "integer"}:
            exprs += [f.col().min().alias(f"lo:{f.name}"), f.col().max().alias(f"hi:{f.name}")]
        elif f.type == "decimal_list":  # the bound covers the items and their sum
            items, total = f.col().list, f.col().list.sum()
            low = pl.min_horizontal(items.min().min(), total.min(), pl.lit(0, pl.Int128))
            high = pl.max_horizontal(items.max().max(), total.max(), pl.lit(0, pl.Int128))
            exprs += [low.alias(f"lo:{f.name}"), high.alias(f"hi:{f.name}")]
    return exprs


def _first_bad(checks: list[_Check]) -> list[pl.Expr]:
    rows = pl.int_range(pl.len(), dtype=pl.Int64)
    return [
        pl.when(c.bad.fill_null(False)).then(rows).otherwise(None).min().alias(f"check:{i}")
        for i, c in enumerate(checks)
    ]


def normalise(
    product: Product, plan: Plan, frame: pl.DataFrame, *, first_row: int = 0
) -> tuple[pl.DataFrame, dict[str, Field]]:
    """The frame with one normalised column per risk field, every row checked (see module doc)."""
    exprs, fields = [], {}
    for name, spec in product.risk.items():
        if name not in frame.columns and spec.required:
            raise InvalidInput(
                "this field is required: the column is missing", field=f"risk.{name}"
            )
        expr, fields[name] = _normalised(spec, name, frame)
        exprs.append(expr)
    data = frame.with_columns(exprs)
    checks: list[_Check] = []
    for name, spec in product.risk.items():
        checks += _field_checks(spec, fields[name], frame)
    for cover in plan.covers:
        checks += _cover_checks(cover, fields)
    if all(c.included_when is not None for c in plan.covers):
        none = ~pl.any_horizontal([included(c, fields) for c in plan.covers])
        checks.append(
            _Check(none, "risk", None, lambda v: "the risk selects no cover of this product")
        )
    found = data.select(*_first_bad(checks), *_stats(fields)).row(0, named=True)
    _raise_first(checks, found, frame, first_row)
    return data, {
        name: replace(f, lo=int(found.get(f"lo:{name}") or 0), hi=int(found.get(f"hi:{name}") or 0))
        for name, f in fields.items()
    }


def _raise_first(
    checks: list[_Check], found: dict[str, object], frame: pl.DataFrame, first_row: int
) -> None:
    bad = [(row, i) for i, _ in enumerate(checks) if isinstance(row := found[f"check:{i}"], int)]
    if not bad:
        return
    row, i = min(bad)
    check = checks[i]
    value = frame[row, check.column] if check.column is not None else None
    if isinstance(value, pl.Series):
        value = value.to_list()
    raise InvalidInput(f"row {first_row + row}: {check.message(value)}", field=check.field)
