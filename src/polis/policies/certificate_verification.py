"""The verification decision: is a presented certificate authentic and in force at an instant?

Pure: the signature check is done by the caller and passed in as ``signature_ok``. The statuses and
their order are stated in :mod:`polis.policies.certificate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.time import Window, ensure_utc
from polis.policies.certificate_content import _SHA256, Language, _zone
from polis.policies.certificate_format import format_local

__all__ = [
    "CertificateRecord",
    "CertificateStatus",
    "CertificateVerification",
    "PresentedCertificate",
    "verify_certificate",
]


class CertificateStatus(StrEnum):
    VALID = "valid"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    TAMPERED = "tampered"


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """What the insurer keeps for each certificate it issued (enough to decide a verification)."""

    number: str
    content_sha256: str
    signature: str
    key_id: str
    period: Window
    timezone: str = "Europe/Paris"
    revoked_at: datetime | None = None
    revocation_reason: str | None = None

    def __post_init__(self) -> None:
        if not _SHA256.fullmatch(self.content_sha256):
            raise InvalidInput(
                "expected 64 lowercase hexadecimal characters", field="content_sha256"
            )
        _zone(self.timezone)
        if self.revoked_at is not None:
            object.__setattr__(self, "revoked_at", ensure_utc(self.revoked_at, field="revoked_at"))


@dataclass(frozen=True, slots=True)
class PresentedCertificate:
    """What someone shows: the number (from the QR code), and from a PDF its content hash and
    signature when they were extracted (``None`` when only the number is known)."""

    number: str
    content_sha256: str | None = None
    signature: str | None = None


_MESSAGES: dict[Language, dict[CertificateStatus, str]] = {
    "fr": {
        CertificateStatus.VALID: (
            "Attestation {number} authentique et en vigueur : garantie du {start} au {end}."
        ),
        CertificateStatus.NOT_YET_VALID: (
            "Attestation {number} authentique, pas encore en vigueur : la garantie commence le "
            "{start} et prend fin le {end}."
        ),
        CertificateStatus.EXPIRED: (
            "Attestation {number} authentique mais expirée : la garantie a pris fin le {end}."
        ),
        CertificateStatus.REVOKED: (
            "Attestation {number} révoquée le {revoked_at} : elle ne prouve plus aucune garantie."
        ),
        CertificateStatus.UNKNOWN: "Aucune attestation n'a été émise sous le numéro {number}.",
        CertificateStatus.TAMPERED: (
            "Attestation {number} altérée : son contenu ou sa signature ne correspond pas à ce "
            "que l'assureur a émis. Ne vous y fiez pas."
        ),
    },
    "en": {
        CertificateStatus.VALID: (
            "Certificate {number} is authentic and in force: cover from {start} to {end}."
        ),
        CertificateStatus.NOT_YET_VALID: (
            "Certificate {number} is authentic but not yet in force: cover starts on {start} "
            "and ends on {end}."
        ),
        CertificateStatus.EXPIRED: (
            "Certificate {number} is authentic but expired: cover ended on {end}."
        ),
        CertificateStatus.REVOKED: (
            "Certificate {number} was revoked on {revoked_at}: it no longer proves any cover."
        ),
        CertificateStatus.UNKNOWN: "No certificate was issued under number {number}.",
        CertificateStatus.TAMPERED: (
            "Certificate {number} has been altered: its content or signature does not match what "
            "the insurer issued. Do not rely on it."
        ),
    },
}


@dataclass(frozen=True, slots=True)
class CertificateVerification:
    """The answer to "is this certificate good at ``checked_at``?"; ``reason`` is a stable code."""

    number: str
    status: CertificateStatus
    checked_at: datetime
    reason: str
    period: Window | None = None
    timezone: str = "Europe/Paris"
    revoked_at: datetime | None = None
    revocation_reason: str | None = None

    @property
    def authentic(self) -> bool:
        """Issued by the insurer and unaltered (whatever its period or revocation)."""
        return self.status not in (CertificateStatus.UNKNOWN, CertificateStatus.TAMPERED)

    @property
    def in_force(self) -> bool:
        """Proves cover at ``checked_at``."""
        return self.status is CertificateStatus.VALID

    def message(self, lang: Language = "fr") -> str:
        values = {"number": self.number, "start": "", "end": "", "revoked_at": ""}
        if self.period is not None:
            values["start"] = format_local(self.period.start, self.timezone)
            values["end"] = format_local(self.period.end, self.timezone)
        if self.revoked_at is not None:
            values["revoked_at"] = format_local(self.revoked_at, self.timezone)
        text = _MESSAGES[lang][self.status].format(**values)
        if self.status is CertificateStatus.REVOKED and self.revocation_reason:
            text += (" Motif : " if lang == "fr" else " Reason: ") + self.revocation_reason
        return text


def verify_certificate(
    record: CertificateRecord | None,
    presented: PresentedCertificate,
    *,
    signature_ok: bool,
    now: datetime,
) -> CertificateVerification:
    """Decide the status of ``presented`` against the stored ``record`` at the instant ``now``.

    ``signature_ok`` is the outcome of checking the signature with the public key of
    ``record.key_id``: over the presented content and signature when a PDF was presented, else over
    the stored content and signature (a stored row altered after issue is then ``tampered`` too).
    It is ignored when there is no record.
    """
    checked_at = ensure_utc(now, field="now")
    if record is None:
        return CertificateVerification(
            presented.number.strip()[:64],
            CertificateStatus.UNKNOWN,
            checked_at,
            "no_such_certificate",
        )

    def answer(status: CertificateStatus, reason: str) -> CertificateVerification:
        return CertificateVerification(
            number=record.number,
            status=status,
            checked_at=checked_at,
            reason=reason,
            period=record.period,
            timezone=record.timezone,
            revoked_at=record.revoked_at if status is CertificateStatus.REVOKED else None,
            revocation_reason=(
                record.revocation_reason if status is CertificateStatus.REVOKED else None
            ),
        )

    if presented.number.strip() != record.number:
        return answer(CertificateStatus.TAMPERED, "number_mismatch")
    if presented.content_sha256 is not None and presented.content_sha256 != record.content_sha256:
        return answer(CertificateStatus.TAMPERED, "content_mismatch")
    if not signature_ok:
        return answer(CertificateStatus.TAMPERED, "bad_signature")
    if record.revoked_at is not None and record.revoked_at <= checked_at:
        return answer(CertificateStatus.REVOKED, "revoked")
    if checked_at < record.period.start:
        return answer(CertificateStatus.NOT_YET_VALID, "not_started")
    if checked_at >= record.period.end:
        return answer(CertificateStatus.EXPIRED, "ended")
    return answer(CertificateStatus.VALID, "in_force")
