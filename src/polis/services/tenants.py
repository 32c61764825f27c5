"""Use cases for tenants and their API keys.

Each use case runs in one unit of work and commits at most once; it returns frozen views, never
ORM rows. A tenant never sees another tenant's data: asking for another tenant's key answers
``NotFound``, exactly as for a key that does not exist.

API keys look like ``polis_<lookup>_<secret>``: ``lookup`` is 12 hexadecimal characters, public,
unique, used to find the key; ``secret`` is 43 URL-safe characters. Only ``SHA-256(whole key)`` is
stored; the plaintext is returned once, by ``create_api_key``.

``actor`` names who acted, for the audit log (1…100 characters): ``Principal.actor``
(``api:<key id>``) for API calls, ``cli`` (or ``cli:<user>``) for the command line.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from polis.kernel.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from polis.kernel.time import utc_now
from polis.services import audit
from polis.store.tables import ApiKeyRow, TenantRow
from polis.store.uow import UnitOfWork

__all__ = [
    "ApiKeyView",
    "KeyCache",
    "Principal",
    "TenantView",
    "add_api_key",
    "add_tenant",
    "authenticate",
    "create_api_key",
    "create_tenant",
    "get_tenant",
    "list_api_keys",
    "list_tenants",
    "revoke_api_key",
]

_KEY_SCHEME = "polis"
_LOOKUP_LENGTH = 12
_INVALID_KEY = "invalid or revoked API key"


@dataclass(frozen=True, slots=True)
class TenantView:
    """A tenant as the outside world sees it."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    """An API key without its secret (``lookup`` is the public part of the key)."""

    id: str
    tenant_id: str
    label: str
    lookup: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant and the API key that authenticated the call."""

    tenant_id: str
    key_id: str

    @property
    def actor(self) -> str:
        """The audit actor for calls made with this key."""
        return f"api:{self.key_id}"


def create_tenant(uow: UnitOfWork, name: str, actor: str) -> TenantView:
    """Create a tenant named ``name`` (stripped, 1…200 characters, unique)."""
    with uow:
        view = add_tenant(uow, name, actor)
        uow.commit()
    return view


def add_tenant(uow: UnitOfWork, name: str, actor: str) -> TenantView:
    """The steps of ``create_tenant`` inside an open unit of work (for larger use cases)."""
    clean = _text(name, "name", 200)
    if uow.tenants.get_by_name(clean) is not None:
        raise Conflict(
            f"a tenant named {clean!r} already exists", field="name", code="tenant.exists"
        )
    now = utc_now()
    tenant = TenantRow(id=str(uow.ids.next("TEN", now.year)), name=clean, created_at=now)
    uow.tenants.add(tenant)
    audit.record(
        uow,
        tenant_id=tenant.id,
        actor=actor,
        action="tenant.created",
        entity_type="tenant",
        entity_id=tenant.id,
        data={"name": clean},
        at=now,
    )
    return _tenant_view(tenant)


def get_tenant(uow: UnitOfWork, tenant_id: str) -> TenantView:
    """The tenant ``tenant_id``; ``NotFound("tenant.not_found")`` when there is none."""
    with uow:
        return _tenant_view(_require_tenant(uow, tenant_id))


def list_tenants(uow: UnitOfWork) -> list[TenantView]:
    """Every tenant, oldest first (an operator's view)."""
    with uow:
        return [_tenant_view(tenant) for tenant in uow.tenants.list()]


def create_api_key(
    uow: UnitOfWork, tenant_id: str, label: str, actor: str
) -> tuple[ApiKeyView, str]:
    """A new key for ``tenant_id``: its view and the plaintext key, shown this once only."""
    with uow:
        result = add_api_key(uow, tenant_id, label, actor)
        uow.commit()
    return result


def add_api_key(uow: UnitOfWork, tenant_id: str, label: str, actor: str) -> tuple[ApiKeyView, str]:
    """The steps of ``create_api_key`` inside an open unit of work (for larger use cases)."""
    clean_label = _text(label, "label", 100)
    _require_tenant(uow, tenant_id)
    lookup = _unused_lookup(uow)
    plaintext = f"{_KEY_SCHEME}_{lookup}_{secrets.token_urlsafe(32)}"
    now = utc_now()
    key = ApiKeyRow(
        id=str(uow.ids.next("KEY", now.year)),
        tenant_id=tenant_id,
        label=clean_label,
        lookup=lookup,
        secret_hash=_digest(plaintext),
        created_at=now,
    )
    uow.api_keys.add(key)
    audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action="api_key.created",
        entity_type="api_key",
        entity_id=key.id,
        data={"label": clean_label, "lookup": lookup},
        at=now,
    )
    return _key_view(key), plaintext


def list_api_keys(uow: UnitOfWork, tenant_id: str) -> list[ApiKeyView]:
    """The keys of ``tenant_id`` (revoked ones included), oldest first."""
    with uow:
        _require_tenant(uow, tenant_id)
        return [_key_view(key) for key in uow.api_keys.list_for_tenant(tenant_id)]


def revoke_api_key(uow: UnitOfWork, tenant_id: str, key_id: str, actor: str) -> ApiKeyView:
    """Revoke the key ``key_id`` of ``tenant_id`` at once; revoking it again changes nothing."""
    with uow:
        key = uow.api_keys.get(key_id)
        if key is None or key.tenant_id != tenant_id:
            raise NotFound(f"no API key {key_id!r}", field="key_id", code="api_key.not_found")
        if key.revoked_at is not None:
            return _key_view(key)
        key.revoked_at = utc_now()
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="api_key.revoked",
            entity_type="api_key",
            entity_id=key.id,
            data={"label": key.label, "lookup": key.lookup},
            at=key.revoked_at,
        )
        view = _key_view(key)
        uow.commit()
    return view


@dataclass(slots=True)
class _Known:
    secret_hash: str
    principal: Principal
    read_at: float
    used_written_at: float


class KeyCache:
    """API keys a process read recently, so that a request need not read its key again.

    A key read from the database less than ``ttl`` seconds ago (monotonic clock) is trusted from
    memory — the presented key's SHA-256 is still compared, in constant time, with the stored one —
    and its ``last_used_at`` is written at most every ``used_every`` seconds. So a key revoked by
    another process stops working there within ``ttl`` seconds (5 by default); :meth:`forget` makes
    a revocation immediate in the process that revokes. Only valid keys are kept (at most ``size``,
    the oldest read dropped first). Thread-safe.
    """

    def __init__(
        self,
        ttl: float = 5.0,
        used_every: float = 60.0,
        size: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.used_every, self.size, self.clock = ttl, used_every, size, clock
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()

    def principal(self, lookup: str, presented: str) -> Principal | None:
        """The key's principal when it was read recently and needs no ``last_used_at`` write."""
        with self._lock:
            known = self._known.get(lookup)
        now = self.clock()
        if (
            known is None
            or now - known.read_at >= self.ttl
            or now - known.used_written_at >= self.used_every
            or not hmac.compare_digest(known.secret_hash, presented)
        ):
            return None
        return known.principal

    def remember(self, lookup: str, secret_hash: str, principal: Principal, used: bool) -> None:
        """Note a key just read (``used``: its ``last_used_at`` was written with it)."""
        now = self.clock()
        with self._lock:
            previous = self._known.pop(lookup, None)
            written = now if used or previous is None else previous.used_written_at
            self._known[lookup] = _Known(secret_hash, principal, now, written)
            while len(self._known) > self.size:
                del self._known[next(iter(self._known))]

    def forget(self, key_id: str | None = None) -> None:
        """Drop the key ``key_id`` (every key when ``None``)."""
        with self._lock:
            if key_id is None:
                self._known.clear()
            else:
                for lookup in [k for k, v in self._known.items() if v.principal.key_id == key_id]:
                    del self._known[lookup]

    def principal_of_key(self, key: str) -> Principal | None:
        """:meth:`principal` for a whole presented key (``None``: ask :func:`authenticate`)."""
        lookup = _lookup_of(key)
        return None if lookup is None else self.principal(lookup, _digest(key.strip()))

    def write_due(self, lookup: str) -> bool:
        with self._lock:
            known = self._known.get(lookup)
        return known is None or self.clock() - known.used_written_at >= self.used_every


def authenticate(uow: UnitOfWork, key: str, cache: KeyCache | None = None) -> Principal:
    """Who presents ``key``; ``Unauthenticated`` for any malformed, unknown or revoked key.

    The stored hash is compared in constant time; the key's ``last_used_at`` is updated (with a
    ``cache``: answered from it when it can, ``last_used_at`` written at most every
    ``cache.used_every`` seconds — :class:`KeyCache`).
    """
    lookup = _lookup_of(key)
    presented = _digest(key.strip())
    if cache is not None and lookup is not None:
        known = cache.principal(lookup, presented)
        if known is not None:
            return known
    with uow:
        row = uow.api_keys.find_by_lookup(lookup) if lookup is not None else None
        expected = row.secret_hash if row is not None else "0" * 64
        if row is None or not hmac.compare_digest(expected, presented) or row.revoked_at:
            raise Unauthenticated(_INVALID_KEY)
        principal = Principal(tenant_id=row.tenant_id, key_id=row.id)
        secret_hash = row.secret_hash
        write = cache is None or lookup is None or cache.write_due(lookup)
        if write:
            row.last_used_at = utc_now()
            uow.commit()
    if cache is not None and lookup is not None:
        cache.remember(lookup, secret_hash, principal, used=write)
    return principal


def _text(value: str, field: str, max_length: int) -> str:
    text = value.strip()
    if not 1 <= len(text) <= max_length:
        raise InvalidInput(f"{field} must have 1 to {max_length} characters", field=field)
    return text


def _require_tenant(uow: UnitOfWork, tenant_id: str) -> TenantRow:
    tenant = uow.tenants.get(tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id", code="tenant.not_found")
    return tenant


def _unused_lookup(uow: UnitOfWork) -> str:
    """A fresh public lookup (48 random bits; a clash is retried, not expected)."""
    while True:
        lookup = secrets.token_hex(_LOOKUP_LENGTH // 2)
        if uow.api_keys.find_by_lookup(lookup) is None:
            return lookup


def _lookup_of(key: str) -> str | None:
    """The lookup part of ``polis_<lookup>_<secret>``, ``None`` when ``key`` has another shape."""
    scheme, _, rest = key.strip().partition("_")
    lookup, _, secret = rest.partition("_")
    well_formed = (
        scheme == _KEY_SCHEME
        and len(lookup) == _LOOKUP_LENGTH
        and all(char in string.hexdigits.lower() for char in lookup)
        and bool(secret)
    )
    return lookup if well_formed else None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _tenant_view(tenant: TenantRow) -> TenantView:
    return TenantView(id=tenant.id, name=tenant.name, created_at=tenant.created_at)


def _key_view(key: ApiKeyRow) -> ApiKeyView:
    return ApiKeyView(
        id=key.id,
        tenant_id=key.tenant_id,
        label=key.label,
        lookup=key.lookup,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )
