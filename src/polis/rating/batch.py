"""Batch rating: a product compiled to columnar, exact fixed-point operations (the single path's twin).

``compile_product(product, as_of=…)`` resolves the product and the tax table for one due date
(:mod:`.batch_compile`); ``BatchRater.rate(frame)`` takes one row per risk (a column per risk field,
checked like a single risk: :mod:`.batch_inputs`) and returns the input plus, per row:

=============================  =============================================================
``<cover>.pure``               pure premium of each cover (null when the row does not take it)
``<cover>.loading.<name>``     each loading line of the cover
``<cover>.net``                net premium of the cover
``<cover>.cat_nat``            natural-catastrophe surcharge (covers that may bear one)
``<cover>.tax``                tax of the cover (TSCA/TSA at its line's rate)
``fee.<name>``, ``fees.tax``   fees and the tax on fees
``contribution.<name>``        contributions (null when the row does not owe it)
``pure_premium`` …             ``net_premium``, ``total_surcharges``, ``total_taxes``,
                               ``total_contributions``, ``total_fees``, ``total_premium``
``regularisation``             products with declarations and a provisional premium
=============================  =============================================================

Money is ``Decimal(18, 2)`` (exact cents; ``money="cents"`` gives ``Int64`` cents instead). Every
value is computed in integers (:mod:`.batch_covers`, :mod:`.batch_contract`), rounded half-up at the
single path's rounding points, so each line equals :func:`polis.policies.quote.quote_risk` to the
cent; the rare rows whose exact value sits within 10^-25 (relative) of a half cent after a
non-terminating division are priced by the single path itself (:mod:`.batch_reference`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

import polars as pl

from polis.kernel.errors import InvalidInput
from polis.policies.product import Product
from polis.rating.batch_compile import compile_plan
from polis.rating.batch_contract import (
    Column,
    contract_columns,
    cover_columns,
    first_covers,
    theft_fire_rows,
)
from polis.rating.batch_covers import pure_columns
from polis.rating.batch_inputs import PREFIX, Field, included, normalise
from polis.rating.batch_plan import Plan
from polis.rating.batch_reference import decimal_view, reference_lines
from polis.rating.batch_terms import Term
from polis.rating.taxes import TaxTable, load_tax_table

__all__ = ["TOTALS", "BatchRater", "compile_product"]

TOTALS = (
    "pure_premium",
    "net_premium",
    "total_surcharges",
    "total_taxes",
    "total_contributions",
    "total_fees",
    "total_premium",
)
MAX_CENTS = 10**18  # Decimal(18, 2)
FLAG = f"{PREFIX}reference"


@dataclass(frozen=True, slots=True)
class _Priced:
    """The priced columns of a frame: cents, the rows for the single path, the columns' scales."""

    frame: pl.DataFrame
    scales: dict[str, int]
    signed_pure: list[str] = field(default_factory=list)
    bound: int = 0  # a bound on every amount, in cents (the sum of the lines' bounds)


def _ref(column: Column) -> Term:
    """A column computed in an earlier stage, with its bound."""
    return Term(pl.col(column.name), column.term.bound, column.term.signed)


class BatchRater:
    """A product compiled for one due date; :meth:`rate` prices a frame of risks."""

    def __init__(self, product: Product, plan: Plan, table: TaxTable) -> None:
        self.product = product
        self.plan = plan
        self.table = table

    @property
    def as_of(self) -> date:
        return self.plan.as_of

    def rate(
        self,
        frame: pl.DataFrame,
        *,
        first_row: int = 0,
        money: Literal["decimal", "cents"] = "decimal",
    ) -> pl.DataFrame:
        """``frame`` plus the priced columns (see the module docstring).

        Raises ``InvalidInput`` naming ``risk.<field>`` and the first bad row (numbered from
        ``first_row``, 0-based) for a bad value; the frame is rated only when every row is valid.
        """
        clash = sorted(set(frame.columns) & set(self.columns()))
        if clash:
            raise InvalidInput(
                f"the input has a column named like an output column: {clash[0]!r}",
                field=clash[0],
            )
        data, fields = normalise(self.product, self.plan, frame, first_row=first_row)
        priced = self._price(data, fields)
        cents = self._with_reference_rows(frame, priced)
        self._check_results(cents, priced, first_row)
        if money == "cents":
            return pl.concat([frame, cents.select(list(priced.scales))], how="horizontal")
        return pl.concat([frame, decimal_view(cents, priced.scales)], how="horizontal")

    def columns(self) -> list[str]:
        """The names of the priced columns, in output order."""
        names = []
        for cover in self.plan.covers:
            names.append(f"{cover.id}.pure")
            names += [f"{cover.id}.loading.{lo.name}" for lo in cover.loadings]
            names.append(f"{cover.id}.net")
            names += [f"{cover.id}.cat_nat"] if cover.surcharge else []
            names.append(f"{cover.id}.tax")
        names += [f"fee.{fee.name}" for fee in self.plan.fees]
        names += ["fees.tax"] if self.plan.fees_tax_cents is not None else []
        names += [f"contribution.{c.name}" for c in self.plan.contributions]
        names += list(TOTALS)
        names += ["regularisation"] if self.plan.regularisation else []
        return names

    # ---------------------------------------------------------------------------------- stages

    def _pures(self, fields: dict[str, Field]) -> tuple[list[Column], list[pl.Expr], list[str]]:
        """Each cover's pure premium (null where the row does not take it), flags, signed ones."""
        pures, flags, signed = [], [], []
        for cover in self.plan.covers:
            pure = pure_columns(cover, fields, self.plan)
            on = included(cover, fields)
            pures.append(Column(f"{cover.id}.pure", pure.cents.when(on, None)))
            if pure.flag is not None:
                flags.append((pure.flag & on).fill_null(False))
            if pure.cents.signed:
                signed.append(f"{cover.id}.pure")
        return pures, flags, signed

    def _price(self, data: pl.DataFrame, fields: dict[str, Field]) -> _Priced:
        """Four stages: pure premiums; numerators and nets; lines after the net; totals."""
        plan = self.plan
        pures, flags, signed = self._pures(fields)
        firsts, theft_fire = first_covers(plan, fields), theft_fire_rows(plan, fields)
        before: list[Column] = []
        after: list[Column] = []
        nets: dict[str, Term] = {}
        for cover, pure_column in zip(plan.covers, pures, strict=True):
            stages = cover_columns(
                cover,
                _ref(pure_column),
                plan,
                first=firsts.get(cover.id),
                on=included(cover, fields),
                theft_fire=theft_fire,
            )
            before += stages.before
            after += stages.after
            flags += [f.fill_null(False) for f in stages.flags]
            nets[cover.id] = _ref(next(c for c in stages.before if c.name == f"{cover.id}.net"))
        contract, more = contract_columns(plan, fields, nets)
        flags += [f.fill_null(False) for f in more]
        lazy = data.lazy()
        for stage in (pures, before, after + contract):
            lazy = lazy.with_columns(c.term.narrow().alias(c.name) for c in stage)
        lazy = lazy.with_columns(
            *self._totals(), pl.any_horizontal(flags or [pl.lit(False)]).alias(FLAG)
        )
        scales = {name: 2 for name in self.columns()}
        if plan.regularisation:
            regularisation, scales["regularisation"] = self._regularisation(fields)
            lazy = lazy.with_columns(regularisation.alias("regularisation"))
        frame = lazy.select(*scales, FLAG).collect()
        bound = sum(c.term.bound for c in [*pures, *before, *after, *contract])
        return _Priced(frame, scales, signed, bound)

    def _totals(self) -> list[pl.Expr]:
        """``total = Σ net + Σ surcharges + Σ taxes + Σ contributions + Σ fees`` (nulls: none)."""
        plan = self.plan

        def total(names: list[str]) -> pl.Expr:
            chosen = [pl.col(n) for n in names]
            return pl.sum_horizontal(chosen).cast(pl.Int64) if chosen else pl.lit(0, pl.Int64)

        covers = [c.id for c in plan.covers]
        surcharged = [c.id for c in plan.covers if c.surcharge]
        fees_tax = ["fees.tax"] if plan.fees_tax_cents is not None else []
        parts = {
            "net_premium": total([f"{c}.net" for c in covers]),
            "total_surcharges": total([f"{c}.cat_nat" for c in surcharged]),
            "total_taxes": total([f"{c}.tax" for c in covers] + fees_tax),
            "total_contributions": total([f"contribution.{c.name}" for c in plan.contributions]),
            "total_fees": total([f"fee.{f.name}" for f in plan.fees]),
        }
        whole = pl.sum_horizontal(list(parts.values())).cast(pl.Int64)
        pure = total([f"{c}.pure" for c in covers])
        return [
            pure.alias("pure_premium"),
            *(e.alias(n) for n, e in parts.items()),
            whole.alias("total_premium"),
        ]

    def _regularisation(self, fields: dict[str, Field]) -> tuple[pl.Expr, int]:
        """``final net premium − provisional premium paid`` of the first cover taken with one."""
        scale = max(2, *(fields[p].scale for _, p in self.plan.regularisation))
        candidates = []
        for cover_id, paid_field in self.plan.regularisation:
            cover = next(c for c in self.plan.covers if c.id == cover_id)
            paid = fields[paid_field]
            net = pl.col(f"{cover_id}.net").cast(pl.Int128) * 10 ** (scale - 2)
            value = net - paid.col().cast(pl.Int128) * 10 ** (scale - paid.scale)
            taken = included(cover, fields) & paid.col().is_not_null()
            candidates.append(pl.when(taken).then(value))
        return pl.coalesce(candidates).cast(pl.Int64), scale

    # ------------------------------------------------------------------ rows and final checks

    def _with_reference_rows(self, frame: pl.DataFrame, priced: _Priced) -> pl.DataFrame:
        cents = priced.frame
        rows = cents[FLAG].arg_true().to_list()
        if not rows:
            return cents
        lines = reference_lines(self.product, self.plan, self.table, frame, rows, priced.scales)
        return cents.with_columns(
            cents[name].scatter(rows, pl.Series(values, dtype=pl.Int64))
            for name, values in lines.items()
        )

    def _check_results(self, cents: pl.DataFrame, priced: _Priced, first_row: int) -> None:
        for name in priced.signed_pure:
            negative = cents[name] < 0
            if negative.any():
                row = int(negative.arg_true()[0])
                value = Decimal(int(cents[name][row])).scaleb(-2)
                raise InvalidInput(
                    f"row {first_row + row}: the pure premium must be cents ≥ 0, got {value} "
                    f"({name})",
                    field="pure",
                )
        if priced.bound < MAX_CENTS:
            return
        largest = cents.select(pl.max_horizontal(pl.all().exclude(FLAG).abs().max())).item()
        if largest is not None and largest >= MAX_CENTS:
            raise InvalidInput(
                "an amount exceeds Decimal(18, 2) (10^16 €): check the portfolio's values",
                field="risk",
            )

    def reference_count(self, frame: pl.DataFrame) -> int:
        """How many rows of ``frame`` the single path would price (for diagnostics and tests)."""
        data, fields = normalise(self.product, self.plan, frame)
        return int(self._price(data, fields).frame[FLAG].sum())


def compile_product(
    product: Product,
    *,
    as_of: date,
    taxes: TaxTable | None = None,
    tax_overrides: Mapping[str, Decimal | bool] | None = None,
) -> BatchRater:
    """Compile ``product`` for premiums due on ``as_of`` (the tax rows, the time factor).

    Raises ``InvalidInput`` for a date outside the product's validity (``as_of``), a cover the batch
    cannot price (``covers.<id>``: life tariffs) or a bad override; ``ReferenceDataMissing`` when the
    tax table has no row for ``as_of`` (``due_date``) — exactly as the single path would.
    """
    table = (taxes or load_tax_table()).with_overrides(tax_overrides or {})
    plan = compile_plan(product, as_of=as_of, table=table)
    return BatchRater(product, plan, table)
