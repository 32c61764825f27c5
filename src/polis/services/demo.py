"""The demo data loaded by ``make run`` (``polis demo``): idempotent, one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from polis.services.tenants import add_api_key, add_tenant
from polis.store.uow import UnitOfWork

__all__ = ["DEMO_TENANT_NAME", "DemoResult", "load_demo"]

DEMO_TENANT_NAME = "Démo Polis"


@dataclass(frozen=True, slots=True)
class DemoResult:
    tenant_id: str
    api_key: str | None  # the plaintext key when it was created now, else None


def load_demo(uow: UnitOfWork) -> DemoResult:
    """Create the demo tenant and its first API key unless they exist (running twice changes nothing)."""
    with uow:
        existing = uow.tenants.get_by_name(DEMO_TENANT_NAME)
        if existing is not None:
            return DemoResult(existing.id, None)
        tenant = add_tenant(uow, DEMO_TENANT_NAME, actor="demo")
        _, key = add_api_key(uow, tenant.id, "demo", actor="demo")
        uow.commit()
    return DemoResult(tenant.id, key)
