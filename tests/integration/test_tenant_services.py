"""Tenants and API keys, through the services, on real databases."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from polis.kernel.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from polis.services import audit, tenants
from polis.services.tenants import ApiKeyView, Principal, TenantView
from polis.store import SqlUnitOfWork

pytestmark = pytest.mark.db

KEY_SHAPE = re.compile(r"^polis_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@pytest.fixture
def tenant(uow: SqlUnitOfWork, unique_name: Callable[[str], str]) -> TenantView:
    return tenants.create_tenant(uow, unique_name("tenant"), actor="test")


@pytest.fixture
def issued_key(uow: SqlUnitOfWork, tenant: TenantView) -> tuple[ApiKeyView, str]:
    return tenants.create_api_key(uow, tenant.id, "production", actor="test")


# --- tenants ------------------------------------------------------------------------------------


def test_a_new_tenant_gets_a_readable_id_and_its_name_stripped(
    uow: SqlUnitOfWork, unique_name: Callable[..., str]
) -> None:
    name = unique_name("Mutuelle")
    view = tenants.create_tenant(uow, f"  {name}\n", actor="test")
    assert re.fullmatch(r"TEN-\d{4}-\d{6}", view.id)
    assert view.name == name
    assert view.created_at.utcoffset() is not None
    assert tenants.get_tenant(uow, view.id) == view
    assert view in tenants.list_tenants(uow)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_tenant_name_must_have_1_to_200_characters(uow: SqlUnitOfWork, name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        tenants.create_tenant(uow, name, actor="test")
    assert caught.value.field == "name"


def test_two_tenants_cannot_share_a_name(uow: SqlUnitOfWork, tenant: TenantView) -> None:
    with pytest.raises(Conflict) as caught:
        tenants.create_tenant(uow, f" {tenant.name} ", actor="test")
    assert caught.value.code == "tenant.exists"
    assert caught.value.field == "name"


def test_an_unknown_tenant_is_not_found(uow: SqlUnitOfWork) -> None:
    with pytest.raises(NotFound) as caught:
        tenants.get_tenant(uow, "TEN-1999-999999")
    assert caught.value.code == "tenant.not_found"
    assert caught.value.field == "tenant_id"


def test_creating_a_tenant_is_audited_in_its_own_chain(
    uow: SqlUnitOfWork, tenant: TenantView
) -> None:
    [entry] = audit.list_entries(uow, tenant.id)
    assert (entry.seq, entry.action, entry.actor) == (1, "tenant.created", "test")
    assert (entry.entity_type, entry.entity_id) == ("tenant", tenant.id)
    assert entry.data == {"name": tenant.name}


# --- API keys -----------------------------------------------------------------------------------


def test_a_key_is_shown_once_and_only_its_hash_is_stored(
    factory: sessionmaker[Session], tenant: TenantView, issued_key: tuple[ApiKeyView, str]
) -> None:
    view, plaintext = issued_key
    match = KEY_SHAPE.fullmatch(plaintext)
    assert match is not None
    lookup, secret = match.groups()
    assert (view.tenant_id, view.lookup, view.label, view.active) == (
        tenant.id,
        lookup,
        "production",
        True,
    )
    with factory() as session:
        row = session.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": view.id}).one()
        audit_rows = session.execute(
            text("SELECT * FROM audit_log WHERE chain = :chain"), {"chain": tenant.id}
        ).all()
    stored = [str(value) for value in (*row, *(v for r in audit_rows for v in r))]
    assert not any(secret in value or plaintext in value for value in stored)
    assert row._mapping["secret_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()


def test_a_key_for_an_unknown_tenant_is_refused(uow: SqlUnitOfWork) -> None:
    with pytest.raises(NotFound) as caught:
        tenants.create_api_key(uow, "TEN-1999-999999", "x", actor="test")
    assert caught.value.code == "tenant.not_found"
    assert caught.value.field == "tenant_id"


@pytest.mark.parametrize("label", ["", "  ", "x" * 101])
def test_a_key_label_must_have_1_to_100_characters(
    uow: SqlUnitOfWork, tenant: TenantView, label: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        tenants.create_api_key(uow, tenant.id, label, actor="test")
    assert caught.value.field == "label"


def test_a_valid_key_authenticates_its_tenant_and_is_marked_used(
    uow: SqlUnitOfWork, tenant: TenantView, issued_key: tuple[ApiKeyView, str]
) -> None:
    view, plaintext = issued_key
    assert view.last_used_at is None
    principal = tenants.authenticate(uow, plaintext)
    assert principal == Principal(tenant_id=tenant.id, key_id=view.id)
    [listed] = tenants.list_api_keys(uow, tenant.id)
    assert listed.last_used_at is not None
    assert listed.last_used_at >= view.created_at


def _wrong_secret(key: str) -> str:
    return key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")


def _unknown_lookup(key: str) -> str:
    return "polis_000000000000_" + key.split("_", 2)[2]


@pytest.mark.parametrize(
    "forge",
    [
        _wrong_secret,
        _unknown_lookup,
        lambda key: "",
        lambda key: "not-a-key",
        lambda key: key.replace("polis_", "other_"),
        lambda key: key.rsplit("_", 1)[0] + "_",
    ],
    ids=["wrong-secret", "unknown-lookup", "empty", "garbage", "wrong-scheme", "no-secret"],
)
def test_a_forged_key_is_refused(
    uow: SqlUnitOfWork, issued_key: tuple[ApiKeyView, str], forge: Callable[[str], str]
) -> None:
    _, plaintext = issued_key
    with pytest.raises(Unauthenticated, match="invalid or revoked API key"):
        tenants.authenticate(uow, forge(plaintext))


def test_a_revoked_key_is_refused_at_once(
    uow: SqlUnitOfWork, tenant: TenantView, issued_key: tuple[ApiKeyView, str]
) -> None:
    view, plaintext = issued_key
    revoked = tenants.revoke_api_key(uow, tenant.id, view.id, actor="test")
    assert revoked.revoked_at is not None
    assert not revoked.active
    with pytest.raises(Unauthenticated):
        tenants.authenticate(uow, plaintext)
    assert tenants.revoke_api_key(uow, tenant.id, view.id, actor="test") == revoked
    assert [k.revoked_at for k in tenants.list_api_keys(uow, tenant.id)] == [revoked.revoked_at]
    actions = [e.action for e in audit.list_entries(uow, tenant.id)]
    assert actions == ["tenant.created", "api_key.created", "api_key.revoked"]


def test_a_tenant_cannot_revoke_or_see_another_tenants_key(
    uow: SqlUnitOfWork, issued_key: tuple[ApiKeyView, str], unique_name: Callable[..., str]
) -> None:
    view, plaintext = issued_key
    other = tenants.create_tenant(uow, unique_name("other"), actor="test")
    with pytest.raises(NotFound) as caught:
        tenants.revoke_api_key(uow, other.id, view.id, actor="test")
    assert caught.value.code == "api_key.not_found"
    assert tenants.list_api_keys(uow, other.id) == []
    assert tenants.authenticate(uow, plaintext).key_id == view.id  # still valid


def test_an_unknown_key_id_is_not_found(uow: SqlUnitOfWork, tenant: TenantView) -> None:
    with pytest.raises(NotFound) as caught:
        tenants.revoke_api_key(uow, tenant.id, "KEY-1999-999999", actor="test")
    assert caught.value.code == "api_key.not_found"


def test_keys_are_listed_per_tenant_in_creation_order(
    uow: SqlUnitOfWork, tenant: TenantView
) -> None:
    created = [
        tenants.create_api_key(uow, tenant.id, label, actor="test")[0].id
        for label in ("a", "b", "c")
    ]
    assert [k.id for k in tenants.list_api_keys(uow, tenant.id)] == created


def test_the_demo_data_loads_once_in_one_transaction(factory: sessionmaker[Session]) -> None:
    from polis.services import load_demo
    from polis.services.demo import DEMO_TENANT_NAME

    first = load_demo(SqlUnitOfWork(factory))
    again = load_demo(SqlUnitOfWork(factory))
    assert again.tenant_id == first.tenant_id
    if first.api_key is not None:  # the session database may already hold the demo tenant
        principal = tenants.authenticate(SqlUnitOfWork(factory), first.api_key)
        assert principal.tenant_id == first.tenant_id
    assert again.api_key is None
    names = [t.name for t in tenants.list_tenants(SqlUnitOfWork(factory))]
    assert names.count(DEMO_TENANT_NAME) == 1


# --- keys trusted from memory (KeyCache) ---------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _last_used(uow: SqlUnitOfWork, tenant: TenantView, key_id: str) -> datetime | None:
    return next(k.last_used_at for k in tenants.list_api_keys(uow, tenant.id) if k.id == key_id)


def test_a_key_revoked_elsewhere_works_from_memory_until_the_cache_ttl_passes(
    uow: SqlUnitOfWork, tenant: TenantView, issued_key: tuple[ApiKeyView, str]
) -> None:
    view, plaintext = issued_key
    clock = _Clock()
    cache = tenants.KeyCache(ttl=5.0, clock=clock)
    assert tenants.authenticate(uow, plaintext, cache).key_id == view.id
    tenants.revoke_api_key(uow, tenant.id, view.id, actor="test")  # "another process"
    clock.now += 4.9
    assert tenants.authenticate(uow, plaintext, cache).key_id == view.id  # from memory
    clock.now += 0.1
    with pytest.raises(Unauthenticated):
        tenants.authenticate(uow, plaintext, cache)  # read again: revoked


def test_a_cached_lookup_with_another_secret_is_refused(
    uow: SqlUnitOfWork, issued_key: tuple[ApiKeyView, str]
) -> None:
    _, plaintext = issued_key
    cache = tenants.KeyCache(clock=_Clock())
    tenants.authenticate(uow, plaintext, cache)
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")
    assert cache.principal_of_key(forged) is None
    with pytest.raises(Unauthenticated):
        tenants.authenticate(uow, forged, cache)


def test_last_used_at_is_written_at_most_once_a_minute_with_a_cache(
    uow: SqlUnitOfWork, tenant: TenantView, issued_key: tuple[ApiKeyView, str]
) -> None:
    view, plaintext = issued_key
    clock = _Clock()
    cache = tenants.KeyCache(ttl=5.0, used_every=60.0, clock=clock)
    tenants.authenticate(uow, plaintext, cache)
    first = _last_used(uow, tenant, view.id)
    assert first is not None
    clock.now += 30  # past the ttl: read again, but not written
    tenants.authenticate(uow, plaintext, cache)
    assert _last_used(uow, tenant, view.id) == first
    clock.now += 31  # a minute since the write
    tenants.authenticate(uow, plaintext, cache)
    later = _last_used(uow, tenant, view.id)
    assert later is not None
    assert later > first
