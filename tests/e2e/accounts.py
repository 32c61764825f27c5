"""Tenants with API keys for end-to-end tests, made through the real services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from polis.services import tenants
from polis.store import SqlUnitOfWork, make_engine, session_factory


@dataclass(frozen=True)
class Account:
    tenant_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


def new_account(database_url: str, label: str = "test") -> Account:
    engine = make_engine(database_url)
    try:
        factory = session_factory(engine)
        tenant = tenants.create_tenant(
            SqlUnitOfWork(factory), f"Tenant {uuid.uuid4().hex[:10]}", actor="test"
        )
        _, key = tenants.create_api_key(SqlUnitOfWork(factory), tenant.id, label, actor="test")
    finally:
        engine.dispose()
    return Account(tenant.id, key)
