"""Certificates of insurance: the certified content, its canonical bytes, and the verification decision.

Pure domain code: no I/O and no cryptography. The signature is computed and checked by the
``polis.documents.signing`` adapter; :func:`verify_certificate` only takes its outcome
(``signature_ok``) so that the decision stays a function of plain values.

Canonical serialisation (what is signed and hashed), schema ``polis.certificate/1``:

- JSON, keys sorted, no whitespace (``separators=(",", ":")``), UTF-8, non-ASCII kept as is;
- every key always present (absent optional values are ``null``), lists keep their order;
- texts are NFC-normalised and stripped when the content is built, so "é" typed as one or two code
  points gives the same bytes;
- money is ``{"amount": "1500.00", "currency": "EUR"}``: the amount a string with exactly two
  decimals (``Decimal("1.0")`` and ``Decimal("1.00")`` give ``"1.00"``; an amount that is not a
  whole number of cents is refused rather than rounded);
- instants are ISO 8601 in UTC with a ``Z`` (``2025-03-29T23:30:00Z``; microseconds only when
  present); the time zone used to *show* them is a separate field (``Europe/Paris`` by default).

Verification statuses, decided in this order (first match wins):

1. ``unknown``: no certificate was issued under that number;
2. ``tampered``: the presented content hash differs from the stored one, the presented content
   names another number, or the signature does not verify;
3. ``revoked``: the insurer revoked it at or before the instant of the check (beats everything
   below, including an expired period);
4. ``not_yet_valid``: authentic, but the cover starts later (a scheduled window); it is *not*
   reported as valid because the certificate proves no cover at the instant of the check;
5. ``expired``: authentic, the instant is at or after the end (half-open ``[start, end)``);
6. ``valid``: authentic and in force.

This module is the public entry point; the code lives in its siblings, one concept each:
:mod:`~polis.policies.certificate_content` (the value objects),
:mod:`~polis.policies.certificate_canonical` (canonical bytes, hash, parsing back),
:mod:`~polis.policies.certificate_format` (display helpers) and
:mod:`~polis.policies.certificate_verification` (the verification decision).
"""

from __future__ import annotations

from polis.policies.certificate_canonical import (
    canonical_bytes,
    canonical_dict,
    content_from_canonical,
    content_from_dict,
    content_sha256,
)
from polis.policies.certificate_content import (
    CERTIFICATE_PREFIX,
    CERTIFICATE_SCHEMA,
    AmountLine,
    CertificateContent,
    Insured,
    Insurer,
    Language,
    PricePaid,
    ProductTerms,
)
from polis.policies.certificate_format import format_duration, format_local, format_money
from polis.policies.certificate_verification import (
    CertificateRecord,
    CertificateStatus,
    CertificateVerification,
    PresentedCertificate,
    verify_certificate,
)

__all__ = [
    "CERTIFICATE_PREFIX",
    "CERTIFICATE_SCHEMA",
    "AmountLine",
    "CertificateContent",
    "CertificateRecord",
    "CertificateStatus",
    "CertificateVerification",
    "Insured",
    "Insurer",
    "Language",
    "PresentedCertificate",
    "PricePaid",
    "ProductTerms",
    "canonical_bytes",
    "canonical_dict",
    "content_from_canonical",
    "content_from_dict",
    "content_sha256",
    "format_duration",
    "format_local",
    "format_money",
    "verify_certificate",
]
