"""On-demand subscriptions: a customer takes a product once, with options and insured items.

``subscribe`` checks everything with :func:`polis.ondemand.subscription.subscribe` (verified
customer, options offered, limits, items, geofence reference, risk), stores the **terms snapshot**
exactly as accepted (canonical JSON) with its SHA-256, and registers **one policy per insured
item** through :func:`polis.services.policies.add_policy` (the claims side's narrow interface):
each cover of the product, its perils, exclusions and money terms, and — kept up to date by the
window use cases — the item's windows (``polis.ondemand.policy_terms``). All in one transaction.

:func:`load_context` gives the window use cases what they need about a subscription: the domain
subscription and customer, the catalogue entry, the on-demand terms and the rate card (cached by
terms snapshot: the same snapshot always gives the same card).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from threading import Lock
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from polis.calc._base import parse_request
from polis.kernel.errors import InvalidInput, NotFound
from polis.kernel.time import ensure_utc, to_local, utc_now
from polis.ondemand.customers import Customer
from polis.ondemand.limits import limits_for
from polis.ondemand.policy_terms import policy_covers, policy_holder
from polis.ondemand.rates import RateCard, subscription_rate_card
from polis.ondemand.subscription import (
    InsuredItem,
    Subscription,
    SubscriptionChoice,
    TermsSnapshot,
    subscribe,
)
from polis.ondemand.terms import Scope, TermsEntry, default_terms
from polis.ondemand.withdrawal import SaleChannel, WithdrawalRefused
from polis.policies.catalogue import CatalogueEntry, default_catalogue
from polis.rating.pure import Unit
from polis.services import audit
from polis.services.ondemand_customers import customer_history, customer_of, require_customer
from polis.services.ondemand_withdrawal_terms import WithdrawalTermsView, withdrawal_terms
from polis.services.policies import PolicyIn, add_policy
from polis.store.tables_ondemand import OnDemandCustomerRow, OnDemandSubscriptionRow
from polis.store.uow import UnitOfWork

__all__ = [
    "ExclusionView",
    "ItemIn",
    "SubscriptionContext",
    "SubscriptionIn",
    "SubscriptionView",
    "create_subscription",
    "get_subscription",
    "load_context",
    "subscription_of",
    "subscription_view",
    "terms_snapshot_text",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemIn(_Strict):
    ref: str = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$", examples=["camera-1"])
    description: str = Field(min_length=1, max_length=200, examples=["Canon EOS R6 kit"])
    serial: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)


class SubscriptionIn(_Strict):
    """``POST /v1/subscriptions`` body and ``polis subscribe`` input."""

    customer_id: str = Field(min_length=1, max_length=20, examples=["CUS-2026-000001"])
    product: str = Field(min_length=1, max_length=64, examples=["equipment-micro"])
    version: str | None = Field(default=None, max_length=32, examples=["2025.1"])
    unit: Unit = Field(examples=["hour"])
    items: list[ItemIn] = Field(min_length=1, max_length=50)
    sum_insured: Decimal | None = Field(default=None, examples=["1000"])
    deductible: Decimal | None = None
    risk: dict[str, Any] = Field(default_factory=dict, examples=[{"equipment": "camera"}])
    geofence_ref: str | None = Field(default=None, max_length=200)
    sale_channel: SaleChannel = Field(
        default=SaleChannel.DISTANCE,
        description="how the contract was sold: `distance` (API, web: L112-2-1) or `doorstep` "
        "(L112-9); it decides the right of withdrawal",
    )
    terms_received_at: datetime | None = Field(
        default=None,
        description="when the insured received the contractual terms, if after the "
        "subscription (distance selling: the withdrawal period runs from then)",
    )


class ExclusionView(_Strict):
    id: str
    title: str
    text: str
    covered: str
    not_covered: str


class SubscriptionView(_Strict):
    id: str
    customer_id: str
    product: str
    product_version: str
    scope: Scope
    unit: Unit
    sum_insured: str
    deductible: str
    risk: dict[str, Any]
    items: list[dict[str, Any]]
    geofence_ref: str | None
    accepted_at: datetime
    terms_sha256: str = Field(description="SHA-256 of the terms snapshot as accepted")
    product_sha256: str
    ondemand_terms_sha256: str
    policies: dict[str, str] = Field(description="insured item → its policy (claims attach to it)")
    exclusions: list[ExclusionView]
    withdrawal: WithdrawalTermsView | None = Field(
        default=None, description="the right of withdrawal and its deadline"
    )


@dataclass(frozen=True, slots=True)
class SubscriptionContext:
    """A subscription loaded for a use case: rows, domain objects, terms and rate card."""

    row: OnDemandSubscriptionRow
    customer_row: OnDemandCustomerRow
    subscription: Subscription
    customer: Customer
    entry: CatalogueEntry
    terms: TermsEntry
    card: RateCard
    has_geofence: bool  # as read (and locked) with the subscription

    @property
    def tenant_id(self) -> str:
        return self.row.tenant_id

    @property
    def language(self) -> Literal["fr", "en"]:
        return "en" if self.customer_row.language == "en" else "fr"

    def policy_of(self, object_ref: str) -> str:
        policies: dict[str, str] = json.loads(self.row.policies)
        return policies[object_ref]


_CARDS: OrderedDict[str, RateCard] = OrderedDict()
_CARDS_LOCK = Lock()
_CARDS_MAX = 1024


def _card(entry: CatalogueEntry, terms: TermsEntry, subscription: Subscription) -> RateCard:
    key = subscription.snapshot.sha256
    with _CARDS_LOCK:
        if key in _CARDS:
            _CARDS.move_to_end(key)
            return _CARDS[key]
    card = subscription_rate_card(entry.product, terms.terms, subscription)
    with _CARDS_LOCK:
        _CARDS[key] = card
        while len(_CARDS) > _CARDS_MAX:
            _CARDS.popitem(last=False)
    return card


def subscription_of(row: OnDemandSubscriptionRow) -> Subscription:
    """The domain subscription of a row (the snapshot as stored)."""
    items = tuple(
        InsuredItem(i["ref"], i["description"], i.get("serial"), i.get("address"))
        for i in json.loads(row.items)
    )
    return Subscription(
        id=row.id,
        customer_id=row.customer_id,
        product_id=row.product_id,
        product_version=row.product_version,
        product_sha256=row.product_sha256,
        terms_sha256=row.ondemand_sha256,
        scope=Scope(row.scope),
        unit=Unit(row.unit),
        sum_insured=row.sum_insured,
        deductible=row.deductible,
        risk=json.loads(row.risk),
        items=items,
        geofence_ref=row.geofence_ref,
        accepted_at=row.accepted_at,
        snapshot=TermsSnapshot(
            json.loads(row.terms_snapshot), row.terms_snapshot, row.terms_sha256
        ),
    )


def load_context(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    *,
    for_update: bool = False,
    allow_withdrawn: bool = False,
) -> SubscriptionContext:
    """The subscription ``subscription_id`` of ``tenant_id`` (``subscription.not_found``).

    Loaded for a change (``for_update``), a withdrawn subscription is refused
    (``subscription.withdrawn``, 409): nothing opens or moves cover on it any more.
    """
    found = uow.ondemand.subscription_and_customer(
        tenant_id, subscription_id.strip(), for_update=for_update
    )
    if found is None:
        raise NotFound(
            f"no subscription {subscription_id!r}",
            field="subscription_id",
            code="subscription.not_found",
        )
    row, customer_row, has_geofence = found
    if for_update and row.withdrawn_at is not None and not allow_withdrawn:
        raise WithdrawalRefused(
            f"subscription {row.id} was withdrawn on {to_local(row.withdrawn_at):%Y-%m-%d %H:%M}",
            field="subscription_id",
            code="subscription.withdrawn",
        )
    subscription = subscription_of(row)
    entry = default_catalogue().get(row.product_id, row.product_version)
    terms = default_terms().get(row.product_id, row.product_version)
    return SubscriptionContext(
        row,
        customer_row,
        subscription,
        customer_of(customer_row),
        entry,
        terms,
        _card(entry, terms, subscription),
        has_geofence,
    )


def _exclusions(terms: TermsEntry, lang: str) -> list[ExclusionView]:
    return [
        ExclusionView(
            id=e.id,
            title=e.title.fr if lang == "fr" else e.title.en,
            text=e.text.fr if lang == "fr" else e.text.en,
            covered=e.covered.fr if lang == "fr" else e.covered.en,
            not_covered=e.not_covered.fr if lang == "fr" else e.not_covered.en,
        )
        for e in terms.terms.exclusions
    ]


def subscription_view(
    row: OnDemandSubscriptionRow, language: str = "fr", *, customer_kind: str | None = None
) -> SubscriptionView:
    """The subscription as answered; with ``customer_kind``, its right of withdrawal too."""
    terms = default_terms().get(row.product_id, row.product_version)
    return SubscriptionView(
        id=row.id,
        customer_id=row.customer_id,
        product=row.product_id,
        product_version=row.product_version,
        scope=Scope(row.scope),
        unit=Unit(row.unit),
        sum_insured=f"{row.sum_insured:.2f}",
        deductible=f"{row.deductible:.2f}",
        risk=json.loads(row.risk),
        items=json.loads(row.items),
        geofence_ref=row.geofence_ref,
        accepted_at=row.accepted_at,
        terms_sha256=row.terms_sha256,
        product_sha256=row.product_sha256,
        ondemand_terms_sha256=row.ondemand_sha256,
        policies=json.loads(row.policies),
        exclusions=_exclusions(terms, language),
        withdrawal=None if customer_kind is None else withdrawal_terms(row, customer_kind),
    )


#: the terms are handed over with the subscription or soon after (by post at the latest)
_TERMS_RECEIPT_WINDOW = timedelta(days=30)


def _terms_received_at(given: SubscriptionIn, accepted_at: datetime) -> datetime | None:
    """When the terms were received, if later than the subscription: at most 30 days later."""
    if given.terms_received_at is None:
        return None
    received = ensure_utc(given.terms_received_at, field="terms_received_at")
    if received > accepted_at + _TERMS_RECEIPT_WINDOW:
        raise InvalidInput(
            "the terms are received at the latest 30 days after the subscription",
            field="terms_received_at",
        )
    return received


def create_subscription(
    uow: UnitOfWork,
    tenant_id: str,
    payload: SubscriptionIn | dict[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
) -> SubscriptionView:
    """Subscribe a verified customer to an on-demand product (audited ``subscription.created``)."""
    given = parse_request(SubscriptionIn, payload)
    moment = ensure_utc(now, field="now") if now is not None else utc_now()
    entry = default_catalogue().get(given.product, given.version, as_of=to_local(moment).date())
    terms = default_terms().get(entry.product.id, entry.product.version)
    choice = SubscriptionChoice(
        unit=given.unit,
        items=tuple(
            InsuredItem(i.ref.strip(), i.description.strip(), i.serial, i.address)
            for i in given.items
        ),
        sum_insured=given.sum_insured,
        deductible=given.deductible,
        risk=given.risk,
        geofence_ref=given.geofence_ref,
    )
    with uow:
        customer_row = require_customer(uow, tenant_id, given.customer_id)
        customer = customer_of(customer_row)
        limits = limits_for(customer, customer_history(uow, customer_row, moment), at=moment)
        subscription_id = str(uow.ids.next("SUB", moment.year))
        subscription = subscribe(
            subscription_id, customer, limits, entry, terms, choice, accepted_at=moment
        )
        card = _card(entry, terms, subscription)  # refuses a risk the tariff cannot rate
        del card
        policies: dict[str, str] = {}
        for item in subscription.items:
            covers = policy_covers(
                entry.product, terms.terms, subscription, (), lang=customer_row.language
            )
            policy = add_policy(
                uow,
                tenant_id,
                PolicyIn(
                    holder=policy_holder(customer.name, item),
                    product=entry.product.id,
                    product_version=entry.product.version,
                    covers=covers,
                ),
                actor,
            )
            policies[item.ref] = policy.id
        row = OnDemandSubscriptionRow(
            id=subscription.id,
            tenant_id=tenant_id,
            customer_id=customer.id,
            product_id=subscription.product_id,
            product_version=subscription.product_version,
            product_sha256=subscription.product_sha256,
            ondemand_sha256=subscription.terms_sha256,
            terms_sha256=subscription.snapshot.sha256,
            terms_snapshot=subscription.snapshot.text,
            scope=subscription.scope.value,
            unit=subscription.unit.value,
            sum_insured=subscription.sum_insured,
            deductible=subscription.deductible,
            risk=audit.canonical_json(
                {k: (list(v) if isinstance(v, tuple) else v) for k, v in subscription.risk.items()}
            ),
            items=audit.canonical_json(
                [
                    {
                        "ref": i.ref,
                        "description": i.description,
                        "serial": i.serial,
                        "address": i.address,
                    }
                    for i in subscription.items
                ]
            ),
            geofence_ref=subscription.geofence_ref,
            policies=audit.canonical_json(policies),
            accepted_at=moment,
            sale_channel=given.sale_channel.value,
            terms_received_at=_terms_received_at(given, moment),
        )
        uow.ondemand.add(row)
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="subscription.created",
            entity_type="subscription",
            entity_id=row.id,
            data={
                "customer": customer.id,
                "product": row.product_id,
                "version": row.product_version,
                "terms_sha256": row.terms_sha256,
                "policies": policies,
            },
            at=moment,
        )
        view = subscription_view(row, customer_row.language, customer_kind=customer_row.kind)
        uow.commit()
    return view


def get_subscription(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> SubscriptionView:
    with uow:
        context = load_context(uow, tenant_id, subscription_id)
        return subscription_view(
            context.row, context.customer_row.language, customer_kind=context.customer_row.kind
        )


def terms_snapshot_text(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> tuple[str, str]:
    """The terms snapshot exactly as accepted (canonical JSON text) and its SHA-256."""
    with uow:
        context = load_context(uow, tenant_id, subscription_id)
        return context.row.terms_snapshot, context.row.terms_sha256
