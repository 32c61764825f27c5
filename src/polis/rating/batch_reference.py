"""Rows rated by the single path itself, and the exact decimal view of integer money columns.

The columnar rater computes every value exactly; the single path computes on ``Decimal`` with 28
significant digits, so after a non-terminating division (the mean of 3 declarations, a time factor
of 181/365) its value can differ from the exact one in the 28th digit. That only changes a cent when
the exact value is within that distance of a half cent: such rows (flagged by the rater, a handful
per million at most, usually none) are priced by :func:`polis.policies.quote.quote_risk` and their
lines written in place — so the batch equals the single path on every row, by construction there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from polis.policies.product import Product
from polis.policies.quote import Quote, quote_risk
from polis.rating.batch_plan import Plan
from polis.rating.taxes import TaxTable

__all__ = ["decimal_view", "quote_lines", "reference_lines"]


def _units(amount: Decimal, scale: int) -> int:
    return int(amount.scaleb(scale))


def quote_lines(quote: Quote, scales: Mapping[str, int]) -> dict[str, int | None]:
    """The output columns of one quote (integer units of each column's scale; absent: None)."""
    row: dict[str, int | None] = dict.fromkeys(scales)
    priced = quote.priced
    for cover in priced.covers:
        row[f"{cover.id}.pure"] = _units(cover.pure, 2)
        for loading in cover.loadings:
            row[f"{cover.id}.loading.{loading.name}"] = _units(loading.amount, 2)
        row[f"{cover.id}.net"] = _units(cover.net, 2)
        for surcharge in cover.surcharges:
            row[f"{cover.id}.cat_nat"] = _units(surcharge.amount, 2)
        for tax in cover.taxes:
            row[f"{cover.id}.tax"] = _units(tax.amount, 2)
    for fee in priced.fees:
        row[f"fee.{fee.name}"] = _units(fee.amount, 2)
    for tax in priced.fee_taxes:
        row["fees.tax"] = _units(tax.amount, 2)
    for contribution in priced.contributions:
        row[f"contribution.{contribution.name}"] = _units(contribution.amount, 2)
    totals = {
        "pure_premium": priced.pure_premium,
        "net_premium": priced.net_premium,
        "total_surcharges": sum((s.amount for s in priced.surcharges), Decimal(0)),
        "total_taxes": sum((t.amount for t in priced.taxes), Decimal(0)),
        "total_contributions": sum((c.amount for c in priced.contributions), Decimal(0)),
        "total_fees": sum((f.amount for f in priced.fees), Decimal(0)),
        "total_premium": priced.total_premium,
    }
    row.update({name: _units(value, 2) for name, value in totals.items()})
    if "regularisation" in scales and quote.regularisation is not None:
        row["regularisation"] = _units(quote.regularisation.amount, scales["regularisation"])
    return row


def reference_lines(
    product: Product,
    plan: Plan,
    table: TaxTable,
    frame: pl.DataFrame,
    rows: Sequence[int],
    scales: Mapping[str, int],
) -> dict[str, list[int | None]]:
    """Rate ``rows`` of ``frame`` with the single path; the lines by output column."""
    names = [n for n in product.risk if n in frame.columns]
    records = frame.select(names)[list(rows)].to_dicts()
    columns: dict[str, list[int | None]] = {name: [] for name in scales}
    for record in records:
        risk = {k: v for k, v in record.items() if v is not None}
        quote = quote_risk(product, risk, as_of=plan.as_of, taxes=table)
        for name, value in quote_lines(quote, scales).items():
            columns[name].append(value)
    return columns


def _decimal_chunk(chunk: pa.Array, scale: int, precision: int) -> pa.Array:
    """One Arrow ``int64`` chunk as ``decimal128``: the integers are the mantissas (no arithmetic).

    The 128-bit buffer comes from Arrow's memory pool, which keeps its pages between calls (fresh
    pages from the system cost more than the copy itself).
    """
    start, length = chunk.offset, len(chunk)
    validity, data = chunk.buffers()
    values = np.frombuffer(data, dtype=np.int64, count=length, offset=start * 8)
    buffer = pa.allocate_buffer((start + length) * 16)
    wide = np.frombuffer(buffer, dtype=np.int64).reshape(-1, 2)
    wide[start:, 0] = values
    np.right_shift(values, 63, out=wide[start:, 1])  # sign extension: two's complement, LE
    return pa.Array.from_buffers(
        pa.decimal128(precision, scale),
        length,
        [validity if chunk.null_count else None, buffer],
        null_count=chunk.null_count,
        offset=start,
    )


def decimal_view(
    units: pl.DataFrame, scales: Mapping[str, int], precision: int = 18
) -> pl.DataFrame:
    """``Int64`` columns of integer units (cents) as ``Decimal(precision, scale)``, exactly.

    The mantissas are the integers themselves: each Arrow chunk is widened to 128 bits and wrapped
    as ``decimal128`` (zero-copy in and out of Polars), so no value is multiplied or rounded.
    """
    table = units.select(pl.col(list(scales)).cast(pl.Int64)).to_arrow()
    columns = []
    for name, scale in scales.items():
        chunks = table.column(name).chunks
        array = pa.chunked_array(
            [_decimal_chunk(c, scale, precision) for c in chunks],
            type=pa.decimal128(precision, scale),
        )
        columns.append(array)
    result = pl.from_arrow(pa.table(columns, names=list(scales)))
    assert isinstance(result, pl.DataFrame)
    return result
