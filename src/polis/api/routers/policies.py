"""The policy register over HTTP: ``POST /v1/policies``, ``GET /v1/policies/{id}`` (API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from polis.api.deps import CurrentPrincipal, new_uow
from polis.services import policies
from polis.services.policies import PolicyIn, PolicyView
from polis.store import SqlUnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/v1/policies", tags=["policies"])

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]

_EXAMPLE = {
    "holder": "Jeanne Martin",
    "product": "equipment-micro",
    "product_version": "2025.1",
    "covers": {
        "equipment": {
            "perils": ["accidental_damage", "theft"],
            "period": {"start": "2026-01-01", "end": "2027-01-01"},
            "declaration_deadlines": {"theft": {"days": 2}, "*": {"days": 5}},
            "valuation": {"basis": "use_value"},
            "sum_insured": "3000",
            "deductible": {"amount": "150", "kind": "absolute"},
            "limit": "2500",
        }
    },
}


@router.post(
    "",
    response_model=PolicyView,
    status_code=status.HTTP_201_CREATED,
    summary="Register a policy and the cover terms it was sold with",
    description="Each cover's terms use the fields of the `settlement` calculator (cover check: "
    "perils, exclusions, period or windows, waiting period, declaration deadlines; money: "
    "valuation, sum insured, deductible, limits…). They are validated, frozen and fingerprinted "
    "(`terms_sha256`).",
    openapi_extra={"requestBody": {"content": {"application/json": {"example": _EXAMPLE}}}},
)
def register(body: PolicyIn, principal: CurrentPrincipal, uow: Uow) -> PolicyView:
    return policies.register_policy(uow, principal.tenant_id, body, actor=principal.actor)


@router.get("/{policy_id}", response_model=PolicyView, summary="One policy of this tenant")
def get(policy_id: str, principal: CurrentPrincipal, uow: Uow) -> PolicyView:
    return policies.get_policy(uow, principal.tenant_id, policy_id)
