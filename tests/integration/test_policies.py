"""The policy register: terms validated by the settlement calculator, frozen and fingerprinted."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tests.claim_fixtures import COVER, COVER_TERMS, new_tenant, policy_payload

from polis.kernel.errors import InvalidInput, NotFound
from polis.services import audit, policies
from polis.services.policies import cover_terms_of
from polis.store import SqlUnitOfWork

pytestmark = pytest.mark.db


def test_a_policy_keeps_its_terms_with_their_fingerprint(uow: SqlUnitOfWork) -> None:
    tenant = new_tenant(uow)
    view = policies.register_policy(uow, tenant, policy_payload(), actor="test")
    assert view.id.startswith("POL-")
    assert view.covers == {COVER: COVER_TERMS}
    expected = hashlib.sha256(audit.canonical_json({"covers": view.covers}).encode()).hexdigest()
    assert view.terms_sha256 == expected
    assert policies.get_policy(uow, tenant, view.id) == view
    assert audit.list_entries(uow, tenant)[-1].action == "policy.registered"


def test_the_claims_code_reads_engine_terms_through_the_narrow_interface(
    uow: SqlUnitOfWork,
) -> None:
    tenant = new_tenant(uow)
    policy = policies.register_policy(uow, tenant, policy_payload(), actor="test").id
    with uow:
        terms = cover_terms_of(uow, tenant, policy).cover_terms(COVER)
    assert (terms.policy_id, terms.cover_id) == (policy, COVER)
    assert terms.perils == {"accidental_damage", "theft"}
    assert terms.sum_insured == Decimal("3000")
    assert terms.limits.per_claim == Decimal("2500")
    [window] = terms.windows
    assert window.start == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)  # Paris midnight
    assert terms.declaration_deadlines["theft"].days == 2


def test_on_demand_windows_are_terms_like_any_other(uow: SqlUnitOfWork) -> None:
    tenant = new_tenant(uow)
    windows = [
        {"start": "2026-06-06T08:00:00Z", "end": "2026-06-06T18:00:00Z"},
        {"start": "2026-06-13T08:00:00Z", "end": "2026-06-13T18:00:00Z"},
    ]
    terms = {k: v for k, v in COVER_TERMS.items() if k != "period"} | {"windows": windows}
    policy = policies.register_policy(uow, tenant, policy_payload(day=terms), actor="test").id
    with uow:
        assert len(cover_terms_of(uow, tenant, policy).cover_terms("day").windows) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"colour": "blue"}, "covers.equipment.colour"),
        (
            {"deductible": {"amount": "150", "kind": "sometimes"}},
            "covers.equipment.deductible.kind",
        ),
        (
            {"windows": [{"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}]},
            "covers.equipment.windows",
        ),
        ({"sum_insured": "-5"}, "covers.equipment.sum_insured"),
    ],
)
def test_bad_terms_are_refused_naming_the_cover_and_the_field(
    uow: SqlUnitOfWork, change: dict[str, object], field: str
) -> None:
    tenant = new_tenant(uow)
    with pytest.raises(InvalidInput) as raised:
        policies.register_policy(uow, tenant, policy_payload(equipment=COVER_TERMS | change), "t")
    assert raised.value.field == field


def test_terms_without_perils_are_refused(uow: SqlUnitOfWork) -> None:
    tenant = new_tenant(uow)
    terms = {k: v for k, v in COVER_TERMS.items() if k != "perils"}
    with pytest.raises(InvalidInput) as raised:
        policies.register_policy(uow, tenant, policy_payload(equipment=terms), "t")
    assert raised.value.field == "covers.equipment.perils"


def test_a_policy_of_another_tenant_is_not_found(uow: SqlUnitOfWork) -> None:
    tenant, other = new_tenant(uow), new_tenant(uow)
    policy = policies.register_policy(uow, tenant, policy_payload(), actor="test").id
    with pytest.raises(NotFound) as raised:
        policies.get_policy(uow, other, policy)
    assert raised.value.code == "policy.not_found"
