"""The calling tenant's own account: who am I, my API keys, my audit trail (all need an API key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from polis.api.deps import CurrentPrincipal, key_cache, new_uow
from polis.services import audit, tenants
from polis.store import SqlUnitOfWork

router = APIRouter(prefix="/v1", tags=["account"])

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: datetime


class ApiKeyOut(BaseModel):
    id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the secret key, shown only this once")


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=100, examples=["marketplace production"])


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    hash: str


class ChainOut(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None


def _key_out(view: tenants.ApiKeyView) -> ApiKeyOut:
    return ApiKeyOut(
        id=view.id,
        label=view.label,
        created_at=view.created_at,
        revoked_at=view.revoked_at,
        last_used_at=view.last_used_at,
    )


@router.get("/me", response_model=TenantOut, summary="The tenant the API key belongs to")
def me(principal: CurrentPrincipal, uow: Uow) -> TenantOut:
    view = tenants.get_tenant(uow, principal.tenant_id)
    return TenantOut(id=view.id, name=view.name, created_at=view.created_at)


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="This tenant's API keys")
def list_keys(principal: CurrentPrincipal, uow: Uow) -> list[ApiKeyOut]:
    return [_key_out(k) for k in tenants.list_api_keys(uow, principal.tenant_id)]


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create another API key for this tenant (the secret is returned once)",
)
def create_key(body: ApiKeyIn, principal: CurrentPrincipal, uow: Uow) -> ApiKeyCreated:
    view, secret = tenants.create_api_key(
        uow, principal.tenant_id, body.label, actor=f"api:{principal.key_id}"
    )
    return ApiKeyCreated(**_key_out(view).model_dump(), key=secret)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke_key(key_id: str, principal: CurrentPrincipal, uow: Uow, request: Request) -> ApiKeyOut:
    view = tenants.revoke_api_key(uow, principal.tenant_id, key_id, actor=f"api:{principal.key_id}")
    key_cache(request).forget(view.id)  # immediate in this process; others within the cache's ttl
    return _key_out(view)


@router.get("/audit", response_model=list[AuditEntryOut], summary="This tenant's audit trail")
def audit_entries(
    principal: CurrentPrincipal,
    uow: Uow,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditEntryOut]:
    entries = audit.list_entries(uow, principal.tenant_id, limit=limit, offset=offset)
    return [
        AuditEntryOut(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            hash=e.hash,
        )
        for e in entries
    ]


@router.get("/audit/verify", response_model=ChainOut, summary="Recompute this tenant's hash chain")
def audit_verify(principal: CurrentPrincipal, uow: Uow) -> ChainOut:
    report = audit.verify_chain(uow, principal.tenant_id)
    return ChainOut(ok=report.ok, entries=report.entries, first_bad_seq=report.first_bad_seq)
