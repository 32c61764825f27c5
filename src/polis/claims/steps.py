"""What every settlement step shares: the retained reasons, one step's outcome, number display.

A step maps the running amount (exact ``Decimal``, never re-rounded) to a new running amount. The
settlement records each step as one explanation line whose amount is the running amount rounded
half-up to the cent once; what the step retains is the difference of two consecutive rounded lines,
so the retained amounts and the indemnity add up exactly to the loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.money import round_money

__all__ = [
    "RetainedReason",
    "Step",
    "check_money",
    "check_rate",
    "show",
]

_SHOWN_PLACES = 6


class RetainedReason(StrEnum):
    """Why part of the loss stays with the insured (contracts.md reasons first, then additions)."""

    VAT = "vat"
    DEPRECIATION = "depreciation"
    PREMIUM_RULE = "premium_rule"
    CAPITAL_RULE = "capital_rule"
    DEDUCTIBLE = "deductible"
    LIMIT = "limit"
    AGGREGATE_LIMIT = "aggregate_limit"
    NULLITY = "nullity"
    NOT_COVERED = "not_covered"
    # additions (docs/claims.md)
    INDEMNITY_PRINCIPLE = "indemnity_principle"
    ITEM_LIMIT = "item_limit"
    SUB_LIMIT = "sub_limit"
    EVENT_LIMIT = "event_limit"
    RESPONSIBILITY = "responsibility"
    COINSURANCE = "coinsurance"
    OTHER_INSURERS = "other_insurers"


@dataclass(frozen=True, slots=True)
class Step:
    """One step: ``after`` is the exact running amount after it; what it retains is tagged ``reason``.

    ``name`` is the explanation label, ``formula`` shows the computation with its figures,
    ``reference`` the legal article or contract clause.
    """

    name: str
    formula: str
    after: Decimal
    reason: RetainedReason
    reference: str = ""


def show(value: Decimal) -> str:
    """A figure as written in a formula: exact, no trailing zeros (``7500``, ``0.6``).

    A value with more than 6 decimals (a quotient carried exactly) is shown to 6 decimals followed
    by ``…`` (``6666.666667…``); the engine keeps computing with the exact value.
    """
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_SHOWN_PLACES:
        shortened = value.quantize(Decimal(1).scaleb(-_SHOWN_PLACES), rounding=ROUND_HALF_UP)
        return f"{format(shortened.normalize(), 'f')}…"
    text = format(normalized, "f")
    return "0" if text in {"-0", "0"} else text


def check_money(value: Decimal | None, field: str) -> None:
    """A money input: finite, ≥ 0, a whole number of cents."""
    if value is None:
        return
    if not value.is_finite() or value < 0:
        raise InvalidInput(f"must be an amount ≥ 0, got {value}", field=field)
    if round_money(value) != value:
        raise InvalidInput(f"at most 2 decimals (cents), got {value}", field=field)


def check_rate(value: Decimal | None, field: str, *, upper: Decimal | None = Decimal(1)) -> None:
    """A rate or share input: finite, ≥ 0 and (unless ``upper`` is ``None``) ≤ ``upper``."""
    if value is None:
        return
    if not value.is_finite() or value < 0 or (upper is not None and value > upper):
        bound = f"between 0 and {upper}" if upper is not None else "≥ 0"
        raise InvalidInput(f"must be {bound}, got {value}", field=field)
