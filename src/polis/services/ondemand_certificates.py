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

Where each part lives: issuing in :mod:`.ondemand_certificates_issuing`, the views and reading
in :mod:`.ondemand_certificates_views`, verification in
:mod:`.ondemand_certificates_verification`, revocation in
:mod:`.ondemand_certificates_revocation`; the PDF is here (it renders through this module's
``render_certificate_pdf``). This module re-exports them all, so callers import from here.
"""

from __future__ import annotations

import hashlib

from polis.documents.certificates import render_certificate_pdf
from polis.documents.signing import SignedCertificate
from polis.kernel.errors import Conflict
from polis.policies.certificate import content_from_canonical, content_sha256
from polis.services.ondemand_certificates_issuing import (
    DEMO_INSURER,
    CertificateIssuer,
    issue_certificate,
    register_signing_key,
)
from polis.services.ondemand_certificates_revocation import (
    revoke_certificate,
    revoke_window_certificates,
)
from polis.services.ondemand_certificates_verification import verify_number, verify_pdf
from polis.services.ondemand_certificates_views import (
    CertificateProofView,
    CertificateView,
    RevokeIn,
    VerificationView,
    certificate_links,
    certificate_view,
    get_certificate,
    proof_view,
)
from polis.services.ondemand_certificates_views import _require as _require
from polis.store.tables_ondemand import OnDemandCertificatePdfRow, OnDemandCertificateRow
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
