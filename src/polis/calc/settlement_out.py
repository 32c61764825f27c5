"""The ``settlement`` response: its Pydantic models, built from the engine's result.

:func:`response_of` gives the JSON shape of a :class:`polis.claims.Settlement` (with the declaration
check and the cumul share when there are some); money is a JSON string with 2 decimals.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from polis.calc._base import CalcModel, ExplanationLine
from polis.calc.settlement_types import Money2, _two_decimals
from polis.claims import CoverDecision, CumulClause, CumulShare, RetainedReason, Settlement
from polis.kernel.explain import Explanation

__all__ = [
    "ContributionOut",
    "CoverOut",
    "CumulOut",
    "DeclarationOut",
    "RetainedOut",
    "SettlementResponse",
    "WindowOut",
    "explanation_lines",
    "response_of",
]


class RetainedOut(CalcModel):
    reason: RetainedReason
    amount: Money2
    label: str


class WindowOut(CalcModel):
    start: dt.datetime
    end: dt.datetime


class CoverOut(CalcModel):
    covered: bool
    reason: str | None
    label: str
    policy_id: str | None
    cover_id: str | None
    peril: str
    loss_at: dt.datetime
    window: WindowOut | None
    waiting_until: dt.datetime | None


class DeclarationOut(CalcModel):
    """The declaration deadline of the peril: ``late`` is a flag, not a refusal (L113-2)."""

    peril: str
    known_on: dt.date
    declared_on: dt.date
    due: dt.date
    late: bool
    explanation: str


class ContributionOut(CalcModel):
    insurer: str
    alone: Money2
    contribution: Money2


class CumulOut(CalcModel):
    """Who pays what when a top-up meets its base contract (``base + top_up + retained == loss``)."""

    clause: CumulClause
    base_name: str
    base_alone: Money2
    top_up_alone: Money2
    base: Money2
    top_up: Money2
    retained: Money2
    explanation: list[ExplanationLine]
    base_explanation: list[ExplanationLine] = Field(
        default_factory=list, description="the base contract settled as if alone"
    )


class SettlementResponse(CalcModel):
    """``indemnity + Σ retained.amount == loss_amount`` (to the cent, always)."""

    loss_amount: Money2
    indemnity: Money2
    retained: list[RetainedOut]
    valued_loss: Money2 | None
    cover: CoverOut | None
    declaration: DeclarationOut | None
    contributions: list[ContributionOut]
    notes: list[str]
    explanation: list[ExplanationLine]
    cumul: CumulOut | None = None


def explanation_lines(lines: tuple[Explanation, ...]) -> list[ExplanationLine]:
    return [
        ExplanationLine(
            step=e.step,
            formula=e.formula,
            amount=None if e.amount is None else _two_decimals(e.amount),
        )
        for e in lines
    ]


def _cover_out(decision: CoverDecision | None) -> CoverOut | None:
    if decision is None:
        return None
    window = decision.window
    return CoverOut(
        covered=decision.covered,
        reason=decision.reason,
        label=decision.label,
        policy_id=decision.policy_id,
        cover_id=decision.cover_id,
        peril=decision.peril,
        loss_at=decision.instant,
        window=None if window is None else WindowOut(start=window.start, end=window.end),
        waiting_until=decision.waiting_until,
    )


def _cumul_out(share: CumulShare | None, base: Settlement | None) -> CumulOut | None:
    if share is None:
        return None
    return CumulOut(
        clause=share.clause,
        base_name=share.base_name,
        base_alone=share.base_alone,
        top_up_alone=share.top_up_alone,
        base=share.base,
        top_up=share.top_up,
        retained=share.retained,
        explanation=explanation_lines(share.explanation),
        base_explanation=[] if base is None else explanation_lines(base.explanation),
    )


def response_of(
    result: Settlement,
    declaration: DeclarationOut | None = None,
    cumul: CumulShare | None = None,
    base: Settlement | None = None,
) -> SettlementResponse:
    """The JSON shape of a settlement (also for callers that ran :func:`polis.claims.settle`)."""
    return SettlementResponse(
        loss_amount=result.loss_amount,
        indemnity=result.indemnity,
        retained=[
            RetainedOut(reason=r.reason, amount=r.amount, label=r.label) for r in result.retained
        ],
        valued_loss=result.valued_loss,
        cover=_cover_out(result.cover),
        declaration=declaration,
        contributions=[
            ContributionOut(insurer=c.insurer, alone=c.alone, contribution=c.contribution)
            for c in result.contributions
        ],
        notes=list(result.notes),
        explanation=explanation_lines(result.explanation),
        cumul=_cumul_out(cumul, base),
    )
