"""A random, valid portfolio for a product: one row per risk, values within each field's domain.

For demos and benchmarks (``polis rate sample``): enum values and booleans uniformly, integers and
decimals uniformly between the field's bounds (decimals with two decimal places, or more when a
bound has more; fields without bounds between 0 and 1,000,000), lists of 1 to 12 decimals. A
field with a default is left empty (null: the default applies) on about one row in ten. Seeded: the same
seed gives the same portfolio.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from polis.policies.product import Product, RiskField
from polis.rating.batch_plan import Fixed
from polis.rating.batch_reference import decimal_view

__all__ = ["sample_portfolio"]

UNBOUNDED = (Decimal(0), Decimal(1_000_000))


def _scale(spec: RiskField) -> int:
    bounds = [b for b in (spec.min, spec.max) if b is not None]
    return max([2, *(Fixed.of(b).s for b in bounds)])


def _mantissas(spec: RiskField, rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
    low = spec.min if spec.min is not None else UNBOUNDED[0]
    high = spec.max if spec.max is not None else max(UNBOUNDED[1], low)
    return rng.integers(int(low.scaleb(scale)), int(high.scaleb(scale)) + 1, size=size)


def _decimal_list(spec: RiskField, rng: np.random.Generator, rows: int) -> pl.Series:
    scale = _scale(spec)
    longest = max(spec.min_items, min(spec.max_items, 12))
    lengths = rng.integers(spec.min_items, longest + 1, size=rows)
    units = pl.DataFrame({"v": _mantissas(spec, rng, int(lengths.sum()), scale)})
    flat = decimal_view(units, {"v": scale})["v"].to_arrow()
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
    lists = pl.Series(pa.ListArray.from_arrays(offsets, flat))
    assert isinstance(lists, pl.Series)
    return lists


def _column(name: str, spec: RiskField, rng: np.random.Generator, rows: int) -> pl.Series:
    if spec.type == "enum":
        values = spec.values or []
        codes = rng.integers(0, len(values), size=rows)
        return pl.Series(name, np.asarray(values, dtype=object)[codes]).cast(pl.Enum(values))
    if spec.type == "boolean":
        return pl.Series(name, rng.random(rows) < 0.5)
    if spec.type == "integer":
        return pl.Series(name, _mantissas(spec, rng, rows, 0), dtype=pl.Int64)
    if spec.type == "decimal":
        scale = _scale(spec)
        units = pl.DataFrame({name: _mantissas(spec, rng, rows, scale)})
        return decimal_view(units, {name: scale})[name]
    return _decimal_list(spec, rng, rows).alias(name)


def sample_portfolio(product: Product, rows: int, *, seed: int = 0) -> pl.DataFrame:
    """``rows`` random valid risks of ``product`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    columns = []
    for name, spec in product.risk.items():
        column = _column(name, spec, rng, rows)
        if spec.default is not None:
            empty = pl.Series(rng.random(rows) < 0.1)
            column = pl.select(pl.when(empty).then(None).otherwise(column)).to_series()
        columns.append(column.alias(name))
    return pl.DataFrame(columns)
