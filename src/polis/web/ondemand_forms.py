"""Pure helpers of the on-demand pages: posted forms → service payloads, the prices shown before
buying, and errors in plain words.

* :func:`signup_payload`, :func:`subscription_payload`, :func:`activation_payload` turn the posted
  forms into the bodies of the partner API's use cases (``CustomerIn``, ``SubscriptionIn``,
  ``ActivationIn``); the services validate them once, and their errors name a field that
  :func:`input_of` maps back to the form's input.
* :func:`price_card` gives what a product costs per hour / day / round, taxes included, with the
  minimum charge, the daily cap and the activation fee — from the product's own tariff and taxes
  (:func:`polis.ondemand.rates.price_contract_for`, the engine every window is priced with).
* :func:`error_text` says a service error in the interface language (``ondemand.error.<code>``
  with the error's data), else gives the service's own message.

Local times are Europe/Paris wall-clock times (``<input type="datetime-local">``): a time in the
spring gap does not exist and is refused naming its field; an autumn time lived twice is its first
occurrence (:func:`polis.ondemand.windows.parse_when`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from polis.kernel.errors import InvalidInput, PolisError
from polis.kernel.money import round_money
from polis.kernel.time import local_midnight, to_local
from polis.ondemand.rates import RateCard, price_contract_for
from polis.ondemand.terms import OnDemandTerms
from polis.policies.product import Product
from polis.rating.pure import Unit
from polis.web.i18n import Lang
from polis.web.quote_form import Formatter, FormField, form_fields, normalise_number, parse_risk

__all__ = [
    "REFERENCE_RISK",
    "PriceCard",
    "PureNote",
    "UnitPrice",
    "activation_payload",
    "error_text",
    "input_of",
    "item_ref",
    "local_input",
    "option_fields",
    "price_card",
    "pure_note",
    "reference_risk",
    "signup_payload",
    "subscription_payload",
]

#: the example profile each demo product is priced for on the catalogue page
REFERENCE_RISK: Mapping[str, Mapping[str, Any]] = {
    "equipment-micro": {"equipment": "camera"},
    "event-liability-day": {"event": "photo_shoot", "attendees": 40},
    "warehouse-goods-day": {"goods": "dry_goods"},
    "delivery-rounds-weekend": {"vehicle": "bike"},
}
_MAX_HOURS = Decimal(24 * 366)
_MAX_DAYS = 366


def input_of(field: str | None) -> str | None:
    """The form input an error is about: ``address.postcode`` → ``postcode``, ``risk.attendees``
    → ``attendees``, ``items[0].ref`` → ``description`` (the reference is made from it)."""
    if not field:
        return None
    if match := re.fullmatch(r"(?:risk|address)\.([a-z0-9_]+)", field):
        return match.group(1)
    if match := re.fullmatch(r"items\[\d+\]\.([a-z_]+)", field):
        return {"ref": "description"}.get(match.group(1), match.group(1))
    return {"duration": "hours", "ics": "ics", "file": "ics"}.get(field, field.split(".")[0])


def _text(form: Mapping[str, str], name: str) -> str:
    return form.get(name, "").strip()


# --- sign up ------------------------------------------------------------------------------------


def signup_payload(form: Mapping[str, str], lang: Lang) -> dict[str, Any]:
    """The sign-up form → ``CustomerIn`` (a person's SIREN/SIRET inputs are ignored)."""
    kind = _text(form, "kind") or "person"
    if kind not in {"person", "business"}:
        raise InvalidInput("choose a person or a business", field="kind")
    for name in ("name", "email", "activity", "line1", "postcode", "city"):
        if not _text(form, name):
            raise InvalidInput("this field is required", field=name, code="ondemand.required")
    address = {k: _text(form, k) for k in ("line1", "postcode", "city")}
    if _text(form, "line2"):
        address["line2"] = _text(form, "line2")
    payload: dict[str, Any] = {
        "kind": kind,
        "name": _text(form, "name"),
        "activity": _text(form, "activity"),
        "email": _text(form, "email"),
        "address": address,
        "language": lang,
    }
    if kind == "business":
        siren, siret = _text(form, "siren"), _text(form, "siret")
        if not siren and not siret:
            raise InvalidInput(
                "a business gives its SIREN or its SIRET", field="siret", code="ondemand.required"
            )
        payload |= {k: v for k, v in (("siren", siren), ("siret", siret)) if v}
    return payload


# --- choose a product -----------------------------------------------------------------------------


def _slug(text: str, size: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:size].strip("-")


def item_ref(description: str, owner: str = "") -> str:
    """The insured item's reference: its description, then its owner, so that two customers of
    the web tenant insuring "Canon EOS R6" never share a reference (the partner API's cover
    status is asked by reference): ``Canon EOS R6``, ``CUS-2026-000001`` →
    ``canon-eos-r6-cus-2026-000001``."""
    parts = [_slug(description, 40) or "item", _slug(owner, 40)]
    return "-".join(p for p in parts if p)


def controlled_fields(terms: OnDemandTerms) -> set[str]:
    """Risk fields set by the unit, the quantity and the options, never typed by the insured."""
    names = {terms.unit_field, terms.quantity_field, terms.sum_insured.field}
    return {n for n in names | {terms.deductible.field} if n}


def option_fields(
    product: Product, terms: OnDemandTerms, lang: Lang, label: Callable[[str, str], str | None]
) -> list[FormField]:
    """The product's own risk fields the insured chooses (equipment, kind of event…)."""
    hidden = controlled_fields(terms)
    return [f for f in form_fields(product, lang, label) if f.name not in hidden]


def _amount(form: Mapping[str, str], name: str) -> Decimal | None:
    text = normalise_number(form.get(name, ""))
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as e:
        raise InvalidInput(f"not an amount: {text!r}", field=name) from e


def subscription_payload(
    customer_id: str,
    product_id: str,
    version: str,
    terms: OnDemandTerms,
    fields: list[FormField],
    form: Mapping[str, str],
) -> dict[str, Any]:
    """The product form → ``SubscriptionIn`` (one insured item, its reference from its name)."""
    description = _text(form, "description")
    if not description:
        raise InvalidInput("say what is insured", field="description", code="ondemand.required")
    item: dict[str, Any] = {"ref": item_ref(description, customer_id), "description": description}
    for name in ("serial", "address"):
        if _text(form, name):
            item[name] = _text(form, name)
    unit = _text(form, "unit") or terms.units[0].value
    payload: dict[str, Any] = {
        "customer_id": customer_id,
        "product": product_id,
        "version": version,
        "unit": unit,
        "items": [item],
        "sum_insured": _amount(form, "sum_insured"),
        "deductible": _amount(form, "deductible"),
        "risk": parse_risk(fields, form),
        "geofence_ref": _text(form, "geofence_ref") or None,
    }
    if form.get("accept") != "on":
        raise InvalidInput(
            "read the exclusions and accept the terms", field="accept", code="ondemand.accept"
        )
    return payload


def reference_risk(product: Product, terms: OnDemandTerms) -> dict[str, Any]:
    """The example profile a product is priced for before anyone chooses: the demo profile, else
    each field's default, first value or minimum."""
    if product.id in REFERENCE_RISK:
        return dict(REFERENCE_RISK[product.id])
    risk: dict[str, Any] = {}
    for name, spec in product.risk.items():
        if name in controlled_fields(terms) or spec.default is not None or not spec.required:
            continue
        if spec.values:
            risk[name] = spec.values[0]
        elif spec.min is not None:
            risk[name] = int(spec.min) if spec.type == "integer" else str(spec.min)
    return risk


# --- activate -------------------------------------------------------------------------------------


def _positive(form: Mapping[str, str], name: str, top: Decimal) -> Decimal:
    text = normalise_number(form.get(name, ""))
    try:
        value = Decimal(text)
    except InvalidOperation as e:
        raise InvalidInput(f"not a number: {text!r}", field=name) from e
    if not value.is_finite() or value <= 0 or value > top:
        raise InvalidInput(f"between 0 and {top}", field=name, code="ondemand.out_of_range")
    return value


def activation_payload(
    form: Mapping[str, str], unit: Unit, now: datetime, object_ref: str | None = None
) -> dict[str, Any]:
    """The activation forms → ``ActivationIn``.

    ``mode=now``: hours (hour and act units: real elapsed time from now) or days (day units: until
    local midnight after the last day, so "1 day" is today). ``mode=schedule``: a start and an end
    as Europe/Paris wall-clock times, passed as typed (the service refuses a time in the spring
    gap, naming ``start`` or ``end``).
    """
    payload: dict[str, Any] = {"object_ref": object_ref}
    if _text(form, "mode") == "schedule":
        for name in ("start", "end"):
            if not _text(form, name):
                raise InvalidInput("give a date and a time", field=name, code="ondemand.required")
        return payload | {"start": _text(form, "start"), "end": _text(form, "end")}
    if unit is Unit.DAY:
        days = _positive(form, "days", Decimal(_MAX_DAYS))
        if days != days.to_integral_value():
            raise InvalidInput("a whole number of days", field="days")
        today = to_local(now).date()
        end = local_midnight(today + timedelta(days=int(days)))
        return payload | {"end": to_local(end).isoformat()}
    hours = _positive(form, "hours", _MAX_HOURS)
    return payload | {"duration": timedelta(minutes=int(hours * 60))}


def local_input(instant: datetime) -> str:
    """An instant as the value of a ``datetime-local`` input (Europe/Paris, to the minute)."""
    return to_local(instant).strftime("%Y-%m-%dT%H:%M")


# --- prices ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitPrice:
    unit: Unit
    pure: Decimal  # exact pure premium per unit
    total: Decimal  # taxes included (loadings, cat-nat, taxes, contributions), fee excluded


@dataclass(frozen=True, slots=True)
class PriceCard:
    """What a product costs, taxes included, for one risk and options."""

    units: tuple[UnitPrice, ...]
    minimum: Decimal  # the least an activation costs, taxes included, fee excluded
    minimum_pure: Decimal
    day_cap: Decimal | None  # the most one local day costs, taxes included, fee excluded
    fee: Decimal  # the activation fee with its tax (once per object and local day)
    refund_rule: str
    refund_fee: Decimal
    tiers: tuple[tuple[int, Decimal], ...]
    tier_basis: str | None


_SAMPLE = 100  # unit prices are taken from the price of 100 units (per-line rounding washes out)


def _taxed(card: RateCard, pure: Decimal, unit: Unit, count: int, as_of: date) -> Decimal:
    per_year = Decimal(365 if unit is Unit.DAY else 8760)
    contract = price_contract_for(
        card, round_money(pure), due_date=as_of, fee=False, fraction=Decimal(count) / per_year
    )
    return contract.total_premium


def price_card(card: RateCard, terms: OnDemandTerms, as_of: date) -> PriceCard:
    """Unit prices, minimum, daily cap and fee of ``card``, taxes of ``as_of`` included."""
    units = []
    for unit in terms.units:
        rate = card.rate(unit)
        if rate is None:
            continue
        total = _taxed(card, rate * _SAMPLE, unit, _SAMPLE, as_of) / _SAMPLE
        units.append(UnitPrice(unit, rate, round_money(total)))
    first = terms.units[0]
    cap = card.day_cap
    fee = price_contract_for(
        card, Decimal("0.00"), due_date=as_of, fee=True, fraction=Decimal(0)
    ).total_premium
    return PriceCard(
        units=tuple(units),
        minimum=_taxed(card, card.minimum, first, 1, as_of),
        minimum_pure=card.minimum,
        day_cap=None if cap is None else _taxed(card, cap, Unit.DAY, 1, as_of),
        fee=fee,
        refund_rule=terms.refund.rule.value,
        refund_fee=terms.refund.fee,
        tiers=tuple((t.from_, t.discount) for t in terms.volume.tiers) if terms.volume else (),
        tier_basis=terms.volume.basis if terms.volume else None,
    )


@dataclass(frozen=True, slots=True)
class PureNote:
    """How a charge's pure premium was reached: ``quantity × rate = time``, then the minimum."""

    quantity: Decimal  # hours, or local days
    rate: Decimal
    time: Decimal
    pure: Decimal
    minimum: bool  # topped up to the minimum charge


def pure_note(
    entry: Mapping[str, Any], reason: str, prices: PriceCard, unit: Unit
) -> PureNote | None:
    """The pure premium of a charge in words (hour and day units; None for refunds and acts)."""
    rates = {p.unit: p.pure for p in prices.units}
    days = entry.get("days") or []
    if entry.get("kind") != "charge" or unit not in rates or unit is Unit.ACT or not days:
        return None
    pure = sum((Decimal(d["amount"]) for d in days), Decimal(0))
    if unit is Unit.DAY:
        quantity = Decimal(len(days))
    else:
        quantity = sum((Decimal(d["hours"]) for d in days), Decimal(0))
    time = quantity * rates[unit]
    minimum = reason == "activation" and pure == prices.minimum_pure and time < pure
    return PureNote(quantity, rates[unit], time, pure, minimum)


# --- errors ---------------------------------------------------------------------------------------


def error_text(error: PolisError, t: Callable[..., str], fmt: Formatter) -> str:
    """The error in the interface language (``ondemand.error.<code>``), else its own message."""
    key = f"ondemand.error.{error.code}"
    values: dict[str, str] = {}
    for name, value in error.data.items():
        text = str(value)
        values[name] = fmt.number(text) if re.fullmatch(r"-?\d+(\.\d+)?", text) else text
    template = t(key)
    if template == key:
        return error.message
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):  # the error lacks a value the sentence needs
        return error.message
