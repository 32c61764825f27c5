"""Money on a claim: the settlement offer from the engine, the insured's answer, payments and
recoveries (ledger entries), each in one transaction with its audit entries.

Offer
    The request of the ``settlement`` calculator is built from the policy's stored cover terms
    (:func:`polis.services.policies.settlement_request`) and the loss facts the handler states
    (loss amount and VAT, actual value, depreciation, misstatement, items, shares, circumstances);
    ``paid_this_year`` is what the ledger shows as paid on the same policy cover in the loss's
    calendar year (Europe/Paris) by other claims. The request, the indemnity, the retained lines,
    the explanation and the engine version are stored with the offer, so it can be recomputed and
    explained later. An offer moves the claim to ``offer_made`` and sets the reserve to the
    indemnity. When the engine finds nothing owed (not covered, nullity, below the deductible…) no
    offer is made (``Conflict("offer.nothing_owed")`` with the reasons): refuse the claim instead.

Answer
    The insured (through the tenant's API, or with the claim's own token) accepts or contests the
    pending offer: ``accepted`` / ``contested``.

Payments and recoveries
    Appended to ``claim_ledger``. Payments need an accepted offer and may not exceed its indemnity
    in total; the first one moves the claim to ``paid``; each lowers the outstanding reserve by its
    amount (never below zero). Recoveries (subrogation, salvage…) come in on paid or closed claims.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from polis import __version__
from polis.calc._base import ExplanationLine, parse_request
from polis.calc.settlement import SettlementResponse, settlement
from polis.claims.lifecycle import PAYMENT_STATUSES, RECOVERY_STATUSES, ClaimStatus, transition
from polis.kernel.errors import Conflict, InvalidInput
from polis.kernel.money import round_money
from polis.kernel.time import local_midnight, to_local, utc_now
from polis.services import audit
from polis.services.claims import (
    ClaimView,
    apply_status,
    claim_view,
    move_reserve,
    record_claim_event,
    require_claim,
    require_claim_for_insured,
)
from polis.services.policies import cover_terms_of, settlement_request
from polis.store.tables_claims import ClaimLedgerRow, ClaimOfferRow, ClaimRow
from polis.store.uow import UnitOfWork

__all__ = [
    "ENGINE_VERSION",
    "LedgerEntryView",
    "OfferIn",
    "OfferPreview",
    "OfferView",
    "RetainedLine",
    "accept_offer",
    "contest_offer",
    "entry_view",
    "insured_answer",
    "ledger_view",
    "make_offer",
    "offer_view",
    "preview_offer",
    "record_payment",
    "record_recovery",
]

#: Stored with each offer: which engine computed it.
ENGINE_VERSION = f"polis {__version__} settlement"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OfferIn(_Strict):
    """The loss facts of an offer (the contract terms come from the policy, never from here).

    Field shapes are those of the ``settlement`` calculator; ``loss`` defaults to the claim's
    estimated amount (excl. VAT); ``valuation`` takes ``depreciation_rate``, ``age_years`` and
    ``value`` (the contract's basis and schedule apply); ``circumstances`` are exclusion codes;
    ``other_insurance``: the annual base contract an on-demand top-up meets (the policy's
    ``cumul_clause`` orders them, docs/on-demand.md "Cumul clause").
    """

    loss: dict[str, Any] | None = None
    actual_value: str | None = None
    valuation: dict[str, Any] | None = None
    misstatement: dict[str, Any] | None = None
    items: list[dict[str, Any]] | None = None
    responsibility_share: str | None = None
    other_insurers: list[dict[str, Any]] | None = None
    other_insurance: dict[str, Any] | None = Field(
        default=None,
        description="a base contract that also covers the loss (``name`` and ``alone`` or its "
        "``settlement`` request): the policy's cumul clause decides who pays first",
    )
    circumstances: list[str] = Field(default_factory=list, max_length=100)


class RetainedLine(_Strict):
    reason: str
    amount: Decimal
    label: str


class OfferView(_Strict):
    id: str
    claim_id: str
    status: str
    loss_amount: Decimal
    indemnity: Decimal
    retained: list[RetainedLine]
    explanation: list[ExplanationLine]
    notes: list[str]
    cover: dict[str, Any] | None
    engine_version: str
    made_at: datetime
    made_by: str
    answered_at: datetime | None
    answered_by: str | None
    answer_reason: str | None


class OfferPreview(_Strict):
    """What the engine would offer now (nothing stored)."""

    request: dict[str, Any]
    settlement: SettlementResponse


class LedgerEntryView(_Strict):
    id: int
    kind: str
    amount: Decimal
    reserve_after: Decimal | None
    reason: str
    reference: str | None
    at: datetime
    actor: str


_VALUATION_FACTS = {"depreciation_rate", "age_years", "value"}


def preview_offer(
    uow: UnitOfWork, tenant_id: str, claim_id: str, facts: OfferIn | dict[str, Any]
) -> OfferPreview:
    """Run the engine on the claim without storing anything."""
    given = parse_request(OfferIn, facts)
    with uow:
        claim = require_claim(uow, tenant_id, claim_id)
        request = _request(uow, claim, given)
        return OfferPreview(request=request, settlement=settlement(request))


def make_offer(
    uow: UnitOfWork, tenant_id: str, claim_id: str, facts: OfferIn | dict[str, Any], actor: str
) -> OfferView:
    """Compute the offer with the engine, store it, move the claim to ``offer_made``."""
    given = parse_request(OfferIn, facts)
    with uow:
        claim = require_claim(uow, tenant_id, claim_id, for_update=True)
        transition(ClaimStatus(claim.status), ClaimStatus.OFFER_MADE)
        request = _request(uow, claim, given)
        result = settlement(request)
        if result.indemnity <= 0:
            reasons = ", ".join(sorted({r.reason for r in result.retained})) or "none"
            raise Conflict(
                f"the engine finds nothing owed (reasons: {reasons}): refuse the claim instead",
                code="offer.nothing_owed",
            )
        for previous in uow.offers.list(tenant_id, claim.id):
            if previous.status == "pending":
                previous.status = "superseded"
        offer = _offer_row(uow, claim, request, result, actor)
        uow.offers.add(offer)
        record_claim_event(
            uow,
            claim,
            actor,
            "claim.offer_made",
            offer_id=offer.id,
            indemnity=format(offer.indemnity, "f"),
            loss_amount=format(offer.loss_amount, "f"),
            engine_version=ENGINE_VERSION,
        )
        apply_status(uow, claim, ClaimStatus.OFFER_MADE, actor, offer_id=offer.id)
        move_reserve(uow, claim, offer.indemnity, f"offer {offer.id}", actor)
        view = offer_view(offer)
        uow.commit()
    return view


def accept_offer(uow: UnitOfWork, tenant_id: str, claim_id: str, actor: str) -> ClaimView:
    """The insured accepts the pending offer (recorded by the tenant)."""
    with uow:
        claim = require_claim(uow, tenant_id, claim_id, for_update=True)
        _answer(uow, claim, accept=True, actor=actor, reason="")
        view = claim_view(claim)
        uow.commit()
    return view


def contest_offer(
    uow: UnitOfWork, tenant_id: str, claim_id: str, reason: str, actor: str
) -> ClaimView:
    """The insured contests the pending offer, saying why (recorded by the tenant)."""
    with uow:
        claim = require_claim(uow, tenant_id, claim_id, for_update=True)
        _answer(uow, claim, accept=False, actor=actor, reason=reason)
        view = claim_view(claim)
        uow.commit()
    return view


def insured_answer(
    uow: UnitOfWork, claim_id: str, token: str, *, accept: bool, reason: str = ""
) -> ClaimView:
    """The insured answers the pending offer with the claim's own token (actor ``insured``)."""
    with uow:
        claim = require_claim_for_insured(uow, claim_id, token, for_update=True)
        _answer(uow, claim, accept=accept, actor="insured", reason=reason)
        view = claim_view(claim)
        uow.commit()
    return view


def record_payment(
    uow: UnitOfWork, tenant_id: str, claim_id: str, amount: Decimal, reference: str, actor: str
) -> ClaimView:
    """Pay (part of) the accepted indemnity; the first payment moves the claim to ``paid``."""
    value = _positive(amount)
    ref = _reference(reference)
    with uow:
        claim = require_claim(uow, tenant_id, claim_id, for_update=True)
        status = ClaimStatus(claim.status)
        if status not in PAYMENT_STATUSES:
            transition(status, ClaimStatus.PAID)  # raises IllegalTransition naming both
        accepted = [o for o in uow.offers.list(tenant_id, claim.id) if o.status == "accepted"]
        owed = accepted[-1].indemnity if accepted else Decimal("0.00")
        paid = _total(uow.ledger.list(tenant_id, claim.id), "payment")
        if paid + value > owed:
            raise Conflict(
                f"payments would reach {paid + value} for an accepted indemnity of {owed}",
                field="amount",
                code="claim.overpayment",
            )
        _append(uow, claim, "payment", value, f"payment {ref}", ref, actor)
        record_claim_event(uow, claim, actor, "claim.payment_recorded", amount=value, reference=ref)
        if status is ClaimStatus.ACCEPTED:
            apply_status(uow, claim, ClaimStatus.PAID, actor, reference=ref)
        remaining = max(Decimal("0.00"), claim.reserve - value)
        if remaining != claim.reserve:
            move_reserve(uow, claim, remaining, f"payment {ref}", actor)
        view = claim_view(claim)
        uow.commit()
    return view


def record_recovery(
    uow: UnitOfWork,
    tenant_id: str,
    claim_id: str,
    amount: Decimal,
    reference: str,
    source: str,
    actor: str,
) -> ClaimView:
    """Money recovered on a paid claim (from a liable third party, salvage, an item found)."""
    value = _positive(amount)
    ref = _reference(reference)
    why = source.strip()[:200] or "recovery"
    with uow:
        claim = require_claim(uow, tenant_id, claim_id, for_update=True)
        if ClaimStatus(claim.status) not in RECOVERY_STATUSES:
            raise Conflict(
                f"claim {claim.id} is {claim.status}: recoveries come after payment",
                field="status",
                code="claim.not_paid",
            )
        _append(uow, claim, "recovery", value, why, ref, actor)
        record_claim_event(
            uow, claim, actor, "claim.recovery_recorded", amount=value, reference=ref, source=why
        )
        view = claim_view(claim)
        uow.commit()
    return view


def ledger_view(uow: UnitOfWork, tenant_id: str, claim_id: str) -> list[LedgerEntryView]:
    with uow:
        claim = require_claim(uow, tenant_id, claim_id)
        return [entry_view(e) for e in uow.ledger.list(tenant_id, claim.id)]


def offer_view(row: ClaimOfferRow) -> OfferView:
    detail = json.loads(row.explanation)
    return OfferView(
        id=row.id,
        claim_id=row.claim_id,
        status=row.status,
        loss_amount=row.loss_amount,
        indemnity=row.indemnity,
        retained=[RetainedLine.model_validate(r) for r in json.loads(row.retained)],
        explanation=[ExplanationLine.model_validate(line) for line in detail["lines"]],
        notes=detail.get("notes", []),
        cover=detail.get("cover"),
        engine_version=row.engine_version,
        made_at=row.made_at,
        made_by=row.made_by,
        answered_at=row.answered_at,
        answered_by=row.answered_by,
        answer_reason=row.answer_reason,
    )


# --- steps ------------------------------------------------------------------------------------


def _request(uow: UnitOfWork, claim: ClaimRow, given: OfferIn) -> dict[str, Any]:
    policy = cover_terms_of(uow, claim.tenant_id, claim.policy_id)
    stored_valuation = dict(policy.cover(claim.cover_id).get("valuation") or {})
    facts: dict[str, Any] = {
        k: v
        for k, v in given.model_dump(exclude={"loss", "valuation", "circumstances"}).items()
        if v is not None
    }
    if given.valuation:
        extra = sorted(set(given.valuation) - _VALUATION_FACTS)
        if extra:
            raise InvalidInput(
                "a loss fact may not change the contract's valuation terms",
                field=f"valuation.{extra[0]}",
            )
        facts["valuation"] = {**stored_valuation, **given.valuation}
    facts["paid_this_year"] = format(_paid_this_year(uow, claim), "f")
    return settlement_request(
        policy,
        claim.cover_id,
        loss=given.loss or {"amount": format(claim.estimated_amount, "f")},
        loss_at=claim.loss_at.isoformat(),
        peril=claim.peril,
        facts=facts,
        cover_facts={
            "circumstances": list(given.circumstances),
            "declared_at": claim.declared_at.isoformat(),
        },
    )


def _paid_this_year(uow: UnitOfWork, claim: ClaimRow) -> Decimal:
    """Payments of the other claims on the same cover in the loss's calendar year (Paris)."""
    year = to_local(claim.loss_at).year
    start, end = local_midnight(date(year, 1, 1)), local_midnight(date(year + 1, 1, 1))
    entries = uow.ledger.for_cover(
        claim.tenant_id, claim.policy_id, claim.cover_id, kinds=("payment",), start=start, end=end
    )
    return _total([e for e in entries if e.claim_id != claim.id], "payment")


def _offer_row(
    uow: UnitOfWork,
    claim: ClaimRow,
    request: dict[str, Any],
    result: SettlementResponse,
    actor: str,
) -> ClaimOfferRow:
    now = utc_now()
    body = result.model_dump(mode="json")
    detail = {
        "lines": body["explanation"],
        "notes": body["notes"],
        "cover": body["cover"],
        "declaration": body["declaration"],
        "valued_loss": body["valued_loss"],
        "contributions": body["contributions"],
    }
    return ClaimOfferRow(
        id=str(uow.ids.next("OFR", now.year)),
        tenant_id=claim.tenant_id,
        claim_id=claim.id,
        status="pending",
        loss_amount=result.loss_amount,
        indemnity=result.indemnity,
        retained=audit.canonical_json(body["retained"]),
        explanation=audit.canonical_json(detail),
        request=audit.canonical_json(request),
        engine_version=ENGINE_VERSION,
        made_at=now,
        made_by=actor,
    )


def _answer(uow: UnitOfWork, claim: ClaimRow, *, accept: bool, actor: str, reason: str) -> None:
    target = ClaimStatus.ACCEPTED if accept else ClaimStatus.CONTESTED
    transition(ClaimStatus(claim.status), target)
    why = reason.strip()
    if not accept and not 1 <= len(why) <= 2000:
        raise InvalidInput("say why the offer is contested (1 to 2000 characters)", field="reason")
    offer = uow.offers.latest(claim.tenant_id, claim.id)
    if offer is None or offer.status != "pending":  # pragma: no cover - offer_made implies one
        raise Conflict(f"claim {claim.id} has no pending offer", code="offer.not_pending")
    offer.status = target.value
    offer.answered_at, offer.answered_by, offer.answer_reason = utc_now(), actor, why or None
    action = "claim.offer_accepted" if accept else "claim.offer_contested"
    record_claim_event(uow, claim, actor, action, offer_id=offer.id, reason=why)
    apply_status(uow, claim, target, actor, offer_id=offer.id)


def _append(
    uow: UnitOfWork,
    claim: ClaimRow,
    kind: str,
    amount: Decimal,
    reason: str,
    reference: str,
    actor: str,
) -> None:
    uow.ledger.append(
        ClaimLedgerRow(
            tenant_id=claim.tenant_id,
            claim_id=claim.id,
            kind=kind,
            amount=amount,
            reserve_after=None,
            reason=reason[:200],
            reference=reference,
            at=utc_now(),
            actor=actor,
        )
    )


def _total(entries: list[ClaimLedgerRow], kind: str) -> Decimal:
    return sum((e.amount for e in entries if e.kind == kind), Decimal("0.00"))


def _positive(amount: Decimal) -> Decimal:
    value = round_money(amount)
    if value <= 0:
        raise InvalidInput("the amount must be positive", field="amount")
    return value


def _reference(reference: str) -> str:
    text = reference.strip()
    if not 1 <= len(text) <= 100:
        raise InvalidInput("a reference of 1 to 100 characters is needed", field="reference")
    return text


def entry_view(row: ClaimLedgerRow) -> LedgerEntryView:
    return LedgerEntryView(
        id=row.id,
        kind=row.kind,
        amount=row.amount,
        reserve_after=row.reserve_after,
        reason=row.reason,
        reference=row.reference,
        at=row.at,
        actor=row.actor,
    )
