"""The ``settlement`` request: its Pydantic models and their conversion to the domain.

:class:`SettlementRequest` (contracts.md ``settlement``) and its parts; :func:`to_terms` and
:func:`to_loss` turn it into the engine's :class:`polis.claims.CoverTerms` and
:class:`polis.claims.Loss`; :func:`to_cover_terms` converts the cover-check part alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

from pydantic import Field

from polis.calc._base import CalcModel
from polis.calc.settlement_types import Code, DecimalIn, InstantIn, MoneyIn, NonNegativeIn, RateIn
from polis.claims import (
    CoverTerms,
    CumulClause,
    DeclarationDeadline,
    Deductible,
    DeductibleBase,
    DeductibleKind,
    DeductibleScope,
    Exclusion,
    Limits,
    Loss,
    LossItem,
    Misstatement,
    OtherInsurer,
    PriorUse,
    ValuationBasis,
    Vat,
    WaitingFrom,
    period_window,
)
from polis.kernel.errors import InvalidInput
from polis.kernel.time import Window
from polis.rating.bases import AgeBand

__all__ = [
    "CoverIn",
    "CoverTermsIn",
    "DeductibleIn",
    "OtherInsuranceIn",
    "SettlementRequest",
    "to_cover_terms",
    "to_deductible",
    "to_loss",
    "to_terms",
]

ZERO = Decimal(0)


class LossIn(CalcModel):
    amount: MoneyIn
    vat_rate: RateIn | None = None
    amount_includes_vat: bool = False
    vat_recoverable: bool = False


class AgeBandIn(CalcModel):
    max_age_years: NonNegativeIn
    rate: RateIn


class ValuationIn(CalcModel):
    """``basis``; ``depreciation_rate`` or ``schedule`` + ``age_years`` (use value); ``value``:
    the market, expert (VRADE) or agreed value at the time of loss."""

    basis: ValuationBasis = ValuationBasis.REPLACEMENT_NEW
    depreciation_rate: RateIn | None = None
    schedule: list[AgeBandIn] | None = Field(default=None, max_length=50)
    age_years: NonNegativeIn | None = None
    value: MoneyIn | None = None


class MisstatementIn(CalcModel):
    rate_paid: NonNegativeIn | None = None
    rate_due: NonNegativeIn | None = None
    intentional: bool = False


class DeductibleIn(CalcModel):
    """``amount``, or ``rate`` (of the valued loss or the sum insured) with ``min``/``max``."""

    amount: MoneyIn | None = None
    rate: RateIn | None = None
    of: DeductibleBase = DeductibleBase.LOSS
    min: MoneyIn | None = None
    max: MoneyIn | None = None
    kind: DeductibleKind = DeductibleKind.ABSOLUTE
    scope: DeductibleScope = DeductibleScope.CLAIM
    annual_cap: MoneyIn | None = None


class LimitsIn(CalcModel):
    per_event: MoneyIn | None = None
    per_item: MoneyIn | None = None


class ItemIn(CalcModel):
    label: str = Field(min_length=1, max_length=200)
    amount: MoneyIn
    limit: MoneyIn | None = None


class OtherInsurerIn(CalcModel):
    name: str = Field(min_length=1, max_length=200)
    alone: MoneyIn


class OtherInsuranceIn(CalcModel):
    """The base contract a top-up meets: what it pays alone (``alone``) or its terms and loss
    facts as a ``settlement`` request (its ``loss`` defaults to this request's)."""

    name: str = Field(min_length=1, max_length=200)
    alone: MoneyIn | None = None
    settlement: dict[str, Any] | None = None


class ExclusionIn(CalcModel):
    code: Code
    text: str = Field(min_length=1, max_length=2000)
    perils: list[Code] = Field(default_factory=list, max_length=50)


class WindowIn(CalcModel):
    start: InstantIn
    end: InstantIn


class PeriodIn(CalcModel):
    """Europe/Paris dates, ``[start, end)`` from local midnight to local midnight."""

    start: dt.date
    end: dt.date


class DeadlineIn(CalcModel):
    days: int = Field(ge=0, le=366)
    working_days: bool = True


class CoverTermsIn(CalcModel):
    """Exactly one of ``windows`` (UTC instants, half-open) or ``period`` (local dates)."""

    policy_id: str | None = Field(default=None, max_length=100)
    cover_id: str | None = Field(default=None, max_length=100)
    perils: list[Code] = Field(max_length=100)
    exclusions: list[ExclusionIn] = Field(default_factory=list, max_length=200)
    windows: list[WindowIn] | None = Field(default=None, max_length=10000)
    period: PeriodIn | None = None
    policy_start: InstantIn | None = None
    waiting_period_days: int = Field(default=0, ge=0, le=3660)
    waiting_period_hours: int = Field(default=0, ge=0, le=87840)
    waiting_from: WaitingFrom = WaitingFrom.WINDOW_START
    waiting_perils: list[Code] = Field(default_factory=list, max_length=100)
    declaration_deadlines: dict[str, DeadlineIn] = Field(default_factory=dict, max_length=100)


class CoverIn(CalcModel):
    """The cover check; ``declared_at`` (and ``known_at``, default ``loss_at``) for the deadline."""

    terms: CoverTermsIn
    loss_at: InstantIn
    peril: Code
    circumstances: list[Code] = Field(default_factory=list, max_length=100)
    declared_at: InstantIn | None = None
    known_at: InstantIn | None = None


def _windows(terms: CoverTermsIn) -> tuple[Window, ...]:
    if (terms.windows is None) == (terms.period is None):
        raise InvalidInput("give exactly one of windows or period", field="cover.terms.windows")
    if terms.period is not None:
        return (period_window(terms.period.start, terms.period.end),)
    result = []
    for i, w in enumerate(terms.windows or []):
        if w.end <= w.start:
            raise InvalidInput("end must be after start", field=f"cover.terms.windows[{i}].end")
        result.append(Window(w.start, w.end))
    return tuple(result)


def to_cover_terms(terms: CoverTermsIn) -> CoverTerms:
    """The cover-check part of the terms (the money terms are added by the caller)."""
    return CoverTerms(
        policy_id=terms.policy_id,
        cover_id=terms.cover_id,
        perils=frozenset(terms.perils),
        exclusions=tuple(Exclusion(e.code, e.text, frozenset(e.perils)) for e in terms.exclusions),
        windows=_windows(terms),
        policy_start=terms.policy_start,
        waiting_period=dt.timedelta(
            days=terms.waiting_period_days, hours=terms.waiting_period_hours
        ),
        waiting_from=terms.waiting_from,
        waiting_perils=frozenset(terms.waiting_perils),
        declaration_deadlines={
            p: DeclarationDeadline(d.days, d.working_days)
            for p, d in terms.declaration_deadlines.items()
        },
    )


def to_deductible(d: DeductibleIn) -> Deductible:
    return Deductible(d.amount, d.rate, d.of, d.min, d.max, d.kind, d.scope, d.annual_cap)


class SettlementRequest(CalcModel):
    """contracts.md ``settlement``; every field but ``loss.amount`` is optional."""

    loss: LossIn
    valuation: ValuationIn | None = None
    sum_insured: MoneyIn | None = None
    actual_value: MoneyIn | None = None
    first_loss: bool = False
    agreed_value: bool = False
    tolerance: DecimalIn = Field(default=ZERO, ge=0)
    misstatement: MisstatementIn | None = None
    deductible: DeductibleIn | None = None
    peril_deductibles: dict[str, DeductibleIn] = Field(default_factory=dict, max_length=50)
    limit: MoneyIn | None = None
    limits: LimitsIn | None = None
    sub_limits: dict[str, MoneyIn] = Field(default_factory=dict, max_length=50)
    annual_aggregate_limit: MoneyIn | None = None
    paid_this_year: MoneyIn = ZERO
    paid_this_event: MoneyIn = ZERO
    annual_deductible_used: MoneyIn = ZERO
    event_deductible_used: MoneyIn = ZERO
    items: list[ItemIn] = Field(default_factory=list, max_length=1000)
    peril: str | None = Field(default=None, min_length=1, max_length=100)
    responsibility_share: RateIn = Decimal(1)
    coinsurance_share: RateIn = Decimal(1)
    other_insurers: list[OtherInsurerIn] = Field(default_factory=list, max_length=50)
    cover: CoverIn | None = None
    cumul_clause: CumulClause | None = None
    other_insurance: OtherInsuranceIn | None = None


def _peril(req: SettlementRequest) -> str | None:
    if req.cover is not None and req.peril is not None and req.cover.peril != req.peril:
        raise InvalidInput(
            f"differs from cover.peril {req.cover.peril!r}: give the loss's one peril",
            field="peril",
        )
    return req.peril if req.peril is not None else (req.cover.peril if req.cover else None)


def to_terms(req: SettlementRequest) -> CoverTerms:
    """The cover terms: ``cover.terms`` for the check, the top-level fields for the money."""
    valuation = req.valuation or ValuationIn()
    limits = req.limits or LimitsIn()
    base = to_cover_terms(req.cover.terms) if req.cover is not None else CoverTerms()
    return replace(
        base,
        sum_insured=req.sum_insured,
        valuation_basis=valuation.basis,
        depreciation_schedule=tuple(
            AgeBand(b.max_age_years, b.rate) for b in valuation.schedule or []
        ),
        first_loss=req.first_loss,
        agreed_value=req.agreed_value,
        tolerance=req.tolerance,
        deductible=None if req.deductible is None else to_deductible(req.deductible),
        peril_deductibles={p: to_deductible(d) for p, d in req.peril_deductibles.items()},
        limits=Limits(
            req.limit,
            limits.per_event,
            limits.per_item,
            dict(req.sub_limits),
            req.annual_aggregate_limit,
        ),
        coinsurance_share=req.coinsurance_share,
    )


def to_loss(req: SettlementRequest) -> Loss:
    valuation = req.valuation or ValuationIn()
    misstatement = req.misstatement
    return Loss(
        amount=req.loss.amount,
        vat=Vat(
            req.loss.vat_rate if req.loss.vat_rate is not None else ZERO,
            req.loss.amount_includes_vat,
            req.loss.vat_recoverable,
        ),
        at=req.cover.loss_at if req.cover is not None else None,
        peril=_peril(req),
        circumstances=tuple(req.cover.circumstances) if req.cover is not None else (),
        actual_value=req.actual_value,
        depreciation_rate=valuation.depreciation_rate,
        age_years=valuation.age_years,
        value_at_loss=valuation.value,
        misstatement=None
        if misstatement is None
        else Misstatement(misstatement.rate_paid, misstatement.rate_due, misstatement.intentional),
        items=tuple(LossItem(i.label, i.amount, i.limit) for i in req.items),
        responsibility_share=req.responsibility_share,
        other_insurers=tuple(OtherInsurer(o.name, o.alone) for o in req.other_insurers),
        prior=PriorUse(
            req.paid_this_year,
            req.paid_this_event,
            req.annual_deductible_used,
            req.event_deductible_used,
        ),
    )
