"""Customers of on-demand cover: persons and businesses, identity checks, verification, limits.

- A **business** has a SIREN (9 digits) and, for the establishment, a SIRET (14 digits = SIREN + NIC);
  both carry a Luhn check digit. **La Poste** is the exception: its SIREN (356 000 000) passes Luhn
  but its ~17,000 establishments cannot all get a Luhn-valid SIRET, so INSEE gives them SIRETs whose
  **sum of digits is a multiple of 5** — a SIRET of SIREN 356000000 is valid under either rule.
- **Verification** moves by a transition table (pending → verified | rejected; rejected → pending
  when new documents come; verified → pending when the identity or address changes).
- Refusals are :class:`Refused` errors with a stable ``code`` (``customer.not_verified``,
  ``limit.sum_insured_exceeded``…) and the ``field`` they are about; limits: :mod:`.limits`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from polis.kernel.errors import Conflict, IllegalTransition, InvalidInput
from polis.kernel.time import ensure_utc

__all__ = [
    "LA_POSTE_SIREN",
    "TRANSITIONS",
    "Address",
    "Customer",
    "CustomerKind",
    "Refused",
    "VerificationStatus",
    "check_verified",
    "luhn_valid",
    "new_business",
    "new_person",
    "transition",
    "validate_siren",
    "validate_siret",
]

LA_POSTE_SIREN = "356000000"


class Refused(Conflict):
    """A request refused by a business rule of the customer (status, limits); ``code`` says which."""

    code: ClassVar[str] = "ondemand.refused"


# ------------------------------------------------------------------------------------ identifiers


def luhn_valid(digits: str) -> bool:
    """The Luhn check: from the right, double every second digit (minus 9 above 9); sum % 10 == 0."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _digits(text: str, length: int, field: str, what: str) -> str:
    cleaned = re.sub(r"[\s.\-]", "", text)
    if not re.fullmatch(rf"\d{{{length}}}", cleaned):
        raise InvalidInput(
            f"a {what} has exactly {length} digits, got {text!r}",
            field=field,
            code=f"customer.{what.lower()}_invalid",
        )
    return cleaned


def validate_siren(text: str, *, field: str = "siren") -> str:
    """The SIREN without spaces, or ``InvalidInput`` (``customer.siren_invalid``) naming ``field``."""
    siren = _digits(text, 9, field, "SIREN")
    if not luhn_valid(siren):
        raise InvalidInput(
            f"SIREN {siren} fails the Luhn check digit (mistyped?)",
            field=field,
            code="customer.siren_invalid",
        )
    return siren


def validate_siret(text: str, *, field: str = "siret") -> str:
    """The SIRET without spaces: Luhn on 14 digits, or La Poste's sum-of-digits multiple of 5."""
    siret = _digits(text, 14, field, "SIRET")
    if luhn_valid(siret):
        return siret
    if siret[:9] == LA_POSTE_SIREN and sum(int(c) for c in siret) % 5 == 0:
        return siret
    rule = (
        "neither the Luhn check nor La Poste's rule (sum of digits a multiple of 5)"
        if siret[:9] == LA_POSTE_SIREN
        else "the Luhn check digit (mistyped?)"
    )
    raise InvalidInput(f"SIRET {siret} fails {rule}", field=field, code="customer.siret_invalid")


# ------------------------------------------------------------------------------------- customers


class CustomerKind(StrEnum):
    PERSON = "person"
    BUSINESS = "business"


class VerificationStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


#: status → the statuses it may move to
TRANSITIONS: Mapping[VerificationStatus, frozenset[VerificationStatus]] = {
    VerificationStatus.PENDING: frozenset(
        {VerificationStatus.VERIFIED, VerificationStatus.REJECTED}
    ),
    VerificationStatus.REJECTED: frozenset({VerificationStatus.PENDING}),
    VerificationStatus.VERIFIED: frozenset({VerificationStatus.PENDING}),
}


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; in France the postcode has 5 digits."""

    line1: str
    postcode: str
    city: str
    country: str = "FR"
    line2: str | None = None

    def __post_init__(self) -> None:
        if not self.line1.strip():
            raise InvalidInput("the street address is required", field="address.line1")
        if not self.city.strip():
            raise InvalidInput("the city is required", field="address.city")
        if not re.fullmatch(r"[A-Z]{2}", self.country):
            raise InvalidInput(
                f"a country is an ISO 3166 alpha-2 code (FR), got {self.country!r}",
                field="address.country",
            )
        if self.country == "FR" and not re.fullmatch(r"\d{5}", self.postcode):
            raise InvalidInput(
                f"a French postcode has 5 digits, got {self.postcode!r}", field="address.postcode"
            )

    def one_line(self) -> str:
        parts = [self.line1, self.line2, f"{self.postcode} {self.city}", self.country]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Customer:
    """A person or a business who buys on-demand cover (``siren``/``siret`` for a business)."""

    id: str
    kind: CustomerKind
    name: str
    activity: str
    address: Address
    status: VerificationStatus
    created_at: datetime
    siren: str | None = None
    siret: str | None = None
    verified_at: datetime | None = None
    status_reason: str | None = None

    @property
    def is_verified(self) -> bool:
        return self.status is VerificationStatus.VERIFIED


def _required(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput("this field is required", field=field)
    return value.strip()


def new_person(
    customer_id: str, *, name: str, activity: str, address: Address, created_at: datetime
) -> Customer:
    """A person, pending verification."""
    return Customer(
        customer_id,
        CustomerKind.PERSON,
        _required(name, "name"),
        _required(activity, "activity"),
        address,
        VerificationStatus.PENDING,
        ensure_utc(created_at, field="created_at"),
    )


def new_business(
    customer_id: str,
    *,
    name: str,
    activity: str,
    address: Address,
    siren: str,
    created_at: datetime,
    siret: str | None = None,
) -> Customer:
    """A business, pending verification; its SIRET (when given) must belong to its SIREN."""
    checked_siren = validate_siren(siren)
    checked_siret = validate_siret(siret) if siret is not None else None
    if checked_siret is not None and checked_siret[:9] != checked_siren:
        raise InvalidInput(
            f"SIRET {checked_siret} is not an establishment of SIREN {checked_siren} "
            "(its first 9 digits must be the SIREN)",
            field="siret",
            code="customer.siret_invalid",
        )
    return Customer(
        customer_id,
        CustomerKind.BUSINESS,
        _required(name, "name"),
        _required(activity, "activity"),
        address,
        VerificationStatus.PENDING,
        ensure_utc(created_at, field="created_at"),
        siren=checked_siren,
        siret=checked_siret,
    )


def transition(
    customer: Customer, to: VerificationStatus, *, at: datetime, reason: str | None = None
) -> Customer:
    """The customer in status ``to``; a move the table does not allow raises ``IllegalTransition``.

    Verifying stamps ``verified_at`` (the clock of the limits); leaving ``verified`` clears it.
    A rejection needs a reason (it is shown to the customer).
    """
    if to not in TRANSITIONS[customer.status]:
        allowed = ", ".join(sorted(TRANSITIONS[customer.status])) or "none"
        raise IllegalTransition(
            f"a {customer.status} customer cannot become {to} (allowed: {allowed})",
            field="status",
        )
    if to is VerificationStatus.REJECTED and not (reason and reason.strip()):
        raise InvalidInput("a rejection states its reason", field="reason")
    moment = ensure_utc(at, field="at")
    verified_at = moment if to is VerificationStatus.VERIFIED else None
    return replace(customer, status=to, verified_at=verified_at, status_reason=reason)


def check_verified(customer: Customer) -> None:
    """``customer.not_verified`` unless the customer is verified."""
    if not customer.is_verified:
        raise Refused(
            f"customer {customer.id} is {customer.status}: cover can be bought once the identity "
            "is verified",
            field="customer",
            code="customer.not_verified",
        )
