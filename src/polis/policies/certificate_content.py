"""Certificate content: the value objects a certificate states, validated and normalised on build.

Texts are NFC-normalised and stripped, money is held to whole cents, instants are UTC; see
:mod:`polis.policies.certificate` for how this content is serialised, signed and verified.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from polis.kernel.errors import InvalidInput
from polis.kernel.ids import ReadableId
from polis.kernel.money import CENT, Money, round_money
from polis.kernel.time import Window, ensure_utc

__all__ = [
    "CERTIFICATE_PREFIX",
    "CERTIFICATE_SCHEMA",
    "AmountLine",
    "CertificateContent",
    "Insured",
    "Insurer",
    "Language",
    "PricePaid",
    "ProductTerms",
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
