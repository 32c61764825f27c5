"""How decimals are shown in explanation formulas: exact, without trailing zeros or exponent."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["show"]


def show(value: Decimal | int) -> str:
    """``Decimal("170.500000000")`` → ``"170.5"``; ``Decimal("1E+6")`` → ``"1000000"``."""
    if isinstance(value, int):
        return str(value)
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text
