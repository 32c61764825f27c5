"""Commercial loadings: pure premium → net premium (prime nette / commerciale), premium.md §2.

A loading is an **amount**, a **rate of the pure premium**, or a **rate of the net premium**::

    net = (pure + Σ amounts + Σ pure × rate_of_pure) / (1 − Σ rate_of_net)      (Σ rate_of_net < 1)

Rounding (half-up to the cent, once per line), in this order:
1. each amount loading: ``round(amount)``;
2. each rate-of-pure loading: ``round(pure × rate)``;
3. ``net = round((pure + lines of 1 and 2) / (1 − Σ rate_of_net))``;
4. the rate-of-net loadings share ``net − pure − lines of 1 and 2`` in proportion to their rates,
   without losing a cent (kernel ``allocate``): each is less than a cent from its exact share,
   so less than 1.5 cents from ``net × rate`` (the rounding of net adds at most half a cent).
So ``pure + Σ loading lines = net`` exactly.

A **mutual** (mutuelle, C. assur. L114-1) prices at cost: it has no profit loading; a loading whose
type or name is ``profit`` is refused for a mutual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import allocate, round_money

__all__ = [
    "InsurerKind",
    "Loading",
    "LoadingLine",
    "LoadingOf",
    "LoadingType",
    "NetResult",
    "check_insurer",
    "net_premium",
]


class InsurerKind(StrEnum):
    COMPANY = "company"
    MUTUAL = "mutual"


class LoadingOf(StrEnum):
    """What a loading is expressed on."""

    AMOUNT = "amount"
    PURE = "pure"
    NET = "net"


class LoadingType(StrEnum):
    MANAGEMENT = "management"
    ACQUISITION = "acquisition"
    PROFIT = "profit"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Loading:
    """One loading: ``value`` is an amount (``of = amount``) or a rate of the pure or net premium."""

    name: str
    of: LoadingOf
    value: Decimal
    type: LoadingType = LoadingType.OTHER

    @classmethod
    def amount(cls, name: str, value: Decimal, type: LoadingType | None = None) -> Loading:
        return cls(name, LoadingOf.AMOUNT, value, type or _type_of(name))

    @classmethod
    def rate(
        cls, name: str, rate: Decimal, of: LoadingOf, type: LoadingType | None = None
    ) -> Loading:
        return cls(name, of, rate, type or _type_of(name))


def _type_of(name: str) -> LoadingType:
    try:
        return LoadingType(name)
    except ValueError:
        return LoadingType.OTHER


@dataclass(frozen=True, slots=True)
class LoadingLine:
    """A loading as charged: ``rate`` is ``None`` for amount loadings."""

    name: str
    type: LoadingType
    of: LoadingOf
    rate: Decimal | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class NetResult:
    pure: Decimal
    lines: tuple[LoadingLine, ...]
    net: Decimal
    explanation: tuple[Explanation, ...]


def check_insurer(
    loadings: Sequence[Loading], insurer: InsurerKind, *, field: str = "loadings"
) -> None:
    """Refuse a profit loading for a mutual, naming the offending loading."""
    if insurer is not InsurerKind.MUTUAL:
        return
    for i, loading in enumerate(loadings):
        if loading.type is LoadingType.PROFIT or loading.name.strip().lower() == "profit":
            raise InvalidInput(
                f"a mutual prices at cost (C. assur. L114-1): no profit loading allowed, "
                f"got {loading.name!r}",
                field=f"{field}[{i}]",
            )


def _validate(loadings: Sequence[Loading], field: str) -> Decimal:
    for i, loading in enumerate(loadings):
        if loading.value < 0:
            what = "amount" if loading.of is LoadingOf.AMOUNT else "rate"
            raise InvalidInput(
                f"must not be negative, got {loading.value}", field=f"{field}[{i}].{what}"
            )
    net_rates = sum((lo.value for lo in loadings if lo.of is LoadingOf.NET), Decimal(0))
    if net_rates >= 1:
        raise InvalidInput(
            f"the rates of the net premium sum to {net_rates}: they must stay below 1 "
            "(net = … / (1 − Σ rate_of_net))",
            field=field,
        )
    return net_rates


def net_premium(
    pure: Decimal,
    loadings: Sequence[Loading],
    *,
    insurer: InsurerKind = InsurerKind.COMPANY,
    field: str = "loadings",
) -> NetResult:
    """``net = (pure + Σ amounts + Σ pure × rate_of_pure) / (1 − Σ rate_of_net)``, lines rounded."""
    if round_money(pure) != pure or pure < 0:
        raise InvalidInput(f"the pure premium must be cents ≥ 0, got {pure}", field="pure")
    check_insurer(loadings, insurer, field=field)
    net_rates = _validate(loadings, field)
    fixed: dict[int, LoadingLine] = {}
    for i, lo in enumerate(loadings):
        if lo.of is LoadingOf.AMOUNT:
            fixed[i] = LoadingLine(lo.name, lo.type, lo.of, None, round_money(lo.value))
        elif lo.of is LoadingOf.PURE:
            fixed[i] = LoadingLine(lo.name, lo.type, lo.of, lo.value, round_money(pure * lo.value))
    numerator = pure + sum((line.amount for line in fixed.values()), Decimal(0))
    net = round_money(numerator / (Decimal(1) - net_rates))
    net_indexes = [i for i, lo in enumerate(loadings) if lo.of is LoadingOf.NET]
    shares = _net_shares(net - numerator, [loadings[i].value for i in net_indexes])
    for i, share in zip(net_indexes, shares, strict=True):
        lo = loadings[i]
        fixed[i] = LoadingLine(lo.name, lo.type, lo.of, lo.value, share)
    lines = tuple(fixed[i] for i in range(len(loadings)))
    return NetResult(pure, lines, net, _explain(pure, lines, numerator, net_rates, net))


def _net_shares(total: Decimal, rates: list[Decimal]) -> list[Decimal]:
    if not rates:
        return []
    if sum(rates, Decimal(0)) == 0:
        return [Decimal("0.00") for _ in rates]
    return allocate(total, rates)


def _explain(
    pure: Decimal,
    lines: tuple[LoadingLine, ...],
    numerator: Decimal,
    net_rates: Decimal,
    net: Decimal,
) -> tuple[Explanation, ...]:
    steps = []
    for line in lines:
        if line.of is LoadingOf.AMOUNT:
            formula = f"amount {line.amount}"
        elif line.of is LoadingOf.PURE:
            formula = f"pure {pure} × {line.rate} = {line.amount}"
        else:
            formula = (
                f"net {net} × {line.rate} ≈ {line.amount} (share of net − pure − other loadings)"
            )
        kind = "" if line.type.value == line.name else f" ({line.type.value})"
        steps.append(Explanation(f"loading: {line.name}{kind}", formula, line.amount))
    amounts = sum((li.amount for li in lines if li.of is LoadingOf.AMOUNT), Decimal(0))
    of_pure = sum((li.amount for li in lines if li.of is LoadingOf.PURE), Decimal(0))
    steps.append(
        Explanation(
            "net premium",
            f"(pure {pure} + amounts {amounts} + pure × Σrate_of_pure {of_pure}) "
            f"/ (1 − Σrate_of_net {net_rates}) = {numerator} / {Decimal(1) - net_rates} → {net}",
            net,
        )
    )
    return tuple(steps)
