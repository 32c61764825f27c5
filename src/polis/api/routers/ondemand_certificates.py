"""On-demand certificates over HTTP: the PDF, metadata and revocation (API key, tenant-scoped),
and the public checks by number or by PDF (no key, rate-limited like the ``/verify/{number}``
page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from polis.api.deps import CurrentPrincipal
from polis.api.ratelimit import VERIFY_RATE_LIMIT
from polis.api.routers.ondemand import Issuer, Now, Uow, answer, json_example
from polis.kernel.errors import InvalidInput
from polis.services import ondemand_certificates
from polis.services.ondemand_certificates import CertificateView, RevokeIn, VerificationView

__all__ = ["public_router", "router"]

router = APIRouter(prefix="/v1", tags=["on-demand"])
public_router = APIRouter(prefix="/v1", tags=["certificates (public)"])

_PDF_MAX = 5 * 1024 * 1024
_VERIFY_OUT = {
    "number": "ATT-2026-000001",
    "status": "valid",
    "reason": "in_force",
    "authentic": True,
    "in_force": True,
    "message": "Attestation ATT-2026-000001 authentique et en vigueur : garantie du 13/06/2026 "
    "09:00 (UTC+02:00) au 13/06/2026 11:00 (UTC+02:00).",
}


# --- certificates ---------------------------------------------------------------------------------


@router.get(
    "/certificates/{number}.pdf",
    response_class=Response,
    summary="The certificate PDF as issued",
    responses={200: {"content": {"application/pdf": {"example": "%PDF-1.4 …"}}}},
)
def certificate_pdf(number: str, principal: CurrentPrincipal, uow: Uow) -> Response:
    pdf, digest = ondemand_certificates.certificate_pdf(uow, principal.tenant_id, number)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{number.strip()}.pdf"',
            "X-Content-SHA256": digest,
        },
    )


@router.get(
    "/certificates/{number}",
    response_model=CertificateView,
    summary="A certificate's metadata and certified content",
    responses=answer(
        {
            "number": "ATT-2026-000001",
            "window_id": "WIN-2026-000001",
            "period_start": "2026-06-13T07:00:00Z",
            "period_end": "2026-06-13T09:00:00Z",
            "key_id": "3f2a9c0d1e4b5a67",
            "revoked_at": None,
        }
    ),
)
def get_certificate(
    number: str, principal: CurrentPrincipal, uow: Uow, issuer: Issuer
) -> CertificateView:
    return ondemand_certificates.get_certificate(
        uow, principal.tenant_id, number, public_base_url=issuer.public_base_url
    )


@router.post(
    "/certificates/{number}/revoke",
    response_model=CertificateView,
    summary="Revoke a certificate now (with a reason)",
    openapi_extra=json_example({"reason": "issued by mistake"}),
)
def revoke_certificate(
    number: str,
    body: RevokeIn,
    principal: CurrentPrincipal,
    uow: Uow,
    issuer: Issuer,
    now: Now,
) -> CertificateView:
    return ondemand_certificates.revoke_certificate(
        uow,
        principal.tenant_id,
        number,
        body,
        principal.actor,
        now=now,
        public_base_url=issuer.public_base_url,
    )


@public_router.get(
    "/certificates/{number}/verify",
    response_model=VerificationView,
    summary="Check a certificate by its number (public, no key)",
    description="`valid`, `not_yet_valid`, `expired`, `revoked`, `unknown` or `tampered` (the "
    "stored content and signature are checked again with the insurer's public key).",
    responses=answer(_VERIFY_OUT),
    dependencies=[VERIFY_RATE_LIMIT],
)
def verify_number(number: str, uow: Uow, issuer: Issuer, now: Now) -> VerificationView:
    return ondemand_certificates.verify_number(uow, issuer.signer, number, now=now)


@public_router.post(
    "/certificates/verify",
    response_model=VerificationView,
    summary="Check a certificate PDF (public, no key): its embedded signed content",
    description="Upload the PDF as `file` (multipart). The content and Ed25519 signature embedded "
    "in its metadata are checked, and compared with what was issued under its number: an "
    "altered PDF is `tampered`.",
    responses={
        **answer(_VERIFY_OUT),
        422: {"description": "`certificate.not_embedded`: not a Polis certificate PDF"},
    },
    dependencies=[VERIFY_RATE_LIMIT],
)
def verify_pdf(
    uow: Uow, issuer: Issuer, now: Now, file: Annotated[UploadFile, File()]
) -> VerificationView:
    data = file.file.read(_PDF_MAX + 1)
    if len(data) > _PDF_MAX:
        raise InvalidInput("a certificate PDF is at most 5 MB", field="file")
    return ondemand_certificates.verify_pdf(uow, issuer.signer, data, now=now)
