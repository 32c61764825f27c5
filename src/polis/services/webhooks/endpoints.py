"""Endpoints of a tenant — register (URL checked against private addresses), list, get,
delete — and reading their deliveries."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Collection
from urllib.parse import urlsplit

from polis.kernel.errors import InvalidInput
from polis.kernel.net import HostUnresolved, Resolver, public_addresses, system_resolver
from polis.kernel.time import utc_now
from polis.services import audit
from polis.services.webhooks.common import _require_delivery, _require_endpoint
from polis.services.webhooks.filters import _check_filters
from polis.services.webhooks.views import (
    DELIVERY_STATUSES,
    CreatedEndpoint,
    DeliveryView,
    EndpointView,
)
from polis.store.tables_platform import WebhookEndpointRow
from polis.store.uow import UnitOfWork

__all__ = [
    "delete_endpoint",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "register_endpoint",
]

_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_MAX_PAGE = 500


def register_endpoint(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    url: str,
    events: Collection[str] = (),
    actor: str,
    allow_private: bool = False,
    resolver: Resolver = system_resolver,
) -> CreatedEndpoint:
    """Register a receiver ``url`` for the tenant's events (``events``: filters; empty = all).

    A host that is or resolves to a non-public address is refused (``webhook.url_refused``) unless
    ``allow_private``; a name that does not resolve yet is accepted (each delivery checks again).
    """
    clean_url = _check_url(url, allow_private=allow_private, resolver=resolver)
    filters = _check_filters(events)
    now = utc_now()
    secret = _SECRET_PREFIX + secrets.token_urlsafe(32)
    with uow:
        row = WebhookEndpointRow(
            id=str(uow.ids.next("WHK", now.year)),
            tenant_id=tenant_id,
            url=clean_url,
            secret=secret,
            event_types=json.dumps(filters),
            active=True,
            created_at=now,
            deleted_at=None,
        )
        uow.webhooks.add_endpoint(row)
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="webhook.endpoint_created",
            entity_type="webhook_endpoint",
            entity_id=row.id,
            data={"url": clean_url, "events": filters},
            at=now,
        )
        view = EndpointView.of(row)
        uow.commit()
    return CreatedEndpoint(**view.model_dump(), secret=secret)


def list_endpoints(uow: UnitOfWork, tenant_id: str) -> list[EndpointView]:
    """The tenant's endpoints (deleted ones excluded)."""
    with uow:
        return [EndpointView.of(row) for row in uow.webhooks.list_endpoints(tenant_id)]


def get_endpoint(uow: UnitOfWork, tenant_id: str, endpoint_id: str) -> EndpointView:
    with uow:
        return EndpointView.of(_require_endpoint(uow, tenant_id, endpoint_id))


def delete_endpoint(uow: UnitOfWork, tenant_id: str, endpoint_id: str, *, actor: str) -> None:
    """Stop sending to an endpoint; its pending deliveries become ``dead`` when next due."""
    now = utc_now()
    with uow:
        row = _require_endpoint(uow, tenant_id, endpoint_id)
        row.active = False
        row.deleted_at = now
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="webhook.endpoint_deleted",
            entity_type="webhook_endpoint",
            entity_id=row.id,
            at=now,
        )
        uow.commit()


def list_deliveries(
    uow: UnitOfWork,
    tenant_id: str,
    endpoint_id: str,
    *,
    statuses: Collection[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DeliveryView]:
    """An endpoint's deliveries, newest first."""
    if not 1 <= limit <= _MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {_MAX_PAGE}", field="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    for status in statuses or ():
        if status not in DELIVERY_STATUSES:
            raise InvalidInput(f"unknown delivery status {status!r}", field="status")
    with uow:
        _require_endpoint(uow, tenant_id, endpoint_id)
        rows = uow.webhooks.list_deliveries(
            tenant_id, endpoint_id, statuses=statuses, limit=limit, offset=offset
        )
        return [DeliveryView.of(row) for row in rows]


def get_delivery(uow: UnitOfWork, tenant_id: str, delivery_id: int) -> DeliveryView:
    with uow:
        return DeliveryView.of(_require_delivery(uow, tenant_id, delivery_id))


def _check_url(url: str, *, allow_private: bool, resolver: Resolver) -> str:
    text = url.strip()
    if not 1 <= len(text) <= 2000:
        raise InvalidInput("a URL of at most 2000 characters is required", field="url")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise InvalidInput(f"not a URL: {text!r}", field="url") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("an http:// or https:// URL with a host is required", field="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("credentials in the URL are not accepted", field="url")
    if parts.fragment:
        raise InvalidInput("a webhook URL has no #fragment", field="url")
    del port
    if not allow_private:
        # a name not resolvable yet is accepted: it is checked again before each delivery
        with contextlib.suppress(HostUnresolved):
            public_addresses(
                parts.hostname, resolver=resolver, field="url", refused_code="webhook.url_refused"
            )
    return text
