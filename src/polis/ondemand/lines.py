"""Money lines of charges and refunds, flat: what a statement lists and a ledger stores.

A charge's lines come from the rating engine's priced contract (each line rounded once):
``premium`` (the net premium of a cover: pure + loadings), ``surcharge`` (cat-nat), ``tax`` (TSCA on
a cover, or on the fees when ``cover`` is None), ``contribution`` (FGTI…), ``fee``. A refund has the
same lines with negative amounts (money given back) and, when the product says so, a positive
``refund_fee`` kept by the insurer. ``total = Σ lines`` exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from polis.rating.lines import PricedContract

__all__ = [
    "Line",
    "LineKind",
    "add_lines",
    "lines_of",
    "negate",
    "subtract_lines",
    "taxes_of",
    "total_of",
]

ZERO = Decimal("0.00")


class LineKind(StrEnum):
    PREMIUM = "premium"
    SURCHARGE = "surcharge"
    TAX = "tax"
    CONTRIBUTION = "contribution"
    FEE = "fee"
    REFUND_FEE = "refund_fee"


@dataclass(frozen=True, slots=True)
class Line:
    kind: LineKind
    name: str
    cover: str | None
    amount: Decimal
    rate: Decimal | None = None
    base: Decimal | None = None
    reference: str | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.kind.value, self.name, self.cover)

    @property
    def is_fee_part(self) -> bool:
        """A fee, or the tax on fees (it follows the fee, not the time covered)."""
        return self.kind is LineKind.FEE or (self.kind is LineKind.TAX and self.cover is None)


def lines_of(priced: PricedContract) -> tuple[Line, ...]:
    """The lines of a priced contract, cover by cover, then fees, fee taxes, contributions."""
    lines: list[Line] = []
    for cover in priced.covers:
        lines.append(Line(LineKind.PREMIUM, "net premium", cover.id, cover.net))
        lines.extend(
            Line(LineKind.SURCHARGE, s.name, cover.id, s.amount, s.rate, s.base, s.reference)
            for s in cover.surcharges
        )
        lines.extend(
            Line(LineKind.TAX, t.name, cover.id, t.amount, t.rate, t.base, t.reference)
            for t in cover.taxes
        )
    lines.extend(Line(LineKind.FEE, f.name, None, f.amount) for f in priced.fees)
    lines.extend(
        Line(LineKind.TAX, t.name, None, t.amount, t.rate, t.base, t.reference)
        for t in priced.fee_taxes
    )
    lines.extend(
        Line(LineKind.CONTRIBUTION, c.name, None, c.amount, c.rate, c.base, c.reference)
        for c in priced.contributions
    )
    return tuple(lines)


def total_of(lines: Iterable[Line]) -> Decimal:
    return sum((line.amount for line in lines), ZERO)


def taxes_of(lines: Iterable[Line]) -> Decimal:
    return sum((line.amount for line in lines if line.kind is LineKind.TAX), ZERO)


def negate(lines: Iterable[Line]) -> tuple[Line, ...]:
    return tuple(replace(line, amount=-line.amount, base=None) for line in lines)


def add_lines(*groups: Sequence[Line]) -> tuple[Line, ...]:
    """Lines with the same key summed (first appearance order kept); zero lines dropped."""
    sums: dict[tuple[str, str, str | None], Line] = {}
    for group in groups:
        for line in group:
            found = sums.get(line.key)
            sums[line.key] = (
                replace(line, base=None)
                if found is None
                else replace(found, amount=found.amount + line.amount, base=None)
            )
    return tuple(line for line in sums.values() if line.amount != 0)


def subtract_lines(sold: Sequence[Line], kept: Sequence[Line]) -> tuple[Line, ...]:
    """``kept − sold`` line by line (negative: money given back); zero lines dropped."""
    return add_lines(negate(sold), kept)
