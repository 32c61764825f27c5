"""What the certificate of an on-demand window states (pure): every mention of the spec, built
from the subscription, the customer, the item, the window and what was paid for it.

- insured: the customer's name, and the SIRET (else the SIREN) of a business;
- insured object or activity: the item's description (and serial number); the place: the item's
  address (or the customer's address for a place cover without one); the geofence reference;
- period: the window ``[start, end)`` shown in Europe/Paris;
- sums insured: the sum insured (object, place) or the liability limit; deductibles: the option;
- main exclusions: the terms' exclusions in plain words (title: text), at most ten;
- product id, version and the SHA-256 of the accepted terms snapshot; price paid for the window
  (taxes included) and the taxes in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from polis.kernel.money import Money
from polis.kernel.time import Window
from polis.ondemand.customers import Customer, CustomerKind
from polis.ondemand.subscription import InsuredItem, Subscription
from polis.ondemand.terms import OnDemandTerms, Scope
from polis.policies.certificate import (
    AmountLine,
    CertificateContent,
    Insured,
    Insurer,
    Language,
    PricePaid,
    ProductTerms,
)

__all__ = ["certificate_content"]

_LABELS: dict[Language, dict[str, str]] = {
    "fr": {
        "sum_insured": "Somme assurée",
        "limit": "Plafond de garantie (responsabilité civile)",
        "deductible": "Franchise par sinistre",
        "serial": "n° de série",
    },
    "en": {
        "sum_insured": "Sum insured",
        "limit": "Limit of liability",
        "deductible": "Deductible per claim",
        "serial": "serial no.",
    },
}
_MAX_TEXT = 300


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1].rstrip() + "…"


def certificate_content(
    *,
    number: str,
    policy_number: str,
    insurer: Insurer,
    customer: Customer,
    subscription: Subscription,
    item: InsuredItem,
    terms: OnDemandTerms,
    period: Window,
    price_total: Decimal,
    price_taxes: Decimal,
    issued_at: datetime,
    language: Language = "fr",
    geofence: str | None = None,
) -> CertificateContent:
    """The content to sign for one window (see the module docstring)."""
    labels = _LABELS[language]
    identifier = (
        customer.siret or customer.siren if customer.kind is CustomerKind.BUSINESS else None
    )
    insured_object = item.description
    if item.serial:
        insured_object += f" ({labels['serial']} {item.serial})"
    place = item.address
    if place is None and subscription.scope is Scope.PLACE:
        place = customer.address.one_line()
    limit = subscription.scope is Scope.LIABILITY
    sums = (
        AmountLine(labels["limit" if limit else "sum_insured"], Money(subscription.sum_insured)),
    )
    deductibles: Sequence[AmountLine] = (
        (AmountLine(labels["deductible"], Money(subscription.deductible)),)
        if subscription.deductible > 0
        else ()
    )
    exclusions = tuple(
        _clip(f"{e.title.fr} : {e.text.fr}" if language == "fr" else f"{e.title.en}: {e.text.en}")
        for e in terms.exclusions[:10]
    )
    return CertificateContent(
        number=number,
        policy_number=policy_number,
        insurer=insurer,
        insured=Insured(customer.name, identifier),
        insured_object=_clip(insured_object),
        period=period,
        sums_insured=sums,
        deductibles=tuple(deductibles),
        exclusions=exclusions,
        product=ProductTerms(
            subscription.product_id, subscription.product_version, subscription.snapshot.sha256
        ),
        price=PricePaid(Money(price_total), Money(price_taxes)),
        issued_at=issued_at,
        place=_clip(place) if place else None,
        geofence=_clip(geofence) if geofence else None,
        language=language,
    )
