"""Money: ``Decimal`` amounts with a currency and one rounding policy.

Policy: amounts are rounded **half-up to the cent, once per line** (``round_money``). Sums of rounded
lines are exact. Splitting an amount into parts (``allocate``) never loses or creates a cent: the
remainder cents go, one each, to the parts with the largest fractional remainders (largest-remainder
method, ties to the earliest part).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from polis.kernel.errors import InvalidInput

__all__ = [
    "CENT",
    "Money",
    "allocate",
    "round_money",
    "to_decimal",
    "truncate",
]

CENT = Decimal("0.01")


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Convert a JSON-ish value (str, int, float, Decimal) to a finite ``Decimal``.

    Floats go through ``str`` so that ``0.1`` becomes ``Decimal("0.1")``, not its binary expansion.
    """
    if isinstance(value, bool):
        raise InvalidInput("expected a decimal number, got a boolean", field=field)
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, int | str):
            result = Decimal(str(value).strip())
        elif isinstance(value, float):
            result = Decimal(repr(value))
        else:
            raise InvalidInput(
                f"expected a decimal number, got {type(value).__name__}", field=field
            )
    except InvalidOperation as e:
        raise InvalidInput(f"not a decimal number: {value!r}", field=field) from e
    if not result.is_finite():
        raise InvalidInput(f"not a finite number: {value!r}", field=field)
    return result


def round_money(amount: Decimal) -> Decimal:
    """Round to the cent, half-up (the one rounding policy for money lines)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def truncate(value: Decimal, places: int = 2) -> Decimal:
    """Truncate towards zero to ``places`` decimals ("arrondi par défaut" for positive values)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` (a whole number of cents) in proportion to ``weights`` without losing a cent.

    ``sum(allocate(t, w)) == t`` exactly. Each part is within one cent of its exact share.
    """
    if not weights:
        raise InvalidInput("at least one weight is needed", field="weights")
    if any(w < 0 for w in weights):
        raise InvalidInput("weights must be non-negative", field="weights")
    if round_money(total) != total:
        raise InvalidInput(f"{total} is not a whole number of cents", field="total")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        raise InvalidInput("weights must not all be zero", field="weights")
    cents = int(total / CENT)
    exact = [Decimal(cents) * w / weight_sum for w in weights]
    floors = [int(x.to_integral_value(rounding=ROUND_DOWN)) for x in exact]
    # negative totals: ROUND_DOWN truncates towards zero, so the remainder has the sign of the total
    remainder = cents - sum(floors)
    step = 1 if remainder >= 0 else -1
    order = sorted(range(len(weights)), key=lambda i: (-(abs(exact[i] - floors[i])), i))
    for i in order[: abs(remainder)]:
        floors[i] += step
    return [Decimal(c) * CENT for c in floors]


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in a currency (ISO 4217 code). Arithmetic only between the same currency."""

    amount: Decimal
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidInput(
                f"not an ISO 4217 currency code: {self.currency!r}", field="currency"
            )

    @classmethod
    def of(cls, value: object, currency: str = "EUR") -> Money:
        return cls(to_decimal(value), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidInput(
                f"cannot combine {self.currency} and {other.currency}", field="currency"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * Decimal(factor), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def rounded(self) -> Money:
        """This amount rounded half-up to the cent."""
        return Money(round_money(self.amount), self.currency)

    def allocate(self, weights: Sequence[Decimal]) -> list[Money]:
        """Split without losing a cent (see :func:`allocate`)."""
        return [Money(p, self.currency) for p in allocate(self.amount, weights)]

    @staticmethod
    def total(items: Iterable[Money], currency: str = "EUR") -> Money:
        result = Money(Decimal(0), currency)
        for item in items:
            result = result + item
        return result

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.currency}"
