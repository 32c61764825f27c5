"""Cover windows of on-demand subscriptions over HTTP (API key, tenant-scoped): activate, list,
read, extend, stop early, cancel, and an insured item's cover status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from polis.api.deps import CurrentPrincipal, new_uow
from polis.api.idempotency import IdempotencyKey, idempotent, idempotent_atomic
from polis.api.routers.ondemand import (
    Issuer,
    Now,
    Uow,
    activation_slot,
    answer,
    creating,
    json_example,
)
from polis.kernel.time import parse_instant
from polis.services import ondemand_windows
from polis.services.ondemand_windows import (
    ActivationIn,
    ActivationView,
    ChangeView,
    CoverStatusView,
    ExtendIn,
    StopIn,
    WindowView,
)
from polis.store.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["on-demand"])

_WINDOW_OUT = {
    "id": "WIN-2026-000001",
    "subscription_id": "SUB-2026-000001",
    "object_ref": "camera-1",
    "policy_id": "POL-2026-000001",
    "start": "2026-06-13T07:00:00Z",
    "end": "2026-06-13T09:00:00Z",
    "local_start": "2026-06-13T09:00:00+02:00",
    "local_end": "2026-06-13T11:00:00+02:00",
    "duration_hours": "2",
    "state": "booked",
    "phase": "active",
    "certificate": "ATT-2026-000001",
}
_ACTIVATION_OUT = {
    "window": _WINDOW_OUT,
    "price": {
        "total": "3.74",
        "taxes": "0.31",
        "excluding_taxes": "3.43",
        "hours": "2",
        "pure": "1.50",
        "lines": [
            {"kind": "premium", "name": "net premium", "cover": "equipment", "amount": "2.44"},
            {"kind": "surcharge", "name": "cat_nat", "cover": "equipment", "amount": "0.49"},
            {"kind": "tax", "name": "TSCA", "cover": "equipment", "amount": "0.26"},
            {"kind": "fee", "name": "activation_fee", "cover": None, "amount": "0.50"},
            {"kind": "tax", "name": "TSCA", "cover": None, "amount": "0.05"},
        ],
    },
    "certificate": "ATT-2026-000001",
    "links": {
        "window": "/v1/windows/WIN-2026-000001",
        "pdf": "/v1/certificates/ATT-2026-000001.pdf",
        "verify": "/v1/certificates/ATT-2026-000001/verify",
        "verify_page": "http://localhost:8000/verify/ATT-2026-000001",
    },
}
_CHANGE_OUT = {
    "window": {**_WINDOW_OUT, "state": "stopped", "end": "2026-06-13T08:10:00Z"},
    "refund": {"total": "-1.10", "taxes": "-0.08", "lines": []},
    "revoked_certificates": ["ATT-2026-000001"],
}


# --- windows ----------------------------------------------------------------------------------------


@router.post(
    "/subscriptions/{subscription_id}/windows",
    response_model=ActivationView,
    status_code=status.HTTP_201_CREATED,
    summary="Activate cover now or scheduled: the window, its price lines and its certificate",
    description="Requires `Idempotency-Key`: a retry returns the same window and charges once. "
    "Give `end` or `duration`; `start` absent means now. Times without an offset are "
    "Europe/Paris wall-clock times. Only time not already covered for the item is charged.",
    responses=creating(_ACTIVATION_OUT),
    openapi_extra=json_example({"object_ref": "camera-1", "duration": "PT2H"}),
)
def activate(
    subscription_id: str,
    body: ActivationIn,
    principal: CurrentPrincipal,
    request: Request,
    issuer: Issuer,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def operation(uow: UnitOfWork) -> tuple[int, ActivationView]:
        return 201, ondemand_windows.add_window(
            uow, principal.tenant_id, subscription_id, body, principal.actor, issuer=issuer, now=now
        )

    with activation_slot(request):
        return idempotent_atomic(request, principal, operation)


@router.get(
    "/subscriptions/{subscription_id}/windows",
    response_model=list[WindowView],
    summary="The windows of a subscription",
    responses=answer([_WINDOW_OUT]),
)
def list_windows(
    subscription_id: str, principal: CurrentPrincipal, uow: Uow, issuer: Issuer, now: Now
) -> list[WindowView]:
    return ondemand_windows.list_windows(
        uow, principal.tenant_id, subscription_id, now=now, public_base_url=issuer.public_base_url
    )


@router.get(
    "/windows/{window_id}",
    response_model=WindowView,
    summary="One window",
    responses=answer(_WINDOW_OUT),
)
def get_window(
    window_id: str, principal: CurrentPrincipal, uow: Uow, issuer: Issuer, now: Now
) -> WindowView:
    return ondemand_windows.get_window(
        uow, principal.tenant_id, window_id, now=now, public_base_url=issuer.public_base_url
    )


@router.post(
    "/windows/{window_id}/extend",
    response_model=ActivationView,
    summary="Extend a window: only the added time is priced; a certificate for the new period",
    description="Requires `Idempotency-Key`.",
    responses=creating(_ACTIVATION_OUT, 200),
    openapi_extra=json_example({"end": "2026-06-13T13:00:00+02:00"}),
)
def extend_window(
    window_id: str,
    body: ExtendIn,
    principal: CurrentPrincipal,
    request: Request,
    issuer: Issuer,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def operation() -> tuple[int, ActivationView]:
        with activation_slot(request):
            return 200, ondemand_windows.extend_window(
                new_uow(request),
                principal.tenant_id,
                window_id,
                body,
                principal.actor,
                issuer=issuer,
                now=now,
            )

    return idempotent(request, principal, operation)


@router.post(
    "/windows/{window_id}/stop",
    response_model=ChangeView,
    summary="Stop a started window early: refund by the product's rule",
    description="Requires `Idempotency-Key`. `at` absent: now. The window's certificates are "
    "revoked at the stop instant.",
    responses=creating(_CHANGE_OUT, 200),
    openapi_extra=json_example({}),
)
def stop_window(
    window_id: str,
    principal: CurrentPrincipal,
    request: Request,
    issuer: Issuer,
    now: Now,
    body: StopIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return idempotent(
        request,
        principal,
        lambda: (
            200,
            ondemand_windows.stop_window(
                new_uow(request),
                principal.tenant_id,
                window_id,
                body or StopIn(),
                principal.actor,
                now=now,
                public_base_url=issuer.public_base_url,
            ),
        ),
    )


@router.post(
    "/windows/{window_id}/cancel",
    response_model=ChangeView,
    summary="Cancel a window before its start: everything refunded, fees included",
    description="Requires `Idempotency-Key`.",
    responses=creating({**_CHANGE_OUT, "window": {**_WINDOW_OUT, "state": "cancelled"}}, 200),
)
def cancel_window(
    window_id: str,
    principal: CurrentPrincipal,
    request: Request,
    issuer: Issuer,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return idempotent(
        request,
        principal,
        lambda: (
            200,
            ondemand_windows.cancel_window(
                new_uow(request),
                principal.tenant_id,
                window_id,
                principal.actor,
                now=now,
                public_base_url=issuer.public_base_url,
            ),
        ),
    )


@router.get(
    "/objects/{object_ref}/cover",
    response_model=CoverStatusView,
    summary="Is this insured item covered now (or at `at`)?",
    description="`covered` (with `until`, the end of the continuous cover), `scheduled` (with "
    "`next_start`) or `not_covered`. Covered at the exact start instant, not at the exact end.",
    responses=answer(
        {
            "object_ref": "camera-1",
            "at": "2026-06-13T07:30:00Z",
            "state": "covered",
            "until": "2026-06-13T09:00:00Z",
            "next_start": None,
            "current": [_WINDOW_OUT],
            "upcoming": [],
        }
    ),
)
def cover_status(
    object_ref: str,
    principal: CurrentPrincipal,
    uow: Uow,
    issuer: Issuer,
    now: Now,
    at: Annotated[str | None, Query(description="ISO 8601 instant with an offset")] = None,
    subscription_id: Annotated[str | None, Query()] = None,
) -> CoverStatusView:
    instant = None if at is None else parse_instant(at, field="at")
    return ondemand_windows.get_cover_status(
        uow,
        principal.tenant_id,
        object_ref,
        at=instant,
        subscription_id=subscription_id,
        now=now,
        public_base_url=issuer.public_base_url,
    )
