"""The columnar twin of :func:`polis.rating.pricing.price_contract`: pure → net → total, per row.

All money is integer cents; every rounding of the single path is one exact integer rounding here:

- amount loading: its cents (a contract amount loading only on the first cover a row takes that
  uses the contract loadings); rate of pure: ``round(P·r)``; then
  ``net = round(Q / (1 − Σ rate_of_net))`` with ``Q = P + those lines``, as
  ``round_half_up(Q·10^k / (10^k − ΣR))`` — a quotient that is never within 10^-20 of a half cent
  unless it is one exactly, where both paths are exact;
- rate-of-net loadings: ``allocate(net − Q, rates)`` by largest remainder, ties to the earlier
  loading (kernel ``allocate``), from integer floors and remainders;
- cat-nat surcharge ``round(net·rate)`` (motor damage: only on rows without a theft + fire cover);
  tax ``round((net + surcharge if taxed)·rate)``;
- fees and their tax: constants; contributions: fixed (× the covered share of a year when the
  product pro-rates them) or ``round(Σ net of their lines · rate)``; owed by default only by rows
  taking a cover of a line that owes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from polis.rating.batch_covers import field_term
from polis.rating.batch_inputs import PREFIX, Field, included
from polis.rating.batch_plan import ContributionPlan, CoverPlan, Fixed, Plan, to_cents
from polis.rating.batch_terms import Term, beyond_28_digits, near_tie, round_half_up
from polis.rating.loadings import LoadingOf
from polis.rating.pure import Unit
from polis.rating.taxes import ContributionKind

__all__ = [
    "Column",
    "CoverStages",
    "contract_columns",
    "cover_columns",
    "first_covers",
    "theft_fire_rows",
]


#: loading rates with this many units at their scale (more than 8 decimals) leave the single path's
#: 28-digit quotients too close to a half cent or an integer to prove them equal: rows are flagged
FINE_DIVISOR = 5 * 10**8


@dataclass(frozen=True, slots=True)
class Column:
    """An output money column (cents), nullable where the line does not exist for the row."""

    name: str
    term: Term


def first_covers(plan: Plan, fields: dict[str, Field]) -> dict[str, pl.Expr]:
    """For each cover using the contract loadings: is it the first such cover the row takes?"""
    result: dict[str, pl.Expr] = {}
    earlier: list[pl.Expr] = []
    for cover in plan.covers:
        if not cover.contract_loadings:
            continue
        on = included(cover, fields)
        result[cover.id] = on & ~pl.any_horizontal(earlier) if earlier else on
        earlier.append(on)
    return result


def theft_fire_rows(plan: Plan, fields: dict[str, Field]) -> pl.Expr:
    """The rows that take a motor theft + fire cover (the motor surcharge goes there)."""
    covers = [included(c, fields) for c in plan.covers if c.theft_fire]
    return pl.any_horizontal(covers) if covers else pl.lit(False)


def _allocate_coarse(total: Term, weights: list[int]) -> list[Term]:
    """Floors only: every row is flagged and priced by the single path."""
    return [Term((total * w).narrow() // sum(weights), total.bound) for w in weights]


def _allocate(total: Term, weights: list[int]) -> tuple[list[Term], pl.Expr | None]:
    """Kernel ``allocate`` in integers: floors, then one cent each by largest remainder."""
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [Term.const(0) for _ in weights], None
    if len(weights) == 1:
        return [total], None
    if weight_sum >= FINE_DIVISOR:  # the single path's quotients may flip a floor: its rows
        return _allocate_coarse(total, weights), pl.lit(True)
    products = [total * w for w in weights]
    wide = any(p.wide for p in products)
    floors = [Term(p.as_type(wide) // weight_sum, total.bound) for p in products]
    rests = [p.as_type(wide) % weight_sum for p in products]
    remainder = total.narrow() - pl.sum_horizontal([f.narrow() for f in floors])
    shares = []
    for i, floor in enumerate(floors):
        ahead = [
            (rests[j] > rests[i]) | ((rests[j] == rests[i]) & pl.lit(j < i))
            for j in range(len(weights))
            if j != i
        ]
        rank = pl.sum_horizontal([a.cast(pl.Int64) for a in ahead])
        bump = (rank < remainder).cast(pl.Int64)
        shares.append(Term(floor.narrow() + bump, total.bound))
    flag = None
    if len(weights) >= 3:  # equal remainders: the single path's 28-digit quotients may order them
        pairs = [
            (rests[i] == rests[j]) & (rests[i] != 0)
            for i in range(len(weights))
            for j in range(i + 1, len(weights))
        ]
        flag = pl.any_horizontal(pairs)
    return shares, flag


@dataclass(frozen=True, slots=True)
class CoverStages:
    """A cover's columns in two stages: lines before the net premium (and the net), then after."""

    before: list[Column]  # amount and rate-of-pure loadings, the numerator, the net premium
    after: list[Column]  # rate-of-net loadings, surcharge, tax
    flags: list[pl.Expr]


def _ref(column: Column) -> Term:
    return Term(pl.col(column.name), column.term.bound, column.term.signed)


def _rated(amount: Term, rate: Fixed, flags: list[pl.Expr]) -> Term:
    """``round(amount × rate)``; rows whose product passes 28 digits are flagged."""
    product = amount * rate.m
    flag = beyond_28_digits(product)
    flags += [flag] if flag is not None else []
    return round_half_up(product, 10**rate.s)


def _net(
    cover: CoverPlan, pure: Term, first: pl.Expr | None, on: pl.Expr, flags: list[pl.Expr]
) -> tuple[dict[str, Term], Term, Term]:
    """The lines of amounts and rates of pure, the numerator ``Q`` and the net premium."""
    lines: dict[str, Term] = {}
    numerator = pure
    for lo in cover.loadings:
        if lo.of is LoadingOf.AMOUNT:
            cents = Term.const(lo.value.at(2))
            charged = first if lo.first_cover_only and first is not None else on
            lines[lo.name] = cents.when(charged, None)
            numerator = numerator + cents.when(charged, 0)
        elif lo.of is LoadingOf.PURE:
            line = _rated(pure, lo.value, flags)
            lines[lo.name] = line
            numerator = numerator + line
    weights = [lo.value for lo in cover.loadings if lo.of is LoadingOf.NET]
    net = numerator
    if weights:
        k = max(w.s for w in weights)
        divisor = 10**k - sum(w.at(k) for w in weights)
        if divisor != 10**k:
            net = round_half_up(numerator * 10**k, divisor)
        if divisor >= FINE_DIVISOR:  # rates with many decimals: the quotient may be near a tie
            flags.append(near_tie(numerator * 10**k, divisor))
    return lines, numerator, net


def cover_columns(
    cover: CoverPlan,
    pure: Term,
    plan: Plan,
    *,
    first: pl.Expr | None,
    on: pl.Expr,
    theft_fire: pl.Expr,
) -> CoverStages:
    """Loadings, net premium, surcharge and tax of one cover, in cents."""
    flags: list[pl.Expr] = []
    lines, numerator, net = _net(cover, pure, first, on, flags)
    q = Column(f"{PREFIX}q.{cover.id}", numerator)
    net_column = Column(f"{cover.id}.net", net)
    before = [Column(f"{cover.id}.loading.{n}", t) for n, t in lines.items()]
    before += [q, net_column]
    net, numerator = _ref(net_column), _ref(q)
    of_net = [lo for lo in cover.loadings if lo.of is LoadingOf.NET]
    after: list[Column] = []
    if of_net:
        k = max(lo.value.s for lo in of_net)
        spread = net - numerator
        shares, flag = _allocate(
            Term(spread.narrow(), spread.bound), [lo.value.at(k) for lo in of_net]
        )
        after += [
            Column(f"{cover.id}.loading.{lo.name}", t) for lo, t in zip(of_net, shares, strict=True)
        ]
        flags += [flag] if flag is not None else []
    after += _surcharge_and_tax(cover, net, plan, theft_fire, flags)
    return CoverStages(before, after, flags)


def _surcharge_and_tax(
    cover: CoverPlan, net: Term, plan: Plan, theft_fire: pl.Expr, flags: list[pl.Expr]
) -> list[Column]:
    """``surcharge = round(net × rate)``; ``tax = round((net + surcharge if taxed) × rate)``."""
    columns, base = [], net
    if cover.surcharge is not None:
        surcharge = _rated(net, cover.surcharge.rate, flags)
        if cover.surcharge.unless_theft_fire:  # motor damage: only without a theft + fire cover
            columns.append(Column(f"{cover.id}.cat_nat", surcharge.when(~theft_fire, None)))
            surcharge = surcharge.when(~theft_fire, 0)
        else:
            columns.append(Column(f"{cover.id}.cat_nat", surcharge))
        if plan.cat_nat_taxed:
            base = net + surcharge
    tax = _rated(base, cover.tax_rate, flags)
    return [*columns, Column(f"{cover.id}.tax", tax)]


# --------------------------------------------------------------------------------- the contract


def _share_of_year(cover: CoverPlan, fields: dict[str, Field], plan: Plan, scale: int) -> Term:
    """The covered share of a year, over the common denominator ``8760 × 10^scale``."""
    unit = 8760 * 10**scale
    num, den = plan.time
    yearly = Term.const(num * unit // den)
    if cover.kind != "per_unit":
        return yearly
    assert cover.quantity_field is not None
    q = fields[cover.quantity_field]
    quantity = field_term(q) * 10 ** (scale - q.scale)
    shares: dict[Unit, Term] = {
        Unit.YEAR: yearly,
        Unit.DAY: quantity * 24,
        Unit.HOUR: quantity,
        Unit.ACT: Term.const(unit),
    }
    if cover.unit is not None:
        return shares[cover.unit]
    assert cover.unit_field is not None
    codes = fields[cover.unit_field].col()
    result = shares[Unit(cover.unit_values[-1])]
    for i, value in enumerate(cover.unit_values[:-1]):
        result = shares[Unit(value)].when(codes == i, result)
    return result


def _fixed(
    contribution: ContributionPlan, plan: Plan, fields: dict[str, Field]
) -> tuple[Term, pl.Expr | None]:
    value = contribution.value
    if not plan.prorate_contributions:
        return Term.const(to_cents(value.decimal)), None
    scale = max(
        (fields[c.quantity_field].scale for c in plan.covers if c.quantity_field), default=0
    )
    shares = [
        _share_of_year(c, fields, plan, scale).when(included(c, fields), None) for c in plan.covers
    ]
    widest = max(s.bound for s in shares)
    share = Term(pl.max_horizontal([s.narrow() for s in shares]), widest)
    num, den = share * (value.m * 100), 8760 * 10**scale * 10**value.s
    return round_half_up(num, den), near_tie(num, den)


def contract_columns(
    plan: Plan, fields: dict[str, Field], nets: dict[str, Term]
) -> tuple[list[Column], list[pl.Expr]]:
    """Fees, the tax on fees and the contributions of each row."""
    columns = [Column(f"fee.{fee.name}", Term.const(fee.cents)) for fee in plan.fees]
    if plan.fees_tax_cents is not None:
        columns.append(Column("fees.tax", Term.const(plan.fees_tax_cents)))
    flags = []
    for contribution in plan.contributions:
        if contribution.kind is ContributionKind.FIXED:
            amount, flag = _fixed(contribution, plan, fields)
            flags += [flag] if flag is not None else []
        else:
            base = Term.const(0)
            for cover_id in contribution.base_covers:
                base = base + nets[cover_id].when(included(_cover(plan, cover_id), fields), 0)
            amount = _rated(base, contribution.value, flags)
        if contribution.owed_with is not None:
            owed = pl.any_horizontal(
                [included(_cover(plan, c), fields) for c in contribution.owed_with]
            )
            amount = amount.when(owed, None)
        columns.append(Column(f"contribution.{contribution.name}", amount))
    return columns, flags


def _cover(plan: Plan, cover_id: str) -> CoverPlan:
    return next(c for c in plan.covers if c.id == cover_id)
