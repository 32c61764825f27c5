"""Revoking on-demand certificates: every certificate of a window (an early stop, in the stop's
unit of work) or one certificate by number (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from polis.calc._base import parse_request
from polis.kernel.errors import Conflict, NotFound
from polis.kernel.time import ensure_utc, utc_now
from polis.services import audit, outbox
from polis.services.ondemand_certificates_views import CertificateView, RevokeIn, certificate_view
from polis.store.uow import UnitOfWork

__all__ = ["revoke_certificate", "revoke_window_certificates"]


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
