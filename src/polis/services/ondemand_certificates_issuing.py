"""Issuing on-demand certificates: the issuer's configuration, the signing key kept under its
key id, and the signed record stored in the activation's or extension's unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from polis.documents.signing import public_key_base64url
from polis.policies.certificate import CertificateContent, Insurer
from polis.services import outbox
from polis.services.signing_keys import CertificateSigner
from polis.store.tables_ondemand import OnDemandCertificateRow, OnDemandSigningKeyRow
from polis.store.uow import UnitOfWork

__all__ = [
    "DEMO_INSURER",
    "CertificateIssuer",
    "issue_certificate",
    "register_signing_key",
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
