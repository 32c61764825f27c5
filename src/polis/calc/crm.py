"""``crm`` calculator (contracts.md): the bonus-malus coefficient period by period.

The request gives either ``periods`` (annual reference periods, each a list of claims) or
``history`` (dated claims and interruptions, cut into reference periods by due date). The engine is
:mod:`polis.actuarial.crm`; this module only validates, converts and serialises. Coefficients and
money are JSON strings with 2 decimals (``"0.95"``, ``"573.82"``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer
from pydantic_core import PydanticCustomError

from polis.actuarial.crm import Claim, CrmInput, CrmResult, Period, PeriodResult, compute_crm
from polis.actuarial.crm_periods import History, Interruption, compute_crm_history
from polis.actuarial.crm_rules import ClaimCause, Responsibility, Usage
from polis.calc._base import CalcModel, ExplanationLine, parse_request
from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal

__all__ = [
    "CrmClaim",
    "CrmDatedClaim",
    "CrmHistory",
    "CrmInterruption",
    "CrmPendingClaim",
    "CrmPeriod",
    "CrmPeriodRow",
    "CrmReferencePeriod",
    "CrmRequest",
    "CrmResponse",
    "crm",
]


def _decimal_in(value: object) -> Decimal:
    """Strings or numbers; floats go through ``str`` (0.1 → Decimal("0.1"))."""
    try:
        return to_decimal(value)
    except InvalidInput as e:
        raise PydanticCustomError("decimal", "{reason}", {"reason": e.message}) from e


def _two_decimals(value: Decimal) -> str:
    return f"{value:.2f}"


DecimalIn = Annotated[Decimal, BeforeValidator(_decimal_in)]
Decimal2 = Annotated[Decimal, PlainSerializer(_two_decimals, return_type=str, when_used="json")]


class CrmClaim(CalcModel):
    responsibility: Responsibility
    neutral: bool = False
    cause: ClaimCause | None = None
    label: str | None = Field(default=None, max_length=200)


class CrmPeriod(CalcModel):
    claims: list[CrmClaim] = Field(default_factory=list)
    interrupted: bool = False


class CrmDatedClaim(CrmClaim):
    date: dt.date


class CrmInterruption(CalcModel):
    start: dt.date
    end: dt.date


class CrmHistory(CalcModel):
    subscription_date: dt.date | None = None
    first_due_date: dt.date
    last_due_date: dt.date
    claims: list[CrmDatedClaim] = Field(default_factory=list)
    interruptions: list[CrmInterruption] = Field(default_factory=list, max_length=1000)


class CrmRequest(CalcModel):
    """Exactly one of ``periods`` or ``history``."""

    start: DecimalIn = Decimal("1.00")
    usage: Usage = Usage.STANDARD
    years_at_floor: int = Field(default=0, ge=0)
    claim_free_periods: int = Field(default=0, ge=0)
    reference_premium: DecimalIn | None = None
    periods: list[CrmPeriod] | None = None
    history: CrmHistory | None = None


class CrmReferencePeriod(CalcModel):
    start: dt.date
    end: dt.date


class CrmPeriodRow(CalcModel):
    index: int
    start_coefficient: Decimal2
    coefficient: Decimal2
    responsible_claims: int
    exempted_claims: int
    ignored_claims: int
    interrupted: bool
    years_at_floor: int
    claim_free_periods: int
    premium: Decimal2 | None
    due_date: dt.date | None
    reference_period: CrmReferencePeriod | None
    notes: list[str]


class CrmPendingClaim(CalcModel):
    index: int
    date: dt.date
    responsibility: Responsibility
    neutral: bool
    cause: ClaimCause | None
    label: str | None
    counts_at: dt.date | None


class CrmResponse(CalcModel):
    usage: Usage
    rules_version: str
    coefficients: list[Decimal2]
    final: Decimal2
    periods: list[CrmPeriodRow]
    pending_claims: list[CrmPendingClaim]
    explanation: list[ExplanationLine]


def crm(request: CrmRequest | dict[str, Any]) -> CrmResponse:
    """Bonus-malus coefficients: ``c_after = f(c_before, claims of the period)`` per period.

    ``premium = round_half_up(reference_premium × coefficient)`` when a reference premium is given.
    Raises ``InvalidInput`` naming the field (e.g. ``periods[1].claims[0].responsibility``).
    """
    req = parse_request(CrmRequest, request)
    if req.periods is not None and req.history is not None:
        raise InvalidInput("give either periods or history, not both", field="history")
    if req.history is not None:
        result = compute_crm_history(
            _history(req.history),
            start=req.start,
            usage=req.usage,
            years_at_floor=req.years_at_floor,
            claim_free_periods=req.claim_free_periods,
            reference_premium=req.reference_premium,
        )
    elif req.periods is not None:
        periods = tuple(
            Period(claims=tuple(_claim(c) for c in p.claims), interrupted=p.interrupted)
            for p in req.periods
        )
        result = compute_crm(
            CrmInput(
                periods,
                req.start,
                req.usage,
                req.years_at_floor,
                req.claim_free_periods,
                req.reference_premium,
            )
        )
    else:
        raise InvalidInput(
            "give periods (annual periods) or history (dated claims)", field="periods"
        )
    return _response(result)


def _claim(claim: CrmClaim, date: dt.date | None = None) -> Claim:
    return Claim(claim.responsibility, claim.neutral, claim.cause, claim.label, date)


def _history(history: CrmHistory) -> History:
    return History(
        first_due_date=history.first_due_date,
        last_due_date=history.last_due_date,
        subscription_date=history.subscription_date,
        claims=tuple(_claim(c, c.date) for c in history.claims),
        interruptions=tuple(Interruption(i.start, i.end) for i in history.interruptions),
    )


def _row(row: PeriodResult) -> CrmPeriodRow:
    reference = None
    if row.reference_start is not None and row.reference_end is not None:
        reference = CrmReferencePeriod(start=row.reference_start, end=row.reference_end)
    return CrmPeriodRow(
        index=row.index,
        start_coefficient=row.start_coefficient,
        coefficient=row.coefficient,
        responsible_claims=row.responsible_claims,
        exempted_claims=row.exempted_claims,
        ignored_claims=row.ignored_claims,
        interrupted=row.interrupted,
        years_at_floor=row.years_at_floor,
        claim_free_periods=row.claim_free_periods,
        premium=row.premium,
        due_date=row.due_date,
        reference_period=reference,
        notes=list(row.notes),
    )


def _response(result: CrmResult) -> CrmResponse:
    pending = [
        CrmPendingClaim(
            index=p.index,
            date=p.claim.date,
            responsibility=p.claim.responsibility,
            neutral=p.claim.neutral,
            cause=p.claim.cause,
            label=p.claim.label,
            counts_at=p.counts_at,
        )
        for p in result.pending_claims
        if p.claim.date is not None
    ]
    return CrmResponse(
        usage=result.usage,
        rules_version=result.rules_version,
        coefficients=list(result.coefficients),
        final=result.final,
        periods=[_row(r) for r in result.periods],
        pending_claims=pending,
        explanation=[
            ExplanationLine(
                step=e.step,
                formula=e.formula,
                amount=None if e.amount is None else _two_decimals(e.amount),
            )
            for e in result.explanation
        ],
    )
