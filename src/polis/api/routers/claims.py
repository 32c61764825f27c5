"""Claims over HTTP (API key; a tenant only ever sees its own claims — another tenant's claim,
evidence, offer or ledger answers 404 ``claim.not_found``, exactly like a missing one).

The insured's routes (``/v1/insured/claims/{id}``) take the claim's own secret token in the
``X-Claim-Token`` header instead of an API key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from polis.api.deps import CurrentPrincipal, new_uow
from polis.claims.lifecycle import ClaimStatus
from polis.config import Settings
from polis.kernel.errors import NotFound
from polis.services import claim_evidence, claim_settlement, claim_views, claims
from polis.services.claim_evidence import EvidenceStore, EvidenceView
from polis.services.claim_settlement import LedgerEntryView, OfferIn, OfferPreview, OfferView
from polis.services.claim_views import ClaimFile, InsuredView
from polis.services.claims import ClaimIn, ClaimView, DeclaredClaim, HistoryEntry
from polis.store import SqlUnitOfWork

__all__ = ["evidence_store", "router"]

router = APIRouter(prefix="/v1", tags=["claims"])

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]
Amount = Annotated[Decimal, Field(max_digits=16, decimal_places=2)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusIn(_Body):
    status: str = Field(examples=["under_assessment"])
    reason: str = Field(default="", max_length=500)
    refusal_reason: str | None = Field(default=None, examples=["not_covered"])


class ReserveIn(_Body):
    amount: Amount = Field(ge=0, examples=["1200.00"])
    reason: str = Field(min_length=1, max_length=200, examples=["expert estimate"])


class ContestIn(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class PaymentIn(_Body):
    amount: Amount = Field(gt=0)
    reference: str = Field(min_length=1, max_length=100, examples=["VIR-2026-0042"])


class RecoveryIn(PaymentIn):
    source: str = Field(default="", max_length=200, examples=["third party insurer (IRSA)"])


def evidence_store(settings: Settings) -> EvidenceStore:
    """The evidence store configured by ``settings``."""
    return EvidenceStore(
        settings.evidence_root, settings.evidence_max_bytes, tuple(settings.evidence_types)
    )


def _store(request: Request) -> EvidenceStore:
    settings: Settings = request.app.state.settings
    return evidence_store(settings)


Store = Annotated[EvidenceStore, Depends(_store)]


@router.post(
    "/claims",
    response_model=DeclaredClaim,
    status_code=status.HTTP_201_CREATED,
    summary="Declare a loss (FNOL)",
    description="A late declaration is accepted and flagged (`late`, `days_late`) against the "
    "cover's deadline for the peril (L113-2). The answer holds `insured_token`, the insured's "
    "secret for their own view of this claim: it is shown this once.",
)
def declare(body: ClaimIn, principal: CurrentPrincipal, uow: Uow) -> DeclaredClaim:
    return claims.declare_claim(uow, principal.tenant_id, body, actor=principal.actor)


@router.get("/claims", response_model=list[ClaimView], summary="The claims queue")
def queue(
    principal: CurrentPrincipal,
    uow: Uow,
    status_: Annotated[list[ClaimStatus] | None, Query(alias="status")] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ClaimView]:
    """Late declarations first, then the oldest; ``status`` may be repeated; ``open=true``."""
    return claims.list_claims(
        uow, principal.tenant_id, statuses=status_, open_only=open_only, limit=limit, offset=offset
    )


@router.get("/claims/{claim_id}", response_model=ClaimView, summary="One claim")
def get_claim(claim_id: str, principal: CurrentPrincipal, uow: Uow) -> ClaimView:
    return claims.get_claim(uow, principal.tenant_id, claim_id)


@router.get(
    "/claims/{claim_id}/file",
    response_model=ClaimFile,
    summary="The whole file: claim, policy, evidence, offers, ledger, totals, history",
)
def get_file(claim_id: str, principal: CurrentPrincipal, uow: Uow) -> ClaimFile:
    return claim_views.claim_file(uow, principal.tenant_id, claim_id)


@router.post(
    "/claims/{claim_id}/status",
    response_model=ClaimView,
    summary="Change the status (through the transition table; 409 when not allowed)",
)
def change_status(
    claim_id: str, body: StatusIn, principal: CurrentPrincipal, uow: Uow
) -> ClaimView:
    return claims.change_status(
        uow,
        principal.tenant_id,
        claim_id,
        body.status,
        principal.actor,
        reason=body.reason,
        refusal_reason=body.refusal_reason,
    )


@router.post("/claims/{claim_id}/reserve", response_model=ClaimView, summary="Set the reserve")
def set_reserve(claim_id: str, body: ReserveIn, principal: CurrentPrincipal, uow: Uow) -> ClaimView:
    return claims.set_reserve(
        uow, principal.tenant_id, claim_id, body.amount, body.reason, principal.actor
    )


@router.get("/claims/{claim_id}/history", response_model=list[HistoryEntry])
def history(claim_id: str, principal: CurrentPrincipal, uow: Uow) -> list[HistoryEntry]:
    return claims.claim_history(uow, principal.tenant_id, claim_id)


@router.post(
    "/claims/{claim_id}/evidence",
    response_model=EvidenceView,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a photo or document (JPEG, PNG, WebP, HEIC, PDF)",
    description="The type is recognised from the content (415 otherwise); the size is limited "
    "(413). The SHA-256, the EXIF capture time when present and the upload time are recorded. "
    "The same content uploaded twice returns the first record.",
)
def add_evidence(
    claim_id: str,
    file: Annotated[UploadFile, File(description="the photo or document")],
    principal: CurrentPrincipal,
    uow: Uow,
    store: Store,
) -> EvidenceView:
    return claim_evidence.add_evidence(
        uow,
        store,
        principal.tenant_id,
        claim_id,
        file.file,
        file.filename or "evidence",
        principal.actor,
    )


@router.get("/claims/{claim_id}/evidence", response_model=list[EvidenceView])
def list_evidence(claim_id: str, principal: CurrentPrincipal, uow: Uow) -> list[EvidenceView]:
    return claim_evidence.list_evidence(uow, principal.tenant_id, claim_id)


@router.get(
    "/claims/{claim_id}/evidence/{evidence_id}",
    response_class=Response,
    summary="Download an evidence file (its SHA-256 is checked first: 409 if altered)",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_evidence(
    claim_id: str, evidence_id: str, principal: CurrentPrincipal, uow: Uow, store: Store
) -> Response:
    view, data = claim_evidence.read_evidence(
        uow, store, principal.tenant_id, claim_id, evidence_id
    )
    return evidence_response(view, data)


def evidence_response(view: EvidenceView, data: bytes) -> Response:
    """The file, typed by its checked content, never executed by the browser."""
    ascii_name = view.filename.encode("ascii", "replace").decode().replace('"', "'")
    disposition = "inline" if view.kind == "photo" else "attachment"
    return Response(
        data,
        media_type=view.content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(view.filename)}",
            "X-Content-SHA256": view.sha256,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.post(
    "/claims/{claim_id}/offer",
    response_model=OfferView | OfferPreview,
    status_code=status.HTTP_201_CREATED,
    summary="Make a settlement offer computed by the engine (dry_run: compute only)",
    description="The policy's cover terms and these loss facts go to the `settlement` "
    "calculator; the offer stores its request, indemnity, retained lines, explanation and the "
    "engine version. Nothing owed → 409 `offer.nothing_owed` (refuse the claim instead).",
)
def make_offer(
    claim_id: str,
    body: OfferIn,
    principal: CurrentPrincipal,
    uow: Uow,
    response: Response,
    dry_run: bool = False,
) -> OfferView | OfferPreview:
    if dry_run:
        response.status_code = status.HTTP_200_OK
        return claim_settlement.preview_offer(uow, principal.tenant_id, claim_id, body)
    return claim_settlement.make_offer(uow, principal.tenant_id, claim_id, body, principal.actor)


@router.get("/claims/{claim_id}/offer", response_model=OfferView, summary="The latest offer")
def get_offer(claim_id: str, principal: CurrentPrincipal, uow: Uow) -> OfferView:
    offer = claim_views.claim_file(uow, principal.tenant_id, claim_id).offer
    if offer is None:
        raise NotFound(f"claim {claim_id} has no offer", code="offer.not_found")
    return offer


@router.get("/claims/{claim_id}/offers", response_model=list[OfferView], summary="Every offer")
def list_offers(claim_id: str, principal: CurrentPrincipal, uow: Uow) -> list[OfferView]:
    return claim_views.claim_file(uow, principal.tenant_id, claim_id).offers


@router.post("/claims/{claim_id}/offer/accept", response_model=ClaimView)
def accept_offer(claim_id: str, principal: CurrentPrincipal, uow: Uow) -> ClaimView:
    """The insured's acceptance, recorded by the tenant."""
    return claim_settlement.accept_offer(uow, principal.tenant_id, claim_id, principal.actor)


@router.post("/claims/{claim_id}/offer/contest", response_model=ClaimView)
def contest_offer(
    claim_id: str, body: ContestIn, principal: CurrentPrincipal, uow: Uow
) -> ClaimView:
    """The insured's contest (with its reason), recorded by the tenant."""
    return claim_settlement.contest_offer(
        uow, principal.tenant_id, claim_id, body.reason, principal.actor
    )


@router.post(
    "/claims/{claim_id}/payments", response_model=ClaimView, status_code=status.HTTP_201_CREATED
)
def record_payment(
    claim_id: str, body: PaymentIn, principal: CurrentPrincipal, uow: Uow
) -> ClaimView:
    return claim_settlement.record_payment(
        uow, principal.tenant_id, claim_id, body.amount, body.reference, principal.actor
    )


@router.post(
    "/claims/{claim_id}/recoveries", response_model=ClaimView, status_code=status.HTTP_201_CREATED
)
def record_recovery(
    claim_id: str, body: RecoveryIn, principal: CurrentPrincipal, uow: Uow
) -> ClaimView:
    return claim_settlement.record_recovery(
        uow,
        principal.tenant_id,
        claim_id,
        body.amount,
        body.reference,
        body.source,
        principal.actor,
    )


@router.get("/claims/{claim_id}/ledger", response_model=list[LedgerEntryView])
def ledger(claim_id: str, principal: CurrentPrincipal, uow: Uow) -> list[LedgerEntryView]:
    return claim_settlement.ledger_view(uow, principal.tenant_id, claim_id)


ClaimToken = Annotated[str, Header(alias="X-Claim-Token", description="the claim's insured token")]


@router.get(
    "/insured/claims/{claim_id}",
    response_model=InsuredView,
    tags=["insured"],
    summary="The insured's view of their claim (token, no API key)",
)
def insured_claim(claim_id: str, token: ClaimToken, uow: Uow) -> InsuredView:
    return claim_views.insured_view(uow, claim_id, token)


@router.post(
    "/insured/claims/{claim_id}/offer/accept", response_model=InsuredView, tags=["insured"]
)
def insured_accept(claim_id: str, token: ClaimToken, uow: Uow) -> InsuredView:
    claim_settlement.insured_answer(uow, claim_id, token, accept=True)
    return claim_views.insured_view(uow, claim_id, token)


@router.post(
    "/insured/claims/{claim_id}/offer/contest", response_model=InsuredView, tags=["insured"]
)
def insured_contest(claim_id: str, body: ContestIn, token: ClaimToken, uow: Uow) -> InsuredView:
    claim_settlement.insured_answer(uow, claim_id, token, accept=False, reason=body.reason)
    return claim_views.insured_view(uow, claim_id, token)
