"""Views of on-demand certificates: the response models (certificate, proof, verification), the
revocation request, their links, and reading a certificate by number within a tenant."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from polis.documents.certificates import verification_url
from polis.kernel.errors import NotFound
from polis.store.tables_ondemand import OnDemandCertificateRow
from polis.store.uow import UnitOfWork

__all__ = [
    "CertificateProofView",
    "CertificateView",
    "RevokeIn",
    "VerificationView",
    "certificate_links",
    "certificate_view",
    "get_certificate",
    "proof_view",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RevokeIn(_Strict):
    reason: str = Field(min_length=1, max_length=500, examples=["issued by mistake"])


class CertificateView(_Strict):
    number: str
    window_id: str
    subscription_id: str
    policy_id: str
    period_start: datetime
    period_end: datetime
    timezone: str
    issued_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    content_sha256: str
    signature: str
    key_id: str
    pdf_sha256: str | None = Field(
        description="SHA-256 of the PDF; null until its first download renders it"
    )
    pdf_size: int | None
    content: dict[str, Any] = Field(description="the certified content (canonical JSON)")
    links: dict[str, str]


class CertificateProofView(_Strict):
    """What makes a certificate checkable at once: the SHA-256 of its canonical content and the
    Ed25519 signature over it, with the signing key's id (``docs/certificates.md``)."""

    number: str
    content_sha256: str
    signature: str
    key_id: str


class VerificationView(_Strict):
    number: str
    status: str = Field(examples=["valid"])
    reason: str = Field(examples=["in_force"])
    authentic: bool
    in_force: bool
    checked_at: datetime
    period_start: datetime | None
    period_end: datetime | None
    timezone: str
    revoked_at: datetime | None
    revocation_reason: str | None
    message: str
    message_en: str
    certified: dict[str, Any] | None = Field(
        default=None, description="the certified content, when authentic"
    )


def certificate_links(number: str, public_base_url: str = "") -> dict[str, str]:
    links = {
        "certificate": f"/v1/certificates/{number}",
        "pdf": f"/v1/certificates/{number}.pdf",
        "verify": f"/v1/certificates/{number}/verify",
    }
    if public_base_url:
        links["verify_page"] = verification_url(public_base_url, number)
    return links


def proof_view(row: OnDemandCertificateRow) -> CertificateProofView:
    return CertificateProofView(
        number=row.number,
        content_sha256=row.content_sha256,
        signature=row.signature,
        key_id=row.key_id,
    )


def certificate_view(row: OnDemandCertificateRow, public_base_url: str = "") -> CertificateView:
    return CertificateView(
        number=row.number,
        window_id=row.window_id,
        subscription_id=row.subscription_id,
        policy_id=row.policy_id,
        period_start=row.period_start,
        period_end=row.period_end,
        timezone=row.timezone,
        issued_at=row.issued_at,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        content_sha256=row.content_sha256,
        signature=row.signature,
        key_id=row.key_id,
        pdf_sha256=row.pdf_sha256,
        pdf_size=row.pdf_size,
        content=json.loads(row.content),
        links=certificate_links(row.number, public_base_url),
    )


def _require(uow: UnitOfWork, tenant_id: str, number: str) -> OnDemandCertificateRow:
    row = uow.ondemand.certificate(tenant_id, number.strip())
    if row is None:
        raise NotFound(f"no certificate {number!r}", field="number", code="certificate.not_found")
    return row


def get_certificate(
    uow: UnitOfWork, tenant_id: str, number: str, *, public_base_url: str = ""
) -> CertificateView:
    with uow:
        return certificate_view(_require(uow, tenant_id, number), public_base_url)
