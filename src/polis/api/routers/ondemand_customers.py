"""On-demand customers (onboarding, identity verification, monthly statements, ledger) and
subscriptions over HTTP (API key, tenant-scoped)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status

from polis.api.deps import CurrentPrincipal, new_uow
from polis.api.idempotency import IdempotencyKey, idempotent
from polis.api.routers.ondemand import Now, Uow, answer, creating, json_example
from polis.services import ondemand_billing, ondemand_customers, ondemand_subscriptions
from polis.services.ondemand_billing import LedgerEntryView
from polis.services.ondemand_customers import CustomerIn, CustomerView, VerificationIn
from polis.services.ondemand_subscriptions import SubscriptionIn, SubscriptionView

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["on-demand"])

_CUSTOMER = {
    "kind": "business",
    "name": "Studio Lumière SARL",
    "activity": "wedding photographer",
    "address": {"line1": "12 rue des Lilas", "postcode": "69003", "city": "Lyon"},
    "siret": "73282932000074",
    "email": "contact@studio-lumiere.example",
}
_CUSTOMER_OUT = {
    "id": "CUS-2026-000001",
    "kind": "business",
    "name": "Studio Lumière SARL",
    "siren": "732829320",
    "siret": "73282932000074",
    "status": "pending",
    "limits": {"tier": "starter", "max_sum_insured": "50000.00", "max_activations_per_day": 3},
}
_SUBSCRIPTION = {
    "customer_id": "CUS-2026-000001",
    "product": "equipment-micro",
    "unit": "hour",
    "items": [{"ref": "camera-1", "description": "Canon EOS R6 kit", "serial": "R6-0042"}],
    "sum_insured": "1000",
    "risk": {"equipment": "camera"},
}
_SUBSCRIPTION_OUT = {
    "id": "SUB-2026-000001",
    "customer_id": "CUS-2026-000001",
    "product": "equipment-micro",
    "product_version": "2025.1",
    "unit": "hour",
    "terms_sha256": "1ee5470007ed23b3dda69f6cd0fc79cfa2aa2ed1946bdabd47d3faba621d580d",
    "policies": {"camera-1": "POL-2026-000001"},
}


# --- customers ------------------------------------------------------------------------------------


@router.post(
    "/customers",
    response_model=CustomerView,
    status_code=status.HTTP_201_CREATED,
    summary="Onboard a customer (person, or business with SIREN/SIRET checked by Luhn)",
    description="Requires `Idempotency-Key`. The customer starts `pending` with the starter "
    "tier's limits; verify it before it can subscribe.",
    responses=creating(_CUSTOMER_OUT),
    openapi_extra=json_example(_CUSTOMER),
)
def create_customer(
    body: CustomerIn,
    principal: CurrentPrincipal,
    request: Request,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return idempotent(
        request,
        principal,
        lambda: (
            201,
            ondemand_customers.create_customer(
                new_uow(request), principal.tenant_id, body, principal.actor, now=now
            ),
        ),
    )


@router.get(
    "/customers",
    response_model=list[CustomerView],
    summary="This tenant's customers",
    responses=answer([_CUSTOMER_OUT]),
)
def list_customers(
    principal: CurrentPrincipal,
    uow: Uow,
    now: Now,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CustomerView]:
    return ondemand_customers.list_customers(
        uow, principal.tenant_id, limit=limit, offset=offset, now=now
    )


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerView,
    summary="One customer, with its limits",
    responses=answer(_CUSTOMER_OUT),
)
def get_customer(customer_id: str, principal: CurrentPrincipal, uow: Uow, now: Now) -> CustomerView:
    return ondemand_customers.get_customer(uow, principal.tenant_id, customer_id, now=now)


@router.post(
    "/customers/{customer_id}/verify",
    response_model=CustomerView,
    summary="Verify (or reject, or send back to pending) a customer's identity",
    description="By the transition table: pending → verified | rejected (with a reason); "
    "rejected → pending; verified → pending. Anything else is 409.",
    responses=answer({**_CUSTOMER_OUT, "status": "verified"}),
    openapi_extra=json_example({"status": "verified"}),
)
def verify_customer(
    customer_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    now: Now,
    body: VerificationIn | None = None,
) -> CustomerView:
    return ondemand_customers.set_verification(
        uow, principal.tenant_id, customer_id, body or VerificationIn(), principal.actor, now=now
    )


@router.get(
    "/customers/{customer_id}/statements/{month}.pdf",
    response_class=Response,
    summary="The monthly statement as PDF",
    responses={200: {"content": {"application/pdf": {"example": "%PDF-1.4 …"}}}},
)
def statement_pdf(
    customer_id: str,
    month: str,
    principal: CurrentPrincipal,
    uow: Uow,
    now: Now,
    lang: Annotated[Literal["fr", "en"] | None, Query()] = None,
) -> Response:
    pdf = ondemand_billing.statement_pdf(
        uow, principal.tenant_id, customer_id, month, lang=lang, now=now
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{customer_id}-{month}.pdf"'},
    )


@router.get(
    "/customers/{customer_id}/statements/{month}",
    summary="The monthly statement (Europe/Paris month YYYY-MM): windows, hours, prices, refunds",
    description="A quiet month has no rows and totals of 0.00.",
    responses=answer(
        {
            "customer_id": "CUS-2026-000001",
            "month": "2026-06",
            "time_zone": "Europe/Paris",
            "currency": "EUR",
            "windows": [
                {
                    "window_id": "WIN-2026-000001",
                    "object_ref": "camera-1",
                    "duration_hours": "2",
                    "price": "3.43",
                    "taxes": "0.31",
                    "refunds": "0.00",
                    "total": "3.74",
                }
            ],
            "totals": {"windows": 1, "hours": "2", "total": "3.74"},
        }
    ),
)
def statement(
    customer_id: str, month: str, principal: CurrentPrincipal, uow: Uow
) -> dict[str, Any]:
    return ondemand_billing.statement(uow, principal.tenant_id, customer_id, month)


@router.get(
    "/customers/{customer_id}/ledger",
    response_model=list[LedgerEntryView],
    summary="Every charge and refund of a customer (the ledger)",
    responses=answer(
        [
            {
                "id": 1,
                "kind": "charge",
                "reason": "activation",
                "window_id": "WIN-2026-000001",
                "subscription_id": "SUB-2026-000001",
                "object_ref": "camera-1",
                "at": "2026-06-13T07:00:00Z",
                "total": "3.74",
                "taxes": "0.31",
            }
        ]
    ),
)
def ledger(customer_id: str, principal: CurrentPrincipal, uow: Uow) -> list[LedgerEntryView]:
    return ondemand_billing.customer_ledger(uow, principal.tenant_id, customer_id)


# --- subscriptions --------------------------------------------------------------------------------


@router.post(
    "/subscriptions",
    response_model=SubscriptionView,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a verified customer to an on-demand product",
    description="Requires `Idempotency-Key`. The exact terms accepted (product, on-demand terms, "
    "options) are snapshotted and hashed (`terms_sha256`); one policy per insured item is "
    "registered, which claims attach to.",
    responses=creating(_SUBSCRIPTION_OUT),
    openapi_extra=json_example(_SUBSCRIPTION),
)
def create_subscription(
    body: SubscriptionIn,
    principal: CurrentPrincipal,
    request: Request,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return idempotent(
        request,
        principal,
        lambda: (
            201,
            ondemand_subscriptions.create_subscription(
                new_uow(request), principal.tenant_id, body, principal.actor, now=now
            ),
        ),
    )


@router.get(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionView,
    summary="One subscription",
    responses=answer(_SUBSCRIPTION_OUT),
)
def get_subscription(
    subscription_id: str, principal: CurrentPrincipal, uow: Uow
) -> SubscriptionView:
    return ondemand_subscriptions.get_subscription(uow, principal.tenant_id, subscription_id)


@router.get(
    "/subscriptions/{subscription_id}/terms",
    summary="The terms snapshot exactly as accepted (canonical JSON; its SHA-256 in a header)",
    responses={
        200: {
            "content": {
                "application/json": {"example": {"product": {}, "ondemand": {}, "options": {}}}
            }
        }
    },
)
def get_terms(subscription_id: str, principal: CurrentPrincipal, uow: Uow) -> Response:
    text, digest = ondemand_subscriptions.terms_snapshot_text(
        uow, principal.tenant_id, subscription_id
    )
    return Response(
        text.encode("utf-8"),
        media_type="application/json",
        headers={"X-Content-SHA256": digest},
    )
