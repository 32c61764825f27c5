"""A subscription: a customer takes an on-demand product once, with options; windows follow.

The customer chooses the unit (hour, day or act among the product's offer), the sum insured and
deductible **options**, the other risk fields of the product (equipment kind, kind of event…), the
insured items (objects, a liability activity or a place; each with a reference the windows name)
and, for a place cover, a geofence reference. The **terms snapshot** is the canonical JSON
(sorted keys, compact, UTF-8) of the product file's content, the on-demand terms file's content and
the options chosen; its SHA-256 is stored with the subscription and shown on certificates, so the
exact terms accepted stay provable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from polis.kernel.errors import InvalidInput
from polis.kernel.time import ensure_utc, to_local
from polis.ondemand.customers import Customer, check_verified
from polis.ondemand.limits import CustomerLimits, check_sum_insured
from polis.ondemand.terms import OnDemandTerms, Option, Scope, TermsEntry
from polis.policies.catalogue import CatalogueEntry
from polis.policies.product import Product
from polis.policies.risk import RiskValue, resolve_risk
from polis.rating.pure import Unit

__all__ = [
    "InsuredItem",
    "Subscription",
    "SubscriptionChoice",
    "TermsSnapshot",
    "canonical_json",
    "chosen_option",
    "rating_risk",
    "subscribe",
    "terms_snapshot",
]


@dataclass(frozen=True, slots=True)
class InsuredItem:
    """What a window covers: an object (a drone, a camera kit), a liability activity, or a place.

    ``ref`` is unique within the subscription (windows and overlaps are counted per ``ref``).
    """

    ref: str
    description: str
    serial: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionChoice:
    unit: Unit
    items: tuple[InsuredItem, ...]
    sum_insured: Decimal | None = None  # None: the terms' default option
    deductible: Decimal | None = None
    risk: Mapping[str, object] = field(default_factory=dict)
    geofence_ref: str | None = None


@dataclass(frozen=True, slots=True)
class TermsSnapshot:
    content: Mapping[str, Any]
    text: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    customer_id: str
    product_id: str
    product_version: str
    product_sha256: str
    terms_sha256: str
    scope: Scope
    unit: Unit
    sum_insured: Decimal
    deductible: Decimal
    risk: Mapping[str, RiskValue]
    items: tuple[InsuredItem, ...]
    geofence_ref: str | None
    accepted_at: datetime
    snapshot: TermsSnapshot

    def item(self, ref: str | None) -> InsuredItem:
        """The item named ``ref`` (None: the only one)."""
        if ref is None:
            if len(self.items) == 1:
                return self.items[0]
            refs = ", ".join(i.ref for i in self.items)
            raise InvalidInput(f"name the insured item: one of {refs}", field="object_ref")
        for item in self.items:
            if item.ref == ref:
                return item
        refs = ", ".join(i.ref for i in self.items)
        raise InvalidInput(
            f"no insured item {ref!r} in subscription {self.id} (items: {refs})",
            field="object_ref",
        )


def canonical_json(data: Mapping[str, Any]) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 text; decimals and dates as strings."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chosen_option(option: Option, value: Decimal | None, field_name: str) -> Decimal:
    """The option chosen (None: the default); one not offered is refused naming ``field_name``."""
    chosen = option.default if value is None else value
    if chosen not in option.options:
        offered = ", ".join(option.risk_value(o) for o in option.options)
        raise InvalidInput(f"{chosen} is not an option; options: {offered}", field=field_name)
    return chosen


def rating_risk(
    terms: OnDemandTerms,
    risk: Mapping[str, object],
    *,
    unit: Unit,
    quantity: Decimal | int,
    sum_insured: Decimal,
    deductible: Decimal,
) -> dict[str, object]:
    """The risk the product's tariff rates: the choices + unit, quantity and the options' fields."""
    reserved = {terms.quantity_field, terms.unit_field, terms.sum_insured.field}
    reserved |= {terms.deductible.field}
    for name in risk:
        if name in reserved:
            raise InvalidInput(
                "set by the window or the options, not in the risk", field=f"risk.{name}"
            )
    data: dict[str, object] = dict(risk)
    data[terms.quantity_field] = quantity if isinstance(quantity, int) else str(quantity)
    if terms.unit_field is not None:
        data[terms.unit_field] = unit.value
    if terms.sum_insured.field is not None:
        data[terms.sum_insured.field] = terms.sum_insured.risk_value(sum_insured)
    if terms.deductible.field is not None:
        data[terms.deductible.field] = terms.deductible.risk_value(deductible)
    return data


def terms_snapshot(
    entry: CatalogueEntry, terms: TermsEntry, options: Mapping[str, Any]
) -> TermsSnapshot:
    """The canonical JSON of the terms shown (product + on-demand terms) and the options chosen."""
    product = entry.product.model_dump(mode="json")
    content = {
        "product": {
            "id": entry.product.id,
            "version": entry.product.version,
            "sha256": entry.sha256,
            "terms": product,
        },
        "ondemand": {"sha256": terms.sha256, "terms": dict(terms.data)},
        "options": dict(options),
    }
    text = canonical_json(content)
    parsed: Mapping[str, Any] = json.loads(text)
    return TermsSnapshot(parsed, text, hashlib.sha256(text.encode("utf-8")).hexdigest())


def _check_product_valid(product: Product, at: datetime) -> None:
    day = to_local(at).date()
    if day < product.valid_from or (product.valid_until is not None and day >= product.valid_until):
        raise InvalidInput(
            f"product {product.id} {product.version} is not sold on {day}", field="product"
        )


def subscribe(
    subscription_id: str,
    customer: Customer,
    limits: CustomerLimits,
    entry: CatalogueEntry,
    terms: TermsEntry,
    choice: SubscriptionChoice,
    *,
    accepted_at: datetime,
) -> Subscription:
    """Check the customer, the options, the items and the risk; snapshot and hash the terms.

    Refusals: ``customer.not_verified``, ``limit.sum_insured_exceeded`` (field ``sum_insured``);
    ``InvalidInput`` naming ``unit``, ``sum_insured``, ``deductible``, ``items``,
    ``geofence_ref`` or ``risk.<field>``.
    """
    product, spec = entry.product, terms.terms
    if (spec.product, spec.product_version) != (product.id, product.version):
        raise InvalidInput("these on-demand terms belong to another product", field="product")
    moment = ensure_utc(accepted_at, field="accepted_at")
    _check_product_valid(product, moment)
    check_verified(customer)
    if choice.unit not in spec.units:
        offered = ", ".join(u.value for u in spec.units)
        raise InvalidInput(f"this product is sold per {offered}", field="unit")
    sum_insured = chosen_option(spec.sum_insured, choice.sum_insured, "sum_insured")
    deductible = chosen_option(spec.deductible, choice.deductible, "deductible")
    check_sum_insured(limits, sum_insured, liability=spec.scope is Scope.LIABILITY)
    if not choice.items:
        raise InvalidInput("name at least one insured item", field="items")
    refs = [i.ref for i in choice.items]
    for i, item in enumerate(choice.items):
        if not item.ref.strip() or not item.description.strip():
            raise InvalidInput("an item has a reference and a description", field=f"items[{i}]")
    if len(set(refs)) != len(refs):
        raise InvalidInput(f"item references must be unique: {refs}", field="items")
    if spec.geofence_required and not choice.geofence_ref:
        raise InvalidInput("a place cover needs the geofence of the place", field="geofence_ref")
    quantity = 1
    full = rating_risk(
        spec,
        choice.risk,
        unit=choice.unit,
        quantity=quantity,
        sum_insured=sum_insured,
        deductible=deductible,
    )
    resolved = resolve_risk(product, full)
    own = {
        k: v
        for k, v in resolved.items()
        if k not in {spec.quantity_field, spec.unit_field, spec.sum_insured.field}
        and k != spec.deductible.field
    }
    options = {
        "scope": spec.scope.value,
        "unit": choice.unit.value,
        "sum_insured": str(sum_insured),
        "deductible": str(deductible),
        "risk": {k: (list(v) if isinstance(v, tuple) else v) for k, v in own.items()},
        "items": [
            {"ref": i.ref, "description": i.description, "serial": i.serial, "address": i.address}
            for i in choice.items
        ],
        "geofence_ref": choice.geofence_ref,
    }
    snapshot = terms_snapshot(entry, terms, options)
    return Subscription(
        subscription_id,
        customer.id,
        product.id,
        product.version,
        entry.sha256,
        terms.sha256,
        spec.scope,
        choice.unit,
        sum_insured,
        deductible,
        own,
        choice.items,
        choice.geofence_ref,
        moment,
        snapshot,
    )
