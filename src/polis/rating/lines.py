"""The lines of a priced contract: surcharges, taxes, contributions, fees, per cover and in total.

Every amount is a line rounded half-up to the cent once; the totals are sums of lines, so they are
exact: ``cover total = net + surcharges + taxes`` and
``total premium = Σ net + Σ surcharges + Σ taxes + Σ contributions + Σ fees``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from polis.kernel.explain import Explanation
from polis.rating.loadings import LoadingLine
from polis.rating.taxes import ContributionKind

__all__ = [
    "ContributionLine",
    "FeeLine",
    "PricedContract",
    "PricedCover",
    "SurchargeLine",
    "TaxLine",
]

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class SurchargeLine:
    cover: str
    name: str
    key: str
    rate: Decimal
    base: Decimal
    amount: Decimal
    taxed: bool
    reference: str


@dataclass(frozen=True, slots=True)
class TaxLine:
    cover: str | None  # None: the tax on the contract's fees
    name: str
    line: str
    rate: Decimal
    base: Decimal
    amount: Decimal
    reference: str


@dataclass(frozen=True, slots=True)
class ContributionLine:
    name: str
    kind: ContributionKind
    rate: Decimal | None
    base: Decimal | None
    amount: Decimal
    reference: str


@dataclass(frozen=True, slots=True)
class FeeLine:
    name: str
    amount: Decimal
    taxable: bool


@dataclass(frozen=True, slots=True)
class PricedCover:
    id: str
    name: str
    line: str
    pure: Decimal
    loadings: tuple[LoadingLine, ...]
    net: Decimal
    surcharges: tuple[SurchargeLine, ...]
    taxes: tuple[TaxLine, ...]

    @property
    def total(self) -> Decimal:
        """``net + surcharges + taxes`` of this cover."""
        return (
            self.net
            + sum((s.amount for s in self.surcharges), ZERO)
            + sum((t.amount for t in self.taxes), ZERO)
        )


@dataclass(frozen=True, slots=True)
class PricedContract:
    due_date: date
    covers: tuple[PricedCover, ...]
    fees: tuple[FeeLine, ...]
    fee_taxes: tuple[TaxLine, ...]
    contributions: tuple[ContributionLine, ...]
    explanation: tuple[Explanation, ...]

    @property
    def pure_premium(self) -> Decimal:
        return sum((c.pure for c in self.covers), ZERO)

    @property
    def net_premium(self) -> Decimal:
        return sum((c.net for c in self.covers), ZERO)

    @property
    def loadings(self) -> tuple[tuple[str, LoadingLine], ...]:
        """Every loading line with the id of its cover."""
        return tuple((c.id, line) for c in self.covers for line in c.loadings)

    @property
    def surcharges(self) -> tuple[SurchargeLine, ...]:
        return tuple(s for c in self.covers for s in c.surcharges)

    @property
    def taxes(self) -> tuple[TaxLine, ...]:
        return tuple(t for c in self.covers for t in c.taxes) + self.fee_taxes

    @property
    def total_premium(self) -> Decimal:
        """``Σ net + Σ surcharges + Σ taxes + Σ contributions + Σ fees``."""
        return (
            self.net_premium
            + sum((s.amount for s in self.surcharges), ZERO)
            + sum((t.amount for t in self.taxes), ZERO)
            + sum((c.amount for c in self.contributions), ZERO)
            + sum((f.amount for f in self.fees), ZERO)
        )
