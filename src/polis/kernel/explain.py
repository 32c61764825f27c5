"""The explanation line every calculation returns: what was done, how, and for how much."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Explanation"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """One readable step of a calculation.

    ``step`` names what is computed, ``formula`` shows it with the figures used (so a person can redo
    it), ``amount`` is the result when the step produces a number (``None`` for a note).
    """

    step: str
    formula: str
    amount: Decimal | None = None
