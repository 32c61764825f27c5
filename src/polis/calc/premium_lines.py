"""The lines of a priced contract as JSON models, shared by the ``premium`` calculator and quotes.

Money is a JSON string with 2 decimals (``"169.00"``); rates are exact decimal strings
(``"0.30"``, ``"0.00062"``). Every list adds up: ``net_premium = pure_premium + Σ loadings`` and
``total_premium = net_premium + Σ surcharges + Σ taxes + Σ contributions + Σ fees``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainSerializer

from polis.calc._base import CalcModel, ExplanationLine
from polis.kernel.explain import Explanation
from polis.rating.lines import PricedContract, PricedCover, TaxLine

__all__ = [
    "ContributionOut",
    "CoverOut",
    "FeeOut",
    "LoadingOut",
    "Money",
    "Rate",
    "SurchargeOut",
    "TaxOut",
    "contract_lines",
    "explanation_lines",
    "money_text",
    "rate_text",
]


def money_text(value: Decimal) -> str:
    """``Decimal("169")`` → ``"169.00"``."""
    return f"{value:.2f}"


def rate_text(value: Decimal) -> str:
    """An exact decimal string without exponent: ``Decimal("0.00062")`` → ``"0.00062"``."""
    return format(value, "f")


Money = Annotated[Decimal, PlainSerializer(money_text, return_type=str, when_used="json")]
Rate = Annotated[Decimal, PlainSerializer(rate_text, return_type=str, when_used="json")]


class LoadingOut(CalcModel):
    name: str
    amount: Money
    cover: str
    type: str
    of: str
    rate: Rate | None


class SurchargeOut(CalcModel):
    name: str
    rate: Rate
    base: Money
    amount: Money
    cover: str
    key: str
    taxed: bool
    reference: str


class TaxOut(CalcModel):
    name: str
    rate: Rate
    base: Money
    amount: Money
    reference: str
    cover: str | None
    line: str


class ContributionOut(CalcModel):
    name: str
    amount: Money
    kind: str
    rate: Rate | None
    base: Money | None
    reference: str


class FeeOut(CalcModel):
    name: str
    amount: Money
    taxable: bool


class CoverOut(CalcModel):
    id: str
    name: str
    line: str
    pure_premium: Money
    loadings: list[LoadingOut]
    net_premium: Money
    surcharges: list[SurchargeOut]
    taxes: list[TaxOut]
    total: Money


def _loadings(cover: PricedCover) -> list[LoadingOut]:
    return [
        LoadingOut(
            name=line.name,
            amount=line.amount,
            cover=cover.id,
            type=line.type.value,
            of=line.of.value,
            rate=line.rate,
        )
        for line in cover.loadings
    ]


def _surcharges(cover: PricedCover) -> list[SurchargeOut]:
    return [
        SurchargeOut(
            name=s.name,
            rate=s.rate,
            base=s.base,
            amount=s.amount,
            cover=s.cover,
            key=s.key,
            taxed=s.taxed,
            reference=s.reference,
        )
        for s in cover.surcharges
    ]


def _tax(t: TaxLine) -> TaxOut:
    return TaxOut(
        name=t.name,
        rate=t.rate,
        base=t.base,
        amount=t.amount,
        reference=t.reference,
        cover=t.cover,
        line=t.line,
    )


def _cover(cover: PricedCover) -> CoverOut:
    return CoverOut(
        id=cover.id,
        name=cover.name,
        line=cover.line,
        pure_premium=cover.pure,
        loadings=_loadings(cover),
        net_premium=cover.net,
        surcharges=_surcharges(cover),
        taxes=[_tax(t) for t in cover.taxes],
        total=cover.total,
    )


def contract_lines(priced: PricedContract) -> dict[str, Any]:
    """The keyword arguments every priced response shares (lists flattened across covers)."""
    covers = [_cover(c) for c in priced.covers]
    return {
        "pure_premium": priced.pure_premium,
        "loadings": [line for c in covers for line in c.loadings],
        "net_premium": priced.net_premium,
        "surcharges": [s for c in covers for s in c.surcharges],
        "taxes": [t for c in covers for t in c.taxes] + [_tax(t) for t in priced.fee_taxes],
        "contributions": [
            ContributionOut(
                name=c.name,
                amount=c.amount,
                kind=c.kind.value,
                rate=c.rate,
                base=c.base,
                reference=c.reference,
            )
            for c in priced.contributions
        ],
        "fees": [FeeOut(name=f.name, amount=f.amount, taxable=f.taxable) for f in priced.fees],
        "total_premium": priced.total_premium,
        "covers": covers,
    }


def explanation_lines(steps: tuple[Explanation, ...] | list[Explanation]) -> list[ExplanationLine]:
    return [
        ExplanationLine(
            step=e.step,
            formula=e.formula,
            amount=None if e.amount is None else money_text(e.amount),
        )
        for e in steps
    ]
