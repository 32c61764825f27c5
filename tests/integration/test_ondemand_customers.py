"""On-demand customers and subscriptions persisted: onboarding with SIREN/SIRET checks, the
verification table, limits, the terms snapshot and its hash, one policy per item, the audit log,
and tenant isolation."""

from __future__ import annotations

import hashlib
import json

import pytest
from tests.ondemand_fixtures import (
    ACTOR,
    BUSINESS,
    PERSON,
    business,
    new_tenant,
    subscribe,
    utc,
    verified_customer,
)

from polis.kernel.errors import IllegalTransition, InvalidInput, NotFound
from polis.ondemand.customers import Refused
from polis.services import audit, ondemand_customers, ondemand_subscriptions, policies
from polis.store import SqlUnitOfWork

pytestmark = pytest.mark.db

NOW = utc(2026, 6, 10, 8)


@pytest.fixture
def tenant(uow: SqlUnitOfWork) -> str:
    return new_tenant(uow)


def _actions(uow: SqlUnitOfWork, tenant: str) -> list[str]:
    entries = audit.list_entries(uow, tenant, limit=1000)
    return [e.action for e in entries if not e.action.startswith("tenant.")]


def test_a_business_given_by_its_siret_is_onboarded_pending_with_starter_limits(
    uow: SqlUnitOfWork, tenant: str
) -> None:
    customer = ondemand_customers.create_customer(uow, tenant, BUSINESS, ACTOR, now=NOW)
    assert customer.id.startswith("CUS-2026-")
    assert (customer.siren, customer.siret) == ("732829320", "73282932000074")
    assert customer.status == "pending"
    assert customer.limits.tier == "starter"
    assert customer.limits.max_sum_insured == "50000.00"
    assert customer.limits.max_activations_per_day == 3
    assert _actions(uow, tenant) == ["customer.created"]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"siret": "73282932000075"}, "siret", "customer.siret_invalid"),
        ({"siret": None, "siren": "732829321"}, "siren", "customer.siren_invalid"),
        ({"siret": "73282932000074", "siren": "552100554"}, "siret", "customer.siret_invalid"),
        ({"siret": None}, "siren", "input.invalid"),
        (
            {"address": {"line1": "1 rue", "postcode": "6900", "city": "Lyon"}},
            "address.postcode",
            "input.invalid",
        ),
    ],
)
def test_bad_identities_are_refused_naming_the_field(
    uow: SqlUnitOfWork, tenant: str, overrides: dict[str, object], field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        ondemand_customers.create_customer(uow, tenant, business(**overrides), ACTOR, now=NOW)
    assert (raised.value.field, raised.value.code) == (field, code)


def test_la_poste_sirets_pass_by_their_own_rule(uow: SqlUnitOfWork, tenant: str) -> None:
    customer = ondemand_customers.create_customer(
        uow, tenant, business(siret="35600000000001", name="La Poste"), ACTOR, now=NOW
    )
    assert customer.siren == "356000000"


def test_a_person_has_no_siren(uow: SqlUnitOfWork, tenant: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        ondemand_customers.create_customer(
            uow, tenant, PERSON | {"siren": "732829320"}, ACTOR, now=NOW
        )
    assert raised.value.field == "siren"
    person = ondemand_customers.create_customer(uow, tenant, PERSON, ACTOR, now=NOW)
    assert person.limits.max_sum_insured == "3000.00"


def test_verification_follows_the_transition_table(uow: SqlUnitOfWork, tenant: str) -> None:
    customer = ondemand_customers.create_customer(uow, tenant, BUSINESS, ACTOR, now=NOW)
    with pytest.raises(InvalidInput) as raised:
        ondemand_customers.set_verification(
            uow, tenant, customer.id, {"status": "rejected"}, ACTOR, now=NOW
        )
    assert raised.value.field == "reason"
    rejected = ondemand_customers.set_verification(
        uow, tenant, customer.id, {"status": "rejected", "reason": "blurred ID"}, ACTOR, now=NOW
    )
    assert (rejected.status, rejected.status_reason) == ("rejected", "blurred ID")
    with pytest.raises(IllegalTransition):
        ondemand_customers.set_verification(uow, tenant, customer.id, {}, ACTOR, now=NOW)
    ondemand_customers.set_verification(
        uow, tenant, customer.id, {"status": "pending"}, ACTOR, now=NOW
    )
    verified = ondemand_customers.set_verification(uow, tenant, customer.id, {}, ACTOR, now=NOW)
    assert verified.status == "verified"
    assert verified.verified_at == NOW
    assert _actions(uow, tenant) == [
        "customer.created",
        "customer.rejected",
        "customer.pending",
        "customer.verified",
    ]


def test_a_pending_customer_cannot_subscribe(uow: SqlUnitOfWork, tenant: str) -> None:
    customer = ondemand_customers.create_customer(uow, tenant, BUSINESS, ACTOR, now=NOW)
    with pytest.raises(Refused) as raised:
        subscribe(uow, tenant, customer.id, NOW)
    assert raised.value.code == "customer.not_verified"


def test_a_sum_insured_above_the_tier_is_refused_with_the_limit(
    uow: SqlUnitOfWork, tenant: str
) -> None:
    person = verified_customer(uow, tenant, NOW, PERSON)
    with pytest.raises(Refused) as raised:
        subscribe(uow, tenant, person, NOW, sum_insured="10000")
    assert raised.value.code == "limit.sum_insured_exceeded"
    assert raised.value.data == {"limit": "3000", "asked": "10000"}


def test_the_terms_snapshot_is_stored_exactly_with_its_hash_and_a_policy_per_item(
    uow: SqlUnitOfWork, tenant: str
) -> None:
    customer = verified_customer(uow, tenant, NOW)
    items = [
        {"ref": "camera-1", "description": "Canon EOS R6 kit"},
        {"ref": "drone-1", "description": "DJI Mini 4", "serial": "DJ-7"},
    ]
    sub = subscribe(uow, tenant, customer, NOW, items=items, sum_insured="3000")
    text, digest = ondemand_subscriptions.terms_snapshot_text(uow, tenant, sub.id)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == digest == sub.terms_sha256
    snapshot = json.loads(text)
    assert snapshot["options"]["sum_insured"] == "3000"
    assert snapshot["product"]["id"] == "equipment-micro"
    assert snapshot["ondemand"]["sha256"] == sub.ondemand_terms_sha256
    assert sorted(sub.policies) == ["camera-1", "drone-1"]
    policy = policies.get_policy(uow, tenant, sub.policies["drone-1"])
    cover = policy.covers["equipment"]
    assert cover["perils"] == ["accidental_damage", "theft"]
    assert cover["windows"] == []
    assert cover["sum_insured"] == "3000"
    assert cover["deductible"]["amount"] == "50"
    assert {e["code"] for e in cover["exclusions"]} == {"wear", "unattended_vehicle", "lent_out"}
    assert next(x.title for x in sub.exclusions) == "Usure et panne"
    again = subscribe(uow, tenant, customer, NOW, items=items, sum_insured="3000")
    assert again.terms_sha256 == sub.terms_sha256  # same terms and options, same hash
    actions = _actions(uow, tenant)
    assert actions.count("subscription.created") == 2
    assert actions.count("policy.registered") == 4


def test_a_place_cover_needs_its_geofence_reference(uow: SqlUnitOfWork, tenant: str) -> None:
    customer = verified_customer(uow, tenant, NOW)
    with pytest.raises(InvalidInput) as raised:
        subscribe(uow, tenant, customer, NOW, product="warehouse-goods-day", unit="day")
    assert raised.value.field == "geofence_ref"
    sub = subscribe(
        uow,
        tenant,
        customer,
        NOW,
        product="warehouse-goods-day",
        unit="day",
        items=[{"ref": "warehouse", "description": "Entrepôt de Rungis"}],
        geofence_ref="rungis",
    )
    assert sub.scope == "place"
    covers = policies.get_policy(uow, tenant, sub.policies["warehouse"]).covers
    assert sorted(covers) == ["fire", "theft"]


def test_another_tenant_sees_no_customer_and_no_subscription(
    uow: SqlUnitOfWork, tenant: str
) -> None:
    customer = verified_customer(uow, tenant, NOW)
    sub = subscribe(uow, tenant, customer, NOW)
    other = new_tenant(uow)
    with pytest.raises(NotFound) as raised:
        ondemand_customers.get_customer(uow, other, customer)
    assert raised.value.code == "customer.not_found"
    with pytest.raises(NotFound):
        ondemand_customers.set_verification(uow, other, customer, {}, ACTOR, now=NOW)
    with pytest.raises(NotFound) as raised:
        ondemand_subscriptions.get_subscription(uow, other, sub.id)
    assert raised.value.code == "subscription.not_found"
    with pytest.raises(NotFound):
        subscribe(uow, other, customer, NOW)
    assert ondemand_customers.list_customers(uow, other) == []
    assert [c.id for c in ondemand_customers.list_customers(uow, tenant)] == [customer]
