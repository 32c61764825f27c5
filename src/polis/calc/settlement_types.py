"""The JSON scalars of the ``settlement`` calculator: money, rates and instants in and out.

Decimals come in as strings or numbers (floats through ``str``); money goes out as a JSON string
with 2 decimals (``Money2``). Shared with :mod:`polis.calc.motor_claim`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer
from pydantic_core import PydanticCustomError

from polis.kernel.errors import InvalidInput
from polis.kernel.money import round_money, to_decimal
from polis.kernel.time import ensure_utc, parse_instant

__all__ = [
    "Code",
    "DecimalIn",
    "InstantIn",
    "Money2",
    "MoneyIn",
    "NonNegativeIn",
    "RateIn",
]


def _decimal_in(value: object) -> Decimal:
    """Strings or numbers; floats go through ``str`` (0.1 → Decimal("0.1"))."""
    try:
        return to_decimal(value)
    except InvalidInput as e:
        raise PydanticCustomError("decimal", "{reason}", {"reason": e.message}) from e


def _money(value: Decimal) -> Decimal:
    if value < 0 or round_money(value) != value:
        raise PydanticCustomError("money", "must be an amount ≥ 0 with at most 2 decimals")
    return value


def _rate(value: Decimal) -> Decimal:
    if not 0 <= value <= 1:
        raise PydanticCustomError("rate", "must be between 0 and 1")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError("non_negative", "must be ≥ 0")
    return value


def _instant_in(value: object) -> dt.datetime:
    try:
        if isinstance(value, dt.datetime):
            return ensure_utc(value)
        if isinstance(value, str):
            return parse_instant(value)
    except InvalidInput as e:
        raise PydanticCustomError("instant", "{reason}", {"reason": e.message}) from e
    raise PydanticCustomError("instant", "expected an ISO 8601 instant with an offset")


def _two_decimals(value: Decimal) -> str:
    return f"{value:.2f}"


DecimalIn = Annotated[Decimal, BeforeValidator(_decimal_in)]
MoneyIn = Annotated[Decimal, BeforeValidator(_decimal_in), AfterValidator(_money)]
RateIn = Annotated[Decimal, BeforeValidator(_decimal_in), AfterValidator(_rate)]
NonNegativeIn = Annotated[Decimal, BeforeValidator(_decimal_in), AfterValidator(_non_negative)]
InstantIn = Annotated[dt.datetime, BeforeValidator(_instant_in)]
Money2 = Annotated[Decimal, PlainSerializer(_two_decimals, return_type=str, when_used="json")]
Code = Annotated[str, Field(min_length=1, max_length=100)]
