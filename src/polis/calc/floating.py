"""``floating`` calculator: the premium account of a floating (reporting) stock policy.

The engine is :mod:`polis.rating.floating` (variants révisable, ajustable, compte courant) and
:mod:`polis.rating.floating_schedule` (declaration periods, late and missing declarations); this
module only validates, converts and serialises. Money is a JSON string with 2 decimals
(``"1800.00"``), values and rates are decimal strings as given, shares are exact fractions
(``"31/365"``). Amounts are net premiums (taxes excluded). The full shape is in
``docs/floating.md``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer
from pydantic_core import PydanticCustomError

from polis.calc._base import CalcModel, ExplanationLine, parse_request
from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.rating.bases import Statistic
from polis.rating.floating import (
    FloatingPeriodLine,
    FloatingPolicy,
    FloatingResult,
    FloatingVariant,
    compute_floating,
    round_half_up,
)
from polis.rating.floating_schedule import (
    Declaration,
    DeclarationFlag,
    DeclarationFlagKind,
    DeclarationFrequency,
    DeclarationStatus,
    MissingDeclarationRule,
    PremiumCall,
    PremiumCallKind,
)

__all__ = [
    "FloatingCall",
    "FloatingDeclaration",
    "FloatingFlagRow",
    "FloatingPeriod",
    "FloatingPeriodRow",
    "FloatingRequest",
    "FloatingResponse",
    "floating",
]

MAX_ITEMS = 400


def _decimal_in(value: object) -> Decimal:
    """Strings or numbers; floats go through ``str`` (0.1 → Decimal("0.1"))."""
    try:
        return to_decimal(value)
    except InvalidInput as e:
        raise PydanticCustomError("decimal", "{reason}", {"reason": e.message}) from e


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _plain(value: Decimal) -> str:
    return f"{value:f}"


DecimalIn = Annotated[Decimal, BeforeValidator(_decimal_in)]
Money2 = Annotated[Decimal, PlainSerializer(_money, return_type=str, when_used="json")]
DecimalText = Annotated[Decimal, PlainSerializer(_plain, return_type=str, when_used="json")]


class FloatingPeriod(CalcModel):
    """The insurance period ``[start, end)`` (at most 12 months)."""

    start: dt.date
    end: dt.date


class FloatingDeclaration(CalcModel):
    """A declared value for the declaration period starting ``period_start``."""

    period_start: dt.date
    period_end: dt.date | None = None
    value: DecimalIn
    received: dt.date


class FloatingRequest(CalcModel):
    variant: FloatingVariant
    period: FloatingPeriod
    rate: DecimalIn
    forecast_value: DecimalIn
    sum_insured: DecimalIn
    frequency: DeclarationFrequency = DeclarationFrequency.MONTHLY
    period_starts: list[dt.date] | None = Field(default=None, max_length=MAX_ITEMS)
    statistic: Statistic | None = None
    missing_rule: MissingDeclarationRule = MissingDeclarationRule.LAST_VALUE
    penalty_rate: DecimalIn | None = None
    grace_days: int = Field(default=0, ge=0, le=366)
    instalments: int = 1
    deposit_rate: DecimalIn | None = None
    provisional_premium_paid: DecimalIn | None = None
    minimum_premium: DecimalIn | None = None
    declarations: list[FloatingDeclaration] = Field(default_factory=list, max_length=MAX_ITEMS)


class FloatingPeriodRow(CalcModel):
    number: int
    start: dt.date
    end: dt.date
    days: int
    share: str
    due: dt.date
    deadline: dt.date
    status: DeclarationStatus
    declared_value: DecimalText | None
    received: dt.date | None
    value_used: DecimalText
    premium: Money2 | None


class FloatingCall(CalcModel):
    date: dt.date
    kind: PremiumCallKind
    label: str
    amount: Money2
    called_to_date: Money2
    earned_to_date: Money2 | None
    balance: Money2 | None


class FloatingFlagRow(CalcModel):
    kind: DeclarationFlagKind
    period: int | None
    period_start: dt.date | None
    value: DecimalText | None
    rule: MissingDeclarationRule | None
    reason: str


class FloatingResponse(CalcModel):
    variant: FloatingVariant
    period: FloatingPeriod
    period_days: int
    rate: DecimalText
    provisional_premium: Money2
    deposit: Money2 | None
    statistic: Statistic | None
    statistic_value: Money2 | None
    computed_premium: Money2
    minimum_premium_applied: bool
    final_premium: Money2
    total_called: Money2
    regularisation: Money2
    closing_date: dt.date
    periods: list[FloatingPeriodRow]
    calls: list[FloatingCall]
    flags: list[FloatingFlagRow]
    explanation: list[ExplanationLine]


def floating(request: FloatingRequest | dict[str, Any]) -> FloatingResponse:
    """The premium account of a floating stock policy (révisable, ajustable or compte courant).

    ``final = max(premium on the declarations, minimum)``; ``Σ calls = final``;
    ``regularisation = final − called before the close``. Raises ``InvalidInput`` naming the field
    (e.g. ``declarations[2].period_start``).
    """
    req = parse_request(FloatingRequest, request)
    policy = FloatingPolicy(
        variant=req.variant,
        start=req.period.start,
        end=req.period.end,
        rate=req.rate,
        forecast_value=req.forecast_value,
        sum_insured=req.sum_insured,
        frequency=req.frequency,
        period_starts=tuple(req.period_starts or ()),
        declarations=tuple(
            Declaration(d.period_start, d.value, d.received, d.period_end) for d in req.declarations
        ),
        statistic=req.statistic,
        missing_rule=req.missing_rule,
        penalty_rate=req.penalty_rate,
        grace_days=req.grace_days,
        instalments=req.instalments,
        deposit_rate=req.deposit_rate,
        provisional_premium_paid=req.provisional_premium_paid,
        minimum_premium=req.minimum_premium,
    )
    return _response(req, compute_floating(policy))


def _period_row(line: FloatingPeriodLine, grace_days: int) -> FloatingPeriodRow:
    row = line.value
    period = row.period
    return FloatingPeriodRow(
        number=period.number,
        start=period.start,
        end=period.end,
        days=period.days,
        share=f"{period.days}/{period.period_days}",
        due=period.due,
        deadline=period.deadline(grace_days),
        status=row.status,
        declared_value=row.declared,
        received=row.received,
        value_used=row.value,
        premium=line.premium,
    )


def _call(call: PremiumCall) -> FloatingCall:
    return FloatingCall(
        date=call.date,
        kind=call.kind,
        label=call.label,
        amount=call.amount,
        called_to_date=call.called_to_date,
        earned_to_date=call.earned_to_date,
        balance=call.balance,
    )


def _flag(flag: DeclarationFlag) -> FloatingFlagRow:
    return FloatingFlagRow(
        kind=flag.kind,
        period=flag.period.number if flag.period else None,
        period_start=flag.period.start if flag.period else None,
        value=flag.value,
        rule=flag.rule,
        reason=flag.reason,
    )


def _statistic_value(value: Fraction | None) -> Decimal | None:
    return None if value is None else round_half_up(value)


def _response(req: FloatingRequest, result: FloatingResult) -> FloatingResponse:
    return FloatingResponse(
        variant=result.variant,
        period=req.period,
        period_days=result.period_days,
        rate=req.rate,
        provisional_premium=result.provisional_premium,
        deposit=result.deposit,
        statistic=result.statistic,
        statistic_value=_statistic_value(result.statistic_value),
        computed_premium=result.computed_premium,
        minimum_premium_applied=result.minimum_applied,
        final_premium=result.final_premium,
        total_called=result.total_called,
        regularisation=result.regularisation,
        closing_date=result.closing_date,
        periods=[_period_row(line, req.grace_days) for line in result.periods],
        calls=[_call(c) for c in result.calls],
        flags=[_flag(f) for f in result.flags],
        explanation=[
            ExplanationLine(
                step=e.step,
                formula=e.formula,
                amount=None if e.amount is None else _money(e.amount),
            )
            for e in result.explanation
        ],
    )
