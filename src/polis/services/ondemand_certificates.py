"""Certificates of on-demand windows: issue (content → Ed25519 signature, stored in the same
transaction as the window), render the PDF, read, download, verify and revoke.

- **Issue** (:func:`issue_certificate`, inside an activation's or an extension's unit of work):
  the content of :func:`polis.ondemand.certificate_content.certificate_content`, signed by the
  configured key (:class:`CertificateIssuer`) and stored with the canonical content bytes, the
  signature, the key id and the public base URL its QR code points to — in the database, so a
  crash can never leave a window without its certificate or a certificate without its window. The
  signed record *is* the certificate: its number, content hash and signature are known, and
  verifiable, as soon as the transaction commits.
- **PDF** (:func:`certificate_pdf`): a pure function of the signed record and of the public base
  URL (``docs/certificates.md``), so it is not rendered inside the activation's transaction (about
  15 ms of CPU that every concurrent activation would wait for): the first download renders it,
  stores it with its SHA-256 and size, and every later download returns those bytes, checked.
  Two first downloads at once render the same document; one of them is stored.
- **Verify by number** (public): the stored content and signature are checked again with the
  public key of the certificate's key id (a row altered in the database is ``tampered``), then
  :func:`polis.policies.certificate.verify_certificate` decides valid / not yet valid / expired /
  revoked / unknown / tampered at ``now``.
- **Verify a PDF** (public): the content and signature embedded in the PDF's XMP metadata are
  extracted and checked against the signature and against what was issued under that number.
- **Revoke**: ``revoked_at`` and a reason (an early stop revokes at the stop instant).

Key rotation: the raw public key of every key id that signed is kept in
``ondemand_signing_keys``, so a certificate signed by an old key still verifies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field

from polis.calc._base import parse_request
from polis.documents.certificates import (
    read_embedded_certificate,
    render_certificate_pdf,
    verification_url,
)
from polis.documents.signing import (
    SignedCertificate,
    load_public_key,
    public_key_base64url,
    verify_signature,
)
from polis.kernel.errors import Conflict, NotFound
from polis.kernel.time import Window, ensure_utc, utc_now
from polis.policies.certificate import (
    CertificateContent,
    CertificateRecord,
    CertificateVerification,
    Insurer,
    PresentedCertificate,
    content_from_canonical,
    content_sha256,
    verify_certificate,
)
from polis.services import audit, outbox
from polis.services.signing_keys import CertificateSigner
from polis.store.tables_ondemand import (
    OnDemandCertificatePdfRow,
    OnDemandCertificateRow,
    OnDemandSigningKeyRow,
)
from polis.store.uow import UnitOfWork

__all__ = [
    "DEMO_INSURER",
    "CertificateIssuer",
    "CertificateProofView",
    "CertificateView",
    "RevokeIn",
    "VerificationView",
    "certificate_links",
    "certificate_pdf",
    "certificate_view",
    "get_certificate",
    "issue_certificate",
    "proof_view",
    "register_signing_key",
    "revoke_certificate",
    "revoke_window_certificates",
    "verify_number",
    "verify_pdf",
]

#: the insurer printed on certificates when the deployment configures none (demo)
DEMO_INSURER = Insurer(
    "Polis Assurances (démonstration)",
    "1 place de la Bourse, 75002 Paris",
    "Entreprise régie par le Code des assurances — démonstration, sans valeur contractuelle",
)


@dataclass(frozen=True, slots=True)
class CertificateIssuer:
    """What issuing and checking certificates needs: the signer, the public address printed in
    the QR code (``/verify/{number}``) and the insurer's identity."""

    signer: CertificateSigner
    public_base_url: str
    insurer: Insurer = DEMO_INSURER


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


def register_signing_key(uow: UnitOfWork, signer: CertificateSigner, now: datetime) -> None:
    """Keep the signer's public key under its key id (once, also when several first activations
    race to store it; no commit)."""
    if not uow.ondemand.has_signing_key(signer.key_id):
        uow.ondemand.add_signing_key(
            OnDemandSigningKeyRow(
                key_id=signer.key_id,
                public_key=public_key_base64url(signer.public_key),
                first_used_at=now,
            )
        )


def issue_certificate(
    uow: UnitOfWork,
    issuer: CertificateIssuer,
    content: CertificateContent,
    *,
    tenant_id: str,
    window_id: str,
    subscription_id: str,
    now: datetime,
    key_registered: bool = False,
) -> OnDemandCertificateRow:
    """Sign and store ``content`` in the open unit of work (no commit; the PDF is rendered at the
    first download); publishes ``certificate.issued``. ``key_registered``: the caller already ran
    :func:`register_signing_key` in this unit of work."""
    signed = issuer.signer.sign(content)
    if not key_registered:
        register_signing_key(uow, issuer.signer, now)
    row = OnDemandCertificateRow(
        number=signed.number,
        tenant_id=tenant_id,
        window_id=window_id,
        subscription_id=subscription_id,
        policy_id=content.policy_number,
        content=signed.content_bytes.decode("utf-8"),
        content_sha256=signed.content_sha256,
        signature=signed.signature,
        key_id=signed.key_id,
        period_start=content.period.start,
        period_end=content.period.end,
        timezone=content.timezone,
        issued_at=content.issued_at,
        revoked_at=None,
        revocation_reason=None,
        pdf_sha256=None,
        pdf_size=None,
        public_base_url=issuer.public_base_url,
    )
    uow.ondemand.insert_later(row)  # revocation and the PDF come later, on the row read again
    outbox.emit(
        uow,
        tenant_id=tenant_id,
        event_type="certificate.issued",
        payload={
            "certificate": row.number,
            "window_id": window_id,
            "subscription_id": subscription_id,
            "policy_id": row.policy_id,
            "period": {"start": row.period_start, "end": row.period_end},
            "content_sha256": row.content_sha256,
            "signature": row.signature,
            "key_id": row.key_id,
        },
    )
    return row


def proof_view(row: OnDemandCertificateRow) -> CertificateProofView:
    return CertificateProofView(
        number=row.number,
        content_sha256=row.content_sha256,
        signature=row.signature,
        key_id=row.key_id,
    )


def revoke_window_certificates(
    uow: UnitOfWork, window_id: str, *, at: datetime, reason: str
) -> list[str]:
    """Revoke (at ``at``) every certificate of a window not revoked yet; their numbers."""
    revoked = []
    for row in uow.ondemand.certificates_of_window(window_id):
        if row.revoked_at is None or row.revoked_at > at:
            row.revoked_at = at
            row.revocation_reason = reason
            revoked.append(row.number)
    return revoked


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


def certificate_pdf(uow: UnitOfWork, tenant_id: str, number: str) -> tuple[bytes, str]:
    """The certificate's PDF and its SHA-256: rendered from the signed record and stored at the
    first call, the stored bytes afterwards (checked: a stored PDF that changed is refused)."""
    with uow:
        row = _require(uow, tenant_id, number)
        stored = uow.ondemand.certificate_pdf(row.number)
        if stored is not None:
            return _checked(row, bytes(stored.pdf))
        pdf = _render(row)
        digest = hashlib.sha256(pdf).hexdigest()
        stored_now = OnDemandCertificatePdfRow(number=row.number, tenant_id=row.tenant_id, pdf=pdf)
        if uow.ondemand.add_certificate_pdf(stored_now):
            row.pdf_sha256, row.pdf_size = digest, len(pdf)
            uow.commit()
            return pdf, digest
    return _stored_pdf(uow, tenant_id, number)  # a concurrent first download stored it first


def _stored_pdf(uow: UnitOfWork, tenant_id: str, number: str) -> tuple[bytes, str]:
    with uow:
        row = _require(uow, tenant_id, number)
        stored = uow.ondemand.certificate_pdf(row.number)
        if stored is None:  # pragma: no cover - the other download committed it
            raise Conflict(f"the PDF of {row.number} is not stored", code="certificate.pdf_missing")
        return _checked(row, bytes(stored.pdf))


def _checked(row: OnDemandCertificateRow, pdf: bytes) -> tuple[bytes, str]:
    if row.pdf_sha256 is None or hashlib.sha256(pdf).hexdigest() != row.pdf_sha256:
        raise Conflict(
            f"the stored PDF of {row.number} does not match its SHA-256",
            code="certificate.pdf_corrupted",
        )
    return pdf, row.pdf_sha256


def _render(row: OnDemandCertificateRow) -> bytes:
    """The PDF of the stored record (refused when the stored content does not match its hash)."""
    data = row.content.encode("utf-8")
    if content_sha256(data) != row.content_sha256:
        raise Conflict(
            f"the stored content of {row.number} does not match its SHA-256",
            code="certificate.content_corrupted",
        )
    signed = SignedCertificate(
        content_from_canonical(data), data, row.content_sha256, row.signature, row.key_id
    )
    return render_certificate_pdf(signed, public_base_url=row.public_base_url or "")


def _public_key(uow: UnitOfWork, signer: CertificateSigner, key_id: str) -> Ed25519PublicKey | None:
    if key_id == signer.key_id:
        return signer.public_key
    known = uow.ondemand.signing_key(key_id)
    return None if known is None else load_public_key(known.public_key)


def _record(row: OnDemandCertificateRow) -> CertificateRecord:
    return CertificateRecord(
        number=row.number,
        content_sha256=row.content_sha256,
        signature=row.signature,
        key_id=row.key_id,
        period=Window(row.period_start, row.period_end),
        timezone=row.timezone,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
    )


def _view(
    answer: CertificateVerification, certified: dict[str, Any] | None = None
) -> VerificationView:
    period = answer.period
    return VerificationView(
        number=answer.number,
        status=answer.status.value,
        reason=answer.reason,
        authentic=answer.authentic,
        in_force=answer.in_force,
        checked_at=answer.checked_at,
        period_start=period.start if period else None,
        period_end=period.end if period else None,
        timezone=answer.timezone,
        revoked_at=answer.revoked_at,
        revocation_reason=answer.revocation_reason,
        message=answer.message("fr"),
        message_en=answer.message("en"),
        certified=certified if answer.authentic else None,
    )


def _stored_ok(uow: UnitOfWork, signer: CertificateSigner, row: OnDemandCertificateRow) -> bool:
    data = row.content.encode("utf-8")
    key = _public_key(uow, signer, row.key_id)
    return (
        key is not None
        and content_sha256(data) == row.content_sha256
        and verify_signature(data, row.signature, key)
    )


def verify_number(
    uow: UnitOfWork, signer: CertificateSigner, number: str, *, now: datetime | None = None
) -> VerificationView:
    """Public check by number (the QR code): valid / not yet valid / expired / revoked / unknown /
    tampered (the stored content and signature are checked again)."""
    moment = ensure_utc(now, field="now") if now is not None else utc_now()
    presented = PresentedCertificate(number.strip()[:64])
    with uow:
        row = uow.ondemand.certificate_unscoped(presented.number)
        if row is None:
            return _view(verify_certificate(None, presented, signature_ok=False, now=moment))
        ok = _stored_ok(uow, signer, row)
        answer = verify_certificate(_record(row), presented, signature_ok=ok, now=moment)
        return _view(answer, json.loads(row.content) if ok else None)


def verify_pdf(
    uow: UnitOfWork, signer: CertificateSigner, pdf: bytes, *, now: datetime | None = None
) -> VerificationView:
    """Public check of a certificate PDF: its embedded content and signature (offline proof)
    against the signature and against what was issued under its number."""
    moment = ensure_utc(now, field="now") if now is not None else utc_now()
    embedded = read_embedded_certificate(pdf)
    digest = content_sha256(embedded.content_bytes)
    presented = PresentedCertificate(embedded.number.strip()[:64], digest, embedded.signature)
    with uow:
        row = uow.ondemand.certificate_unscoped(presented.number)
        if row is None:
            return _view(verify_certificate(None, presented, signature_ok=False, now=moment))
        key = _public_key(uow, signer, row.key_id)
        ok = key is not None and verify_signature(embedded.content_bytes, embedded.signature, key)
        answer = verify_certificate(_record(row), presented, signature_ok=ok, now=moment)
        certified = json.loads(embedded.content_bytes.decode("utf-8")) if ok else None
        return _view(answer, certified)


def revoke_certificate(
    uow: UnitOfWork,
    tenant_id: str,
    number: str,
    payload: RevokeIn | dict[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
    public_base_url: str = "",
) -> CertificateView:
    """Revoke a certificate now (audited ``certificate.revoked``; 409 if already revoked)."""
    given = parse_request(RevokeIn, payload)
    moment = ensure_utc(now, field="now") if now is not None else utc_now()
    with uow:
        row = uow.ondemand.certificate(tenant_id, number.strip(), for_update=True)
        if row is None:
            raise NotFound(
                f"no certificate {number!r}", field="number", code="certificate.not_found"
            )
        if row.revoked_at is not None and row.revoked_at <= moment:
            raise Conflict(
                f"certificate {row.number} was revoked already", code="certificate.revoked"
            )
        row.revoked_at = moment
        row.revocation_reason = given.reason.strip()
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="certificate.revoked",
            entity_type="certificate",
            entity_id=row.number,
            data={"reason": row.revocation_reason, "window": row.window_id},
            at=moment,
        )
        outbox.publish(
            uow,
            tenant_id=tenant_id,
            event_type="certificate.revoked",
            payload={"certificate": row.number, "window_id": row.window_id, "at": moment},
        )
        view = certificate_view(row, public_base_url)
        uow.commit()
    return view
