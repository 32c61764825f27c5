"""The right of withdrawal of on-demand subscriptions over HTTP (API key, tenant-scoped).

``GET /v1/subscriptions/{id}/withdrawal`` shows the right and its deadline;
``POST /v1/subscriptions/{id}/withdrawal`` (``Idempotency-Key``) withdraws: scheduled windows
cancelled, the running one stopped, refunds, certificates revoked (docs/on-demand.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response

from polis.api.deps import CurrentPrincipal, new_uow
from polis.api.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotent
from polis.api.routers.ondemand import Now
from polis.services import ondemand_withdrawal
from polis.services.ondemand_withdrawal import WithdrawalIn, WithdrawalView
from polis.services.ondemand_withdrawal_terms import WithdrawalTermsView
from polis.store import SqlUnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["on-demand"])

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]

_OUT: dict[str, Any] = {
    "subscription_id": "SUB-2026-000001",
    "customer_id": "CUS-2026-000001",
    "withdrawn_at": "2026-06-05T08:00:00Z",
    "article": "L112-2-1",
    "deadline": "2026-06-15T22:00:00Z",
    "refund_total": "-3.21",
    "refund_due_by": "2026-07-05",
    "windows": [
        {
            "window_id": "WIN-2026-000002",
            "object_ref": "camera-1",
            "fate": "cancel",
            "refund": "-3.21",
            "revoked_certificates": ["ATT-2026-000002"],
        }
    ],
    "explanation": ["14 calendar days (L112-2-1): from 2026-06-01 (not counted): …"],
}
_TERMS: dict[str, Any] = {
    "article": "L112-2-1",
    "sale_channel": "distance",
    "available": True,
    "reason": None,
    "last_day": "2026-06-15",
    "deadline": "2026-06-15T22:00:00Z",
    "withdrawn_at": None,
}
_REFUSED = (
    "`withdrawal.out_of_time` (field `at`), `withdrawal.not_consumer` (`customer`), "
    "`withdrawal.already_withdrawn` (`subscription`), `withdrawal.claim_known` (`claims`, "
    "doorstep selling), `withdrawal.short_term` (`subscription`)"
)


@router.get(
    "/subscriptions/{subscription_id}/withdrawal",
    response_model=WithdrawalTermsView,
    summary="The right of withdrawal of a subscription and its deadline",
    responses={200: {"content": {"application/json": {"example": _TERMS}}}},
)
def withdrawal_terms(
    subscription_id: str, principal: CurrentPrincipal, uow: Uow
) -> WithdrawalTermsView:
    return ondemand_withdrawal.get_withdrawal_terms(uow, principal.tenant_id, subscription_id)


@router.post(
    "/subscriptions/{subscription_id}/withdrawal",
    status_code=200,
    response_model=WithdrawalView,
    summary="Withdraw from a subscription (renonciation, L112-2-1 / L112-9)",
    description="Requires `Idempotency-Key`. Within 14 calendar days (Europe/Paris) of the "
    "subscription, for a natural person: windows not started are cancelled and refunded, a "
    "running window is stopped now (the cover given is kept, no fee), their certificates are "
    "revoked; the refund is due within 30 days. Refusals are 409: " + _REFUSED + ".",
    responses={
        **IDEMPOTENCY_RESPONSES,
        200: {"content": {"application/json": {"example": _OUT}}},
        409: {"description": _REFUSED + "; `idempotency.in_progress`"},
    },
)
def withdraw(
    subscription_id: str,
    principal: CurrentPrincipal,
    request: Request,
    now: Now,
    body: Annotated[
        WithdrawalIn | None, Body(examples=[{"reason": "I no longer need the cover"}])
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def operation() -> tuple[int, WithdrawalView]:
        view = ondemand_withdrawal.withdraw_subscription(
            new_uow(request),
            principal.tenant_id,
            subscription_id,
            body,
            principal.actor,
            now=now,
        )
        return 200, view

    return idempotent(request, principal, operation)
