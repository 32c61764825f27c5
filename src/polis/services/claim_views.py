"""Read models of a claim: the handler's whole file and the insured's view (read-only use cases)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from polis.claims.lifecycle import ClaimStatus
from polis.services.claim_evidence import EvidenceView, evidence_view
from polis.services.claim_settlement import (
    LedgerEntryView,
    OfferView,
    entry_view,
    offer_view,
)
from polis.services.claims import (
    ClaimView,
    HistoryEntry,
    audit_data,
    claim_view,
    require_claim,
    require_claim_for_insured,
)
from polis.services.policies import cover_terms_of
from polis.store.tables_claims import ClaimLedgerRow, ClaimRow
from polis.store.uow import UnitOfWork

__all__ = [
    "ClaimFile",
    "ClaimTotals",
    "InsuredView",
    "PolicySummary",
    "claim_file",
    "insured_view",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ClaimTotals(_Frozen):
    """``incurred = paid − recovered + reserve`` (the claim's cost as known today)."""

    reserve: Decimal
    paid: Decimal
    recovered: Decimal
    incurred: Decimal


class PolicySummary(_Frozen):
    id: str
    holder: str
    product: str
    product_version: str
    terms_sha256: str


class ClaimFile(_Frozen):
    """Everything a handler sees on one claim."""

    claim: ClaimView
    policy: PolicySummary
    evidence: list[EvidenceView]
    offer: OfferView | None
    offers: list[OfferView]
    ledger: list[LedgerEntryView]
    totals: ClaimTotals
    history: list[HistoryEntry]


class InsuredView(_Frozen):
    """What the insured sees: where the claim stands and the offer explained."""

    claim_id: str
    holder: str
    status: ClaimStatus
    peril: str
    loss_at: str
    declared_at: str
    late: bool
    days_late: int
    offer: OfferView | None
    can_answer: bool
    paid: Decimal


def claim_file(uow: UnitOfWork, tenant_id: str, claim_id: str) -> ClaimFile:
    """The claim with its policy, evidence, offers, ledger, totals and history."""
    with uow:
        row = require_claim(uow, tenant_id, claim_id)
        policy = cover_terms_of(uow, tenant_id, row.policy_id)
        offers = [offer_view(o) for o in uow.offers.list(tenant_id, row.id)]
        ledger = uow.ledger.list(tenant_id, row.id)
        history = uow.audit.list_for_entity(tenant_id, "claim", row.id)
        return ClaimFile(
            claim=claim_view(row),
            policy=PolicySummary(
                id=policy.policy_id,
                holder=policy.holder,
                product=policy.product,
                product_version=policy.product_version,
                terms_sha256=policy.terms_sha256,
            ),
            evidence=[evidence_view(e) for e in uow.evidence.list(tenant_id, row.id)],
            offer=offers[-1] if offers else None,
            offers=offers,
            ledger=[entry_view(e) for e in ledger],
            totals=_totals(row, ledger),
            history=[
                HistoryEntry(
                    seq=h.seq, at=h.at, actor=h.actor, action=h.action, data=audit_data(h.data)
                )
                for h in history
            ],
        )


def insured_view(uow: UnitOfWork, claim_id: str, token: str) -> InsuredView:
    """The insured's view of the claim opened by ``token`` (a wrong token: ``claim.not_found``)."""
    with uow:
        row = require_claim_for_insured(uow, claim_id, token)
        policy = cover_terms_of(uow, row.tenant_id, row.policy_id)
        offers = [
            offer_view(o)
            for o in uow.offers.list(row.tenant_id, row.id)
            if o.status in {"pending", "accepted", "contested"}
        ]
        ledger = uow.ledger.list(row.tenant_id, row.id)
        return InsuredView(
            claim_id=row.id,
            holder=policy.holder,
            status=ClaimStatus(row.status),
            peril=row.peril,
            loss_at=row.loss_at.isoformat(),
            declared_at=row.declared_at.isoformat(),
            late=row.late,
            days_late=row.days_late,
            offer=offers[-1] if offers else None,
            can_answer=row.status == ClaimStatus.OFFER_MADE.value,
            paid=_sum(ledger, "payment"),
        )


def _sum(entries: list[ClaimLedgerRow], kind: str) -> Decimal:
    return sum((e.amount for e in entries if e.kind == kind), Decimal("0.00"))


def _totals(row: ClaimRow, ledger: list[ClaimLedgerRow]) -> ClaimTotals:
    paid, recovered = _sum(ledger, "payment"), _sum(ledger, "recovery")
    return ClaimTotals(
        reserve=row.reserve,
        paid=paid,
        recovered=recovered,
        incurred=paid - recovered + row.reserve,
    )
