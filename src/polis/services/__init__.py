"""Use cases: each runs in one unit of work, commits once, and returns frozen views."""

from polis.services.audit import (
    AuditEntry,
    ChainReport,
    list_entries,
    record,
    verify_chain,
    verify_entries,
)
from polis.services.demo import DemoResult, load_demo
from polis.services.tenants import (
    ApiKeyView,
    Principal,
    TenantView,
    authenticate,
    create_api_key,
    create_tenant,
    get_tenant,
    list_api_keys,
    list_tenants,
    revoke_api_key,
)

__all__ = [
    "ApiKeyView",
    "AuditEntry",
    "ChainReport",
    "DemoResult",
    "Principal",
    "TenantView",
    "authenticate",
    "create_api_key",
    "create_tenant",
    "get_tenant",
    "list_api_keys",
    "list_entries",
    "list_tenants",
    "load_demo",
    "record",
    "revoke_api_key",
    "verify_chain",
    "verify_entries",
]
