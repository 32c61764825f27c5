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
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from polis.kernel.errors import InvalidInput
from polis.kernel.ids import ReadableId
from polis.kernel.money import CENT, Money, round_money, to_decimal
from polis.kernel.time import Window, ensure_utc, parse_instant, to_local

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

CERTIFICATE_SCHEMA = "polis.certificate/1"
CERTIFICATE_PREFIX = "ATT"

Language = Literal["fr", "en"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PRODUCT_ID = re.compile(r"^[a-z][a-z0-9-]*$")
_VERSION = re.compile(r"^\d+(\.\d+)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MAX_LINES = 8
_MAX_EXCLUSIONS = 10


# --- value objects ---------------------------------------------------------------------------


def _text(value: object, field: str, *, max_length: int = 200) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"expected text, got {type(value).__name__}", field=field)
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise InvalidInput("must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"at most {max_length} characters", field=field)
    if _CONTROL.search(text):
        raise InvalidInput("control characters (line breaks, tabs) are not allowed", field=field)
    return text


def _optional_text(value: object, field: str, *, max_length: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _text(value, field, max_length=max_length)


def _cents(money: Money, field: str) -> Money:
    """``money`` with exactly two decimals; refuse fractions of a cent and negative amounts."""
    if round_money(money.amount) != money.amount:
        raise InvalidInput(f"{money.amount} is not a whole number of cents", field=field)
    if money.amount < 0:
        raise InvalidInput("must not be negative", field=field)
    return Money(money.amount.quantize(CENT), money.currency)


@dataclass(frozen=True, slots=True)
class Insurer:
    """Who carries the risk: name, registered address, registration (RCS, ACPR/REGAFI number)."""

    name: str
    address: str
    registration: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _text(self.name, "insurer.name"))
        object.__setattr__(self, "address", _text(self.address, "insurer.address", max_length=300))
        object.__setattr__(self, "registration", _text(self.registration, "insurer.registration"))


@dataclass(frozen=True, slots=True)
class Insured:
    """The insured: a person or a business (``siren_siret``: 9 or 14 digits, spaces ignored).

    The Luhn check of SIREN/SIRET numbers is done at onboarding; here only the shape is checked.
    """

    name: str
    siren_siret: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _text(self.name, "insured.name"))
        if self.siren_siret is not None:
            digits = re.sub(r"[\s\u00a0\u202f]", "", str(self.siren_siret))
            if not digits:
                object.__setattr__(self, "siren_siret", None)
                return
            if not (digits.isascii() and digits.isdigit() and len(digits) in (9, 14)):
                raise InvalidInput(
                    "a SIREN has 9 digits and a SIRET 14", field="insured.siren_siret"
                )
            object.__setattr__(self, "siren_siret", digits)


@dataclass(frozen=True, slots=True)
class AmountLine:
    """A labelled amount: a sum insured (plafond) or a deductible (franchise)."""

    label: str
    amount: Money

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", _text(self.label, "label"))
        object.__setattr__(self, "amount", _cents(self.amount, "amount"))


@dataclass(frozen=True, slots=True)
class ProductTerms:
    """The exact terms sold: product id and version, SHA-256 of the terms snapshot."""

    product_id: str
    version: str
    terms_sha256: str

    def __post_init__(self) -> None:
        if not _PRODUCT_ID.fullmatch(self.product_id) or len(self.product_id) > 64:
            raise InvalidInput(f"not a product id: {self.product_id!r}", field="product.id")
        if not _VERSION.fullmatch(self.version) or len(self.version) > 32:
            raise InvalidInput(f"not a product version: {self.version!r}", field="product.version")
        if not _SHA256.fullmatch(self.terms_sha256):
            raise InvalidInput(
                "expected 64 lowercase hexadecimal characters", field="product.terms_sha256"
            )


@dataclass(frozen=True, slots=True)
class PricePaid:
    """What the insured paid for this cover: ``total`` taxes included, of which ``taxes``."""

    total: Money
    taxes: Money

    def __post_init__(self) -> None:
        total = _cents(self.total, "price.total")
        taxes = _cents(self.taxes, "price.taxes")
        if taxes.currency != total.currency:
            raise InvalidInput("taxes and total must be in the same currency", field="price.taxes")
        if taxes.amount > total.amount:
            raise InvalidInput("taxes cannot exceed the total", field="price.taxes")
        object.__setattr__(self, "total", total)
        object.__setattr__(self, "taxes", taxes)

    @property
    def excluding_taxes(self) -> Money:
        return self.total - self.taxes


def _zone(key: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise InvalidInput(f"unknown time zone: {key!r}", field=field) from e


@dataclass(frozen=True, slots=True)
class CertificateContent:
    """Everything a certificate states; this, canonically serialised, is what gets signed."""

    number: str
    policy_number: str
    insurer: Insurer
    insured: Insured
    insured_object: str
    period: Window
    sums_insured: tuple[AmountLine, ...]
    deductibles: tuple[AmountLine, ...]
    exclusions: tuple[str, ...]
    product: ProductTerms
    price: PricePaid
    issued_at: datetime
    place: str | None = None
    geofence: str | None = None
    timezone: str = "Europe/Paris"
    language: Language = "fr"

    def __post_init__(self) -> None:
        number = ReadableId.parse(str(self.number), field="number", prefix=CERTIFICATE_PREFIX)
        object.__setattr__(self, "number", str(number))
        object.__setattr__(
            self, "policy_number", _text(self.policy_number, "policy_number", max_length=64)
        )
        object.__setattr__(
            self, "insured_object", _text(self.insured_object, "insured_object", max_length=300)
        )
        object.__setattr__(self, "place", _optional_text(self.place, "place", max_length=300))
        object.__setattr__(
            self, "geofence", _optional_text(self.geofence, "geofence", max_length=300)
        )
        _zone(self.timezone)
        if self.language not in ("fr", "en"):
            raise InvalidInput("language must be fr or en", field="language")
        object.__setattr__(self, "issued_at", ensure_utc(self.issued_at, field="issued_at"))
        for name in ("sums_insured", "deductibles"):
            lines = tuple(getattr(self, name))
            if len(lines) > _MAX_LINES:
                raise InvalidInput(f"at most {_MAX_LINES} lines", field=name)
            object.__setattr__(self, name, lines)
        if not self.sums_insured:
            raise InvalidInput("at least one sum insured", field="sums_insured")
        if len(self.exclusions) > _MAX_EXCLUSIONS:
            raise InvalidInput(f"at most {_MAX_EXCLUSIONS} exclusions", field="exclusions")
        object.__setattr__(
            self,
            "exclusions",
            tuple(
                _text(e, f"exclusions[{i}]", max_length=300) for i, e in enumerate(self.exclusions)
            ),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# --- canonical serialisation -----------------------------------------------------------------


def _instant(instant: datetime) -> str:
    return ensure_utc(instant).isoformat().replace("+00:00", "Z")


def _money(money: Money) -> dict[str, str]:
    return {"amount": f"{money.amount.quantize(CENT)}", "currency": money.currency}


def _line(line: AmountLine) -> dict[str, Any]:
    return {"label": line.label, **_money(line.amount)}


def canonical_dict(content: CertificateContent) -> dict[str, Any]:
    """The content as plain JSON values (see the module docstring for the rules)."""
    return {
        "schema": CERTIFICATE_SCHEMA,
        "number": content.number,
        "policy_number": content.policy_number,
        "language": content.language,
        "issued_at": _instant(content.issued_at),
        "insurer": {
            "name": content.insurer.name,
            "address": content.insurer.address,
            "registration": content.insurer.registration,
        },
        "insured": {"name": content.insured.name, "siren_siret": content.insured.siren_siret},
        "insured_object": content.insured_object,
        "place": content.place,
        "geofence": content.geofence,
        "period": {
            "start": _instant(content.period.start),
            "end": _instant(content.period.end),
            "timezone": content.timezone,
        },
        "sums_insured": [_line(line) for line in content.sums_insured],
        "deductibles": [_line(line) for line in content.deductibles],
        "exclusions": list(content.exclusions),
        "product": {
            "id": content.product.product_id,
            "version": content.product.version,
            "terms_sha256": content.product.terms_sha256,
        },
        "price": {
            "total": f"{content.price.total.amount}",
            "taxes": f"{content.price.taxes.amount}",
            "currency": content.price.total.currency,
        },
    }


def canonical_bytes(content: CertificateContent) -> bytes:
    """Deterministic JSON bytes of the content: the exact bytes that are hashed and signed."""
    return json.dumps(
        canonical_dict(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def content_sha256(content: CertificateContent | bytes) -> str:
    """SHA-256 (hex) of the canonical bytes (or of bytes already canonical)."""
    data = content if isinstance(content, bytes) else canonical_bytes(content)
    return hashlib.sha256(data).hexdigest()


def _section(data: Mapping[str, Any], key: str, keys: set[str], path: str) -> Mapping[str, Any]:
    value = data.get(key)
    where = f"{path}{key}"
    if not isinstance(value, Mapping):
        raise InvalidInput("expected an object", field=where)
    _exact_keys(value, keys, where)
    return value


def _exact_keys(data: Mapping[str, Any], keys: set[str], where: str) -> None:
    missing = sorted(keys - set(data))
    extra = sorted(set(data) - keys)
    if missing:
        raise InvalidInput(f"missing {', '.join(missing)}", field=where or missing[0])
    if extra:
        raise InvalidInput(f"unexpected {', '.join(extra)}", field=where or extra[0])


def _list(data: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise InvalidInput("expected a list", field=key)
    return value


def _amount_line(item: object, where: str) -> AmountLine:
    if not isinstance(item, Mapping):
        raise InvalidInput("expected an object", field=where)
    _exact_keys(item, {"label", "amount", "currency"}, where)
    return AmountLine(
        str(item["label"]),
        Money(to_decimal(item["amount"], field=f"{where}.amount"), str(item["currency"])),
    )


def content_from_dict(data: Mapping[str, Any]) -> CertificateContent:
    """Rebuild content from :func:`canonical_dict`'s shape (strict: no missing or extra key)."""
    top = {
        "schema",
        "number",
        "policy_number",
        "language",
        "issued_at",
        "insurer",
        "insured",
        "insured_object",
        "place",
        "geofence",
        "period",
        "sums_insured",
        "deductibles",
        "exclusions",
        "product",
        "price",
    }
    _exact_keys(data, top, "")
    if data["schema"] != CERTIFICATE_SCHEMA:
        raise InvalidInput(f"unsupported certificate schema {data['schema']!r}", field="schema")
    insurer = _section(data, "insurer", {"name", "address", "registration"}, "")
    insured = _section(data, "insured", {"name", "siren_siret"}, "")
    period = _section(data, "period", {"start", "end", "timezone"}, "")
    product = _section(data, "product", {"id", "version", "terms_sha256"}, "")
    price = _section(data, "price", {"total", "taxes", "currency"}, "")
    currency = str(price["currency"])
    language = data["language"]
    if language not in ("fr", "en"):
        raise InvalidInput("language must be fr or en", field="language")
    return CertificateContent(
        number=str(data["number"]),
        policy_number=data["policy_number"],
        insurer=Insurer(insurer["name"], insurer["address"], insurer["registration"]),
        insured=Insured(insured["name"], insured["siren_siret"]),
        insured_object=data["insured_object"],
        place=data["place"],
        geofence=data["geofence"],
        period=Window(
            parse_instant(str(period["start"]), field="period.start"),
            parse_instant(str(period["end"]), field="period.end"),
        ),
        timezone=str(period["timezone"]),
        sums_insured=tuple(
            _amount_line(item, f"sums_insured[{i}]")
            for i, item in enumerate(_list(data, "sums_insured"))
        ),
        deductibles=tuple(
            _amount_line(item, f"deductibles[{i}]")
            for i, item in enumerate(_list(data, "deductibles"))
        ),
        exclusions=tuple(_list(data, "exclusions")),
        product=ProductTerms(
            str(product["id"]), str(product["version"]), str(product["terms_sha256"])
        ),
        price=PricePaid(
            Money(to_decimal(price["total"], field="price.total"), currency),
            Money(to_decimal(price["taxes"], field="price.taxes"), currency),
        ),
        issued_at=parse_instant(str(data["issued_at"]), field="issued_at"),
        language=cast(Language, language),
    )


def content_from_canonical(data: bytes) -> CertificateContent:
    """Parse canonical bytes back into content (e.g. bytes extracted from a PDF)."""
    try:
        parsed = json.loads(data.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput(
            "the certificate content is not valid UTF-8 JSON", field="content"
        ) from e
    if not isinstance(parsed, dict):
        raise InvalidInput("the certificate content must be a JSON object", field="content")
    return content_from_dict(parsed)


# --- display helpers (shared by the PDF and the verification page) ---------------------------


def format_local(instant: datetime, timezone: str = "Europe/Paris") -> str:
    """``30/03/2025 01:30 (UTC+01:00)``: wall-clock time in ``timezone`` with its offset."""
    local = to_local(instant, _zone(timezone))
    offset = local.strftime("%z")
    return f"{local:%d/%m/%Y %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def format_money(money: Money, lang: Language = "fr") -> str:
    """``1 234,56 €`` in French, ``€1,234.56`` in English (other currencies by their code)."""
    grouped = f"{money.amount.quantize(CENT):,.2f}"
    if lang == "fr":
        text = grouped.replace(",", "\u202f").replace(".", ",")
        return f"{text}\u00a0€" if money.currency == "EUR" else f"{text}\u00a0{money.currency}"
    return f"€{grouped}" if money.currency == "EUR" else f"{grouped} {money.currency}"


def format_duration(duration: timedelta, lang: Language = "fr") -> str:
    """``3 h``, ``2 h 30 min``, ``1 j 4 h`` (``1 d 4 h`` in English): real elapsed time."""
    minutes = int(duration.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} {'j' if lang == 'fr' else 'd'}")
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


# --- verification decision -------------------------------------------------------------------


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
