"""``settlement`` calculator (contracts.md): from a loss to an indemnity, every retained euro itemised.

The contracts.md fields keep their names (``loss``, ``valuation``, ``sum_insured``, ``actual_value``,
``first_loss``, ``agreed_value``, ``tolerance``, ``misstatement``, ``deductible``, ``limit``,
``annual_aggregate_limit``, ``paid_this_year``). Added, all optional: ``valuation.schedule`` /
``age_years`` / ``value``; ``deductible.of`` / ``scope`` / ``annual_cap``; ``peril_deductibles``;
``limits`` (``per_event``, ``per_item``); ``sub_limits`` (by peril); ``items``; ``peril``;
``paid_this_event``; ``annual_deductible_used``; ``event_deductible_used``; ``responsibility_share``;
``coinsurance_share``; ``other_insurers``; ``cover`` (cover check: ``terms``, ``loss_at``, ``peril``,
``circumstances``, and ``declared_at``/``known_at`` for the declaration deadline); ``cumul_clause``
(``primary`` | ``excess`` | ``contribution``: this contract tops up a base contract) and
``other_insurance`` (the base contract: ``name`` and what it pays alone, ``alone``, or its own
``settlement`` request, settled as if alone) — the response then has ``cumul`` and the indemnity is
this contract's share (:mod:`polis.claims.cumul`).

The engine is :func:`polis.claims.settle`; this module validates, converts and serialises. Money is
a JSON string with 2 decimals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer
from pydantic_core import PydanticCustomError

from polis.calc._base import CalcModel, ExplanationLine, parse_request
from polis.claims import (
    CoverDecision,
    CoverTerms,
    CumulClause,
    CumulShare,
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
    RetainedReason,
    Settlement,
    ValuationBasis,
    Vat,
    WaitingFrom,
    apply_cumul,
    check_declaration,
    period_window,
    settle,
    split_cumul,
)
from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money, to_decimal
from polis.kernel.time import Window, ensure_utc, parse_instant
from polis.rating.bases import AgeBand

__all__ = [
    "CoverIn",
    "CoverTermsIn",
    "CumulOut",
    "DeductibleIn",
    "Money2",
    "MoneyIn",
    "NonNegativeIn",
    "OtherInsuranceIn",
    "RateIn",
    "SettlementRequest",
    "SettlementResponse",
    "explanation_lines",
    "response_of",
    "settlement",
    "to_cover_terms",
    "to_deductible",
    "to_loss",
    "to_terms",
    "with_other_insurance",
]

ZERO = Decimal(0)


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


def explanation_lines(lines: tuple[Explanation, ...]) -> list[ExplanationLine]:
    return [
        ExplanationLine(
            step=e.step,
            formula=e.formula,
            amount=None if e.amount is None else _two_decimals(e.amount),
        )
        for e in lines
    ]


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


def _declaration(req: SettlementRequest, terms: CoverTerms) -> DeclarationOut | None:
    cover = req.cover
    if cover is None or cover.declared_at is None:
        return None
    known = cover.known_at or cover.loss_at
    c = check_declaration(terms.declaration_deadlines, cover.peril, known, cover.declared_at)
    return DeclarationOut(
        peril=c.peril,
        known_on=c.known_on,
        declared_on=c.declared_on,
        due=c.due,
        late=c.late,
        explanation=c.explanation,
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


def _base_settlement(req: SettlementRequest, other: OtherInsuranceIn) -> Settlement:
    """The base contract settled as if alone, from ``other_insurance.settlement``."""
    where = "other_insurance.settlement"
    body = {"loss": req.loss.model_dump(mode="json"), **(other.settlement or {})}
    if "other_insurance" in body or "cumul_clause" in body:
        nested = "other_insurance" if "other_insurance" in body else "cumul_clause"
        raise InvalidInput("the base contract is settled alone", field=f"{where}.{nested}")
    try:
        base = parse_request(SettlementRequest, body)
    except InvalidInput as e:
        raise InvalidInput(e.message, field=f"{where}.{e.field}") from e
    if base.loss.amount != req.loss.amount:
        raise InvalidInput(
            f"the same loss {req.loss.amount} is settled by both covers",
            field=f"{where}.loss.amount",
        )
    try:
        return settle(to_terms(base), to_loss(base))
    except InvalidInput as e:
        raise InvalidInput(e.message, field=f"{where}.{e.field}") from e


def with_other_insurance(
    req: SettlementRequest, result: Settlement
) -> tuple[Settlement, CumulShare | None, Settlement | None]:
    """This contract's settlement under its cumul clause when ``other_insurance`` is given."""
    other = req.other_insurance
    if other is None:
        return result, None, None
    if req.other_insurers:
        raise InvalidInput(
            "give other_insurers (L121-4 between insurers) or other_insurance (a base contract "
            "under the cumul clause), not both",
            field="other_insurance",
        )
    if (other.alone is None) == (other.settlement is None):
        raise InvalidInput("give exactly one of alone or settlement", field="other_insurance.alone")
    base = None if other.settlement is None else _base_settlement(req, other)
    alone = other.alone if base is None else base.indemnity
    assert alone is not None
    if alone > result.loss_amount:
        raise InvalidInput(
            f"{alone} alone is more than the loss {result.loss_amount}",
            field="other_insurance.alone",
        )
    share = split_cumul(
        result.loss_amount, alone, result.indemnity, req.cumul_clause, base_name=other.name
    )
    return apply_cumul(result, share), share, base


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


def settlement(request: SettlementRequest | dict[str, Any]) -> SettlementResponse:
    """Settle one claim: cover check → VAT → valuation → L113-9 → L121-5 → deductible → limits →
    shares (docs/claims.md). Raises ``InvalidInput`` naming the field (e.g. ``deductible.kind``)."""
    req = parse_request(SettlementRequest, request)
    terms = to_terms(req)
    result, cumul, base = with_other_insurance(req, settle(terms, to_loss(req)))
    return response_of(result, _declaration(req, terms), cumul, base)
