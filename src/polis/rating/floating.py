"""Floating (reporting) stock policies: provisional premium, declarations and regularisation.

A *police flottante* (or *d'abonnement*) insures a stock whose value fluctuates. The insured gives a
**forecast value** at the start and **declares** the actual value for each declaration period (see
:mod:`polis.rating.floating_schedule` for the schedule, lateness and missing declarations). With
``rate`` the net rate per unit of value for the insurance period ``[start, end)``:

- provisional premium ``= round(rate × forecast_value)``;
- **révisable**: the provisional premium is called at the start (in 1, 2, 4 or 12 instalments,
  split by kernel ``allocate``); at the close ``final = round(rate × statistic)`` with ``statistic``
  the mean (default), max or last of the values used (exact, before rounding), and
  ``regularisation = final − provisional premium paid`` (a call, or a refund when negative);
- **ajustable**: a deposit is called at the start (the provisional premium, or ``deposit_rate`` of
  it); after each declaration the premium earned to date
  ``E = round(rate × Σ value × days / period_days)`` over the periods known so far is compared with
  what was called, and ``adjustment = max(0, E − called)`` is called; the close calls or refunds
  ``final − called``;
- **compte courant**: no deposit; each declaration calls the premium it earns, ``E − E_before``;
  the account is closed at the close (the minimum premium, if any, is made up then).

Every variant: ``final = max(premium computed, minimum_premium)``, the close is dated
``max(end, last reception or deadline)``, and the calls add up to the final premium exactly.
Earned premiums are rounded on the running total, so the lines add up without drift and a year at
the forecast value earns exactly the provisional premium. Amounts are **net premiums**: the rating
engine adds taxes and contributions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import CENT, round_money
from polis.rating.bases import Statistic
from polis.rating.floating_schedule import (
    Declaration,
    DeclarationFlag,
    DeclarationFlagKind,
    DeclarationFrequency,
    DeclarationPeriod,
    MissingDeclarationRule,
    PremiumCall,
    PremiumCallKind,
    ResolvedPeriod,
    declaration_periods,
    provisional_instalments,
    resolve_declarations,
)

__all__ = [
    "FloatingPeriodLine",
    "FloatingPolicy",
    "FloatingResult",
    "FloatingVariant",
    "compute_floating",
    "declaration_statistic",
    "earned_premium",
    "provisional_premium",
    "round_half_up",
]

ZERO = Decimal("0.00")
NET_NOTE = (
    "amounts are net premiums, taxes excluded: the rating engine adds taxes and contributions"
)


class FloatingVariant(StrEnum):
    REVISABLE = "revisable"
    AJUSTABLE = "ajustable"
    COMPTE_COURANT = "compte_courant"


@dataclass(frozen=True, slots=True)
class FloatingPolicy:
    """A floating stock policy for one insurance period ``[start, end)`` with its declarations."""

    variant: FloatingVariant
    start: date
    end: date
    rate: Decimal
    forecast_value: Decimal
    sum_insured: Decimal
    frequency: DeclarationFrequency = DeclarationFrequency.MONTHLY
    period_starts: tuple[date, ...] = ()
    declarations: tuple[Declaration, ...] = ()
    statistic: Statistic | None = None
    missing_rule: MissingDeclarationRule = MissingDeclarationRule.LAST_VALUE
    penalty_rate: Decimal | None = None
    grace_days: int = 0
    instalments: int = 1
    deposit_rate: Decimal | None = None
    provisional_premium_paid: Decimal | None = None
    minimum_premium: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FloatingPeriodLine:
    """A declaration period, its value, and the premium it earned (ajustable, compte courant)."""

    value: ResolvedPeriod
    premium: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FloatingResult:
    variant: FloatingVariant
    period_days: int
    provisional_premium: Decimal
    deposit: Decimal | None
    statistic: Statistic | None
    statistic_value: Fraction | None
    computed_premium: Decimal
    final_premium: Decimal
    minimum_applied: bool
    regularisation: Decimal
    closing_date: date
    periods: tuple[FloatingPeriodLine, ...]
    calls: tuple[PremiumCall, ...]
    flags: tuple[DeclarationFlag, ...]
    explanation: tuple[Explanation, ...]

    @property
    def total_called(self) -> Decimal:
        """Σ calls (refunds negative): equals ``final_premium``."""
        return sum((c.amount for c in self.calls), ZERO)


@dataclass(frozen=True, slots=True)
class _Account:
    calls: tuple[PremiumCall, ...]
    computed: Decimal
    explanation: tuple[Explanation, ...]
    premiums: dict[int, Decimal] = field(default_factory=dict)
    statistic: Statistic | None = None
    statistic_value: Fraction | None = None


def round_half_up(amount: Fraction) -> Decimal:
    """An exact rational rounded half-up to the cent (kernel policy, no intermediate rounding)."""
    cents = amount * 100
    whole = math.floor(abs(cents) + Fraction(1, 2))
    return Decimal(whole if cents >= 0 else -whole) * CENT


def provisional_premium(rate: Decimal, forecast_value: Decimal) -> Decimal:
    """``round(rate × forecast_value)``: the premium on the forecast, asked at the start."""
    return round_half_up(Fraction(rate) * Fraction(forecast_value))


def declaration_statistic(values: Sequence[Decimal], statistic: Statistic) -> Fraction:
    """``mean = Σ values / n``; ``max``; ``last`` (the value of the last period); exact."""
    exact = [Fraction(v) for v in values]
    if statistic == Statistic.MEAN:
        return sum(exact, Fraction(0)) / len(exact)
    if statistic == Statistic.MAX:
        return max(exact)
    return exact[-1]


def earned_premium(rate: Decimal, value_days: Fraction, period_days: int) -> Decimal:
    """``round(rate × Σ value × days / period_days)``, with ``value_days = Σ value × days`` over
    the declaration periods known so far."""
    return round_half_up(Fraction(rate) * value_days / period_days)


def compute_floating(policy: FloatingPolicy) -> FloatingResult:
    """The premium account of a floating policy over its insurance period (see the module doc)."""
    _check(policy)
    periods, rows, flags = _declarations(policy)
    computed_provisional = provisional_premium(policy.rate, policy.forecast_value)
    provisional = policy.provisional_premium_paid
    if provisional is None:
        provisional = computed_provisional
    lines = _opening(policy, periods[0], len(periods), computed_provisional)
    lines += [Explanation(f.period.label() if f.period else "forecast", f.reason) for f in flags]
    deposit = None
    if policy.variant == FloatingVariant.REVISABLE:
        account = _revisable(policy, rows, provisional)
    else:
        if policy.variant == FloatingVariant.AJUSTABLE:
            deposit = _deposit(policy, computed_provisional)
        account = _running_account(policy, rows, deposit)
    closing, minimum_applied, closing_lines = _close(policy, account, rows)
    return FloatingResult(
        variant=policy.variant,
        period_days=periods[0].period_days,
        provisional_premium=provisional,
        deposit=deposit,
        statistic=account.statistic,
        statistic_value=account.statistic_value,
        computed_premium=account.computed,
        final_premium=closing.called_to_date,
        minimum_applied=minimum_applied,
        regularisation=closing.amount,
        closing_date=closing.date,
        periods=tuple(FloatingPeriodLine(r, account.premiums.get(r.period.number)) for r in rows),
        calls=(*account.calls, closing),
        flags=flags,
        explanation=(*lines, *account.explanation, *closing_lines),
    )


def _declarations(
    policy: FloatingPolicy,
) -> tuple[tuple[DeclarationPeriod, ...], tuple[ResolvedPeriod, ...], tuple[DeclarationFlag, ...]]:
    """The declaration periods, the value used for each, and the flags (forecast included)."""
    periods = declaration_periods(policy.start, policy.end, policy.frequency, policy.period_starts)
    rows, flags = resolve_declarations(
        periods,
        policy.declarations,
        missing_rule=policy.missing_rule,
        forecast_value=policy.forecast_value,
        sum_insured=policy.sum_insured,
        penalty_rate=policy.penalty_rate,
        grace_days=policy.grace_days,
    )
    if policy.forecast_value > policy.sum_insured:
        reason = (
            f"forecast value {policy.forecast_value:f} is above the sum insured "
            f"{policy.sum_insured:f}: any indemnity is capped at the sum insured"
        )
        flags = (DeclarationFlag(DeclarationFlagKind.FORECAST_ABOVE_SUM_INSURED, reason), *flags)
    return periods, rows, flags


def _close(
    policy: FloatingPolicy, account: _Account, rows: Sequence[ResolvedPeriod]
) -> tuple[PremiumCall, bool, list[Explanation]]:
    """``final = max(computed, minimum)``; the closing line calls ``final − called`` (a refund
    when negative) on ``max(end, last reception or deadline)``."""
    final, minimum = account.computed, policy.minimum_premium
    minimum_applied = minimum is not None and minimum > final
    lines = []
    if minimum is not None:
        final = max(final, minimum)
        formula = f"max(premium, minimum) = max({account.computed}, {minimum}) = {final}"
        lines.append(Explanation("minimum premium", formula, final))
    called = account.calls[-1].called_to_date if account.calls else ZERO
    amount = final - called
    kind = PremiumCallKind.REGULARISATION if amount >= 0 else PremiumCallKind.REFUND
    label = "closing of the account" + (" (minimum premium retained)" if minimum_applied else "")
    day = max(policy.end, *(r.event_date for r in rows))
    lines += [
        Explanation(
            "final premium",
            "the minimum premium" if minimum_applied else "the premium on the declarations",
            final,
        ),
        Explanation(
            f"{kind} on {day}",
            f"final − called before the close = {final} − {called} = {amount}",
            amount,
        ),
        Explanation("net premium", NET_NOTE),
    ]
    return PremiumCall(day, kind, label, amount, final, final), minimum_applied, lines


def _revisable(
    policy: FloatingPolicy, rows: Sequence[ResolvedPeriod], provisional: Decimal
) -> _Account:
    statistic = policy.statistic or Statistic.MEAN
    value = declaration_statistic([r.value for r in rows], statistic)
    computed = round_half_up(Fraction(policy.rate) * value)
    parts = provisional_instalments(provisional, policy.instalments, policy.start, policy.end)
    calls: list[PremiumCall] = []
    for number, (day, amount) in enumerate(parts, start=1):
        called = sum((c.amount for c in calls), amount)
        if len(parts) == 1:
            calls.append(
                PremiumCall(day, PremiumCallKind.PROVISIONAL, "provisional premium", amount, called)
            )
        else:
            label = f"provisional premium, instalment {number}/{len(parts)}"
            calls.append(PremiumCall(day, PremiumCallKind.INSTALMENT, label, amount, called))
    lines = (
        Explanation(
            "provisional premium calls",
            f"{provisional} in {len(parts)} instalment(s): "
            + ", ".join(f"{a} on {d}" for d, a in parts),
            provisional,
        ),
        Explanation(
            f"statistic of the values used ({statistic})",
            f"{_statistic_formula(rows, statistic)} = {_text(value)}",
            round_half_up(value),
        ),
        Explanation(
            "premium on the declarations",
            f"round(rate × {statistic}) = round({policy.rate:f} × {_text(value)}) = {computed}",
            computed,
        ),
    )
    return _Account(tuple(calls), computed, lines, {}, statistic, value)


def _running_account(
    policy: FloatingPolicy, rows: Sequence[ResolvedPeriod], deposit: Decimal | None
) -> _Account:
    """Ajustable (with a deposit) and compte courant (without): after each declaration, in the
    order they became known, call ``max(0, earned to date − called)``."""
    calls: list[PremiumCall] = []
    called = ZERO if deposit is None else deposit
    if deposit is not None:
        calls.append(
            PremiumCall(policy.start, PremiumCallKind.PROVISIONAL, "deposit", deposit, called)
        )
    kind = PremiumCallKind.CALL if deposit is None else PremiumCallKind.ADJUSTMENT
    premiums: dict[int, Decimal] = {}
    lines: list[Explanation] = []
    earned, value_days = ZERO, Fraction(0)
    for row in sorted(rows, key=lambda r: (r.event_date, r.period.number)):
        earned_before = earned
        value_days += Fraction(row.value) * row.period.days
        earned = earned_premium(policy.rate, value_days, row.period.period_days)
        premiums[row.period.number] = earned - earned_before
        amount = max(ZERO, earned - called)
        days = row.period.period_days
        lines.append(
            Explanation(
                row.describe(),
                f"earned to date = round(rate × Σ value × days / {days}) = "
                f"round({policy.rate:f} × {_text(value_days)} / {days}) = {earned}; "
                f"period premium = {earned} − {earned_before} = {earned - earned_before}; "
                f"{kind} = max(0, earned − called) = max(0, {earned} − {called}) = {amount}",
                amount,
            )
        )
        called += amount
        calls.append(PremiumCall(row.event_date, kind, row.describe(), amount, called, earned))
    return _Account(tuple(calls), earned, tuple(lines), premiums)


def _deposit(policy: FloatingPolicy, computed_provisional: Decimal) -> Decimal:
    """The provisional premium paid when given, else ``round(deposit_rate × provisional)``."""
    if policy.provisional_premium_paid is not None:
        return policy.provisional_premium_paid
    rate = Decimal(1) if policy.deposit_rate is None else policy.deposit_rate
    return round_half_up(Fraction(rate) * Fraction(computed_provisional))


def _opening(
    policy: FloatingPolicy,
    first: DeclarationPeriod,
    count: int,
    computed_provisional: Decimal,
) -> list[Explanation]:
    days = first.period_days
    lines = [
        Explanation(
            "insurance period",
            f"[{policy.start}, {policy.end}) = {days} days; rate {policy.rate:f} per unit of "
            "value for the period",
        ),
        Explanation(
            "declaration schedule",
            f"{policy.frequency}: {count} period(s); a declaration is due at its period end and "
            f"late after due + {policy.grace_days} grace days; share = days / {days}",
        ),
        Explanation(
            "provisional premium",
            f"round(rate × forecast value) = round({policy.rate:f} × {policy.forecast_value:f}) "
            f"= {computed_provisional}",
            computed_provisional,
        ),
    ]
    paid = policy.provisional_premium_paid
    if paid is not None and paid != computed_provisional:
        formula = f"{paid} paid instead of {computed_provisional}: the amount paid is used"
        lines.append(Explanation("provisional premium paid", formula, paid))
    if policy.variant == FloatingVariant.AJUSTABLE:
        deposit = _deposit(policy, computed_provisional)
        rate = Decimal(1) if policy.deposit_rate is None else policy.deposit_rate
        formula = f"round(deposit rate × provisional) = round({rate:f} × {computed_provisional})"
        if paid is not None:
            formula = "the provisional premium paid"
        lines.append(Explanation("deposit", f"{formula} = {deposit}", deposit))
    elif policy.variant == FloatingVariant.COMPTE_COURANT:
        lines.append(Explanation("compte courant", "no provisional call: declarations are called"))
    return lines


def _statistic_formula(rows: Sequence[ResolvedPeriod], statistic: Statistic) -> str:
    texts = [f"{r.value:f}" for r in rows]
    if statistic == Statistic.MEAN:
        return f"({' + '.join(texts)}) / {len(rows)}"
    if statistic == Statistic.MAX:
        return f"max({', '.join(texts)})"
    return f"value of {rows[-1].period.label()}"


def _text(value: Fraction) -> str:
    """Exact decimal text when it has at most 10 decimals, else ``≈`` the value to the cent."""
    scaled = value * 10**10
    if scaled.denominator == 1:
        return f"{Decimal(scaled.numerator).scaleb(-10).normalize():f}"
    return f"≈ {round_half_up(value)}"


#: option → the variants it applies to
_OPTION_VARIANTS = {
    "statistic": (FloatingVariant.REVISABLE,),
    "deposit_rate": (FloatingVariant.AJUSTABLE,),
    "provisional_premium_paid": (FloatingVariant.REVISABLE, FloatingVariant.AJUSTABLE),
}


def _check(policy: FloatingPolicy) -> None:
    """Refuse what the rules cannot use, naming the field (and the allowed values)."""
    if policy.rate <= 0:
        raise InvalidInput(f"the rate must be positive (got {policy.rate:f})", field="rate")
    if policy.forecast_value < 0:
        raise InvalidInput("the forecast value must not be negative", field="forecast_value")
    if policy.sum_insured <= 0:
        raise InvalidInput("the sum insured must be positive", field="sum_insured")
    if policy.grace_days < 0:
        raise InvalidInput("grace days must not be negative", field="grace_days")
    for name in ("provisional_premium_paid", "minimum_premium"):
        amount = getattr(policy, name)
        if amount is not None and (amount < 0 or round_money(amount) != amount):
            raise InvalidInput("must be a non-negative amount in whole cents", field=name)
    if (policy.missing_rule == MissingDeclarationRule.PENALTY) != (policy.penalty_rate is not None):
        raise InvalidInput(
            "penalty_rate is required with missing_rule penalty, and used with it only",
            field="penalty_rate",
        )
    if policy.penalty_rate is not None and policy.penalty_rate < 0:
        raise InvalidInput("the penalty rate must not be negative", field="penalty_rate")
    _check_variant_options(policy)


def _check_variant_options(policy: FloatingPolicy) -> None:
    for name, variants in _OPTION_VARIANTS.items():
        if getattr(policy, name) is not None and policy.variant not in variants:
            allowed = " and ".join(variants) + (" variants" if len(variants) > 1 else " variant")
            raise InvalidInput(
                f"{name} applies to the {allowed} only, not {policy.variant}", field=name
            )
    if policy.instalments != 1 and policy.variant != FloatingVariant.REVISABLE:
        raise InvalidInput(
            f"instalments apply to the revisable variant only, not {policy.variant}",
            field="instalments",
        )
    if policy.deposit_rate is not None:
        if policy.provisional_premium_paid is not None:
            raise InvalidInput(
                "give either deposit_rate or provisional_premium_paid (the deposit paid)",
                field="deposit_rate",
            )
        if not 0 <= policy.deposit_rate <= 1:
            raise InvalidInput("the deposit rate must be between 0 and 1", field="deposit_rate")
