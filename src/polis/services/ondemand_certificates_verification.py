"""Public verification of on-demand certificates: by number (the stored content and signature
are checked again) and of a presented PDF (its embedded content and signature), with the public
key of the certificate's key id, also after a key rotation."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from polis.documents.certificates import read_embedded_certificate
from polis.documents.signing import load_public_key, verify_signature
from polis.kernel.time import Window, ensure_utc, utc_now
from polis.policies.certificate import (
    CertificateRecord,
    CertificateVerification,
    PresentedCertificate,
    content_sha256,
    verify_certificate,
)
from polis.services.ondemand_certificates_views import VerificationView
from polis.services.signing_keys import CertificateSigner
from polis.store.tables_ondemand import OnDemandCertificateRow
from polis.store.uow import UnitOfWork

__all__ = ["verify_number", "verify_pdf"]


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
