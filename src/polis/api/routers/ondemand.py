"""On-demand micro-policies over HTTP, for partners (API key; a tenant only ever sees its own
customers, subscriptions, windows, certificates and statements — another tenant's answers 404,
exactly like a missing one).

Every creating call (customers, subscriptions, activations, extensions, stops, cancellations)
requires an ``Idempotency-Key``: a retried activation returns the same window and never charges
twice, also under concurrent retries (``polis.api.idempotency``).

Certificates can be checked by anyone: ``GET /v1/certificates/{number}/verify`` and
``POST /v1/certificates/verify`` (a PDF) need no key, like the ``/verify/{number}`` page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile, status

from polis.api.deps import CurrentPrincipal, new_uow
from polis.api.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotent
from polis.config import Settings
from polis.kernel.errors import InvalidInput
from polis.kernel.time import ensure_utc, parse_instant, utc_now
from polis.policies.certificate import Insurer
from polis.services import (
    ondemand_billing,
    ondemand_certificates,
    ondemand_customers,
    ondemand_subscriptions,
    ondemand_windows,
)
from polis.services.ondemand_billing import LedgerEntryView
from polis.services.ondemand_certificates import (
    CertificateIssuer,
    CertificateView,
    RevokeIn,
    VerificationView,
)
from polis.services.ondemand_customers import CustomerIn, CustomerView, VerificationIn
from polis.services.ondemand_subscriptions import SubscriptionIn, SubscriptionView
from polis.services.ondemand_windows import (
    ActivationIn,
    ActivationView,
    ChangeView,
    CoverStatusView,
    ExtendIn,
    StopIn,
    WindowView,
)
from polis.services.signing_keys import certificate_signer
from polis.store import SqlUnitOfWork

__all__ = ["activation_slot", "certificate_issuer", "clock_of", "public_router", "router"]

router = APIRouter(prefix="/v1", tags=["on-demand"])
public_router = APIRouter(prefix="/v1", tags=["certificates (public)"])

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]
_PDF_MAX = 5 * 1024 * 1024


def certificate_issuer(request: Request) -> CertificateIssuer:
    """The app's certificate issuer (signing key, public address, insurer), built once."""
    issuer: CertificateIssuer | None = getattr(request.app.state, "ondemand_issuer", None)
    if issuer is None:
        settings: Settings = request.app.state.settings
        issuer = CertificateIssuer(
            certificate_signer(settings),
            settings.public_base_url,
            Insurer(settings.insurer_name, settings.insurer_address, settings.insurer_registration),
        )
        request.app.state.ondemand_issuer = issuer
    return issuer


_SLOTS_LOCK = threading.Lock()


def activation_slot(request: Request) -> threading.BoundedSemaphore:
    """The process's activation slots (``settings.activation_concurrency``): an activation or an
    extension runs when it gets one. They all queue on the window and certificate counters anyway
    (gapless numbers, locked until the commit: ``docs/on-demand.md``), so more of them at once in
    one process only make the one holding the counters wait for the interpreter; capping them
    halved the p99 latency and raised the throughput by about a quarter under 16 concurrent
    clients (``docs/benchmarks.md``)."""
    slots: threading.BoundedSemaphore | None = getattr(request.app.state, "activation_slots", None)
    if slots is None:
        with _SLOTS_LOCK:
            slots = getattr(request.app.state, "activation_slots", None)
            if slots is None:
                settings: Settings = request.app.state.settings
                slots = threading.BoundedSemaphore(settings.activation_concurrency)
                request.app.state.activation_slots = slots
    return slots


def clock_of(request: Request) -> datetime:
    """Now, from ``app.state.clock`` when set (tests, demos), else the system clock."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return ensure_utc(clock()) if clock is not None else utc_now()


async def _issuer(request: Request) -> CertificateIssuer:
    """:func:`certificate_issuer` as a dependency run on the event loop (it does no I/O after the
    first call): a plain ``def`` dependency costs a hop to the thread pool on every request."""
    return certificate_issuer(request)


async def _clock(request: Request) -> datetime:
    return clock_of(request)


Issuer = Annotated[CertificateIssuer, Depends(_issuer)]
Now = Annotated[datetime, Depends(_clock)]


def _json_example(example: Any) -> dict[str, Any]:
    return {"requestBody": {"content": {"application/json": {"example": example}}}}


def _answer(example: Any, code: int = 200) -> dict[int | str, dict[str, Any]]:
    return {code: {"content": {"application/json": {"example": example}}}}


def _creating(example: Any, code: int = 201) -> dict[int | str, dict[str, Any]]:
    return {**IDEMPOTENCY_RESPONSES, **_answer(example, code)}


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
_VERIFY_OUT = {
    "number": "ATT-2026-000001",
    "status": "valid",
    "reason": "in_force",
    "authentic": True,
    "in_force": True,
    "message": "Attestation ATT-2026-000001 authentique et en vigueur : garantie du 13/06/2026 "
    "09:00 (UTC+02:00) au 13/06/2026 11:00 (UTC+02:00).",
}


# --- customers ------------------------------------------------------------------------------------


@router.post(
    "/customers",
    response_model=CustomerView,
    status_code=status.HTTP_201_CREATED,
    summary="Onboard a customer (person, or business with SIREN/SIRET checked by Luhn)",
    description="Requires `Idempotency-Key`. The customer starts `pending` with the starter "
    "tier's limits; verify it before it can subscribe.",
    responses=_creating(_CUSTOMER_OUT),
    openapi_extra=_json_example(_CUSTOMER),
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
    responses=_answer([_CUSTOMER_OUT]),
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
    responses=_answer(_CUSTOMER_OUT),
)
def get_customer(customer_id: str, principal: CurrentPrincipal, uow: Uow, now: Now) -> CustomerView:
    return ondemand_customers.get_customer(uow, principal.tenant_id, customer_id, now=now)


@router.post(
    "/customers/{customer_id}/verify",
    response_model=CustomerView,
    summary="Verify (or reject, or send back to pending) a customer's identity",
    description="By the transition table: pending → verified | rejected (with a reason); "
    "rejected → pending; verified → pending. Anything else is 409.",
    responses=_answer({**_CUSTOMER_OUT, "status": "verified"}),
    openapi_extra=_json_example({"status": "verified"}),
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
    responses=_answer(
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
    responses=_answer(
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


# --- subscriptions and windows --------------------------------------------------------------------


@router.post(
    "/subscriptions",
    response_model=SubscriptionView,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a verified customer to an on-demand product",
    description="Requires `Idempotency-Key`. The exact terms accepted (product, on-demand terms, "
    "options) are snapshotted and hashed (`terms_sha256`); one policy per insured item is "
    "registered, which claims attach to.",
    responses=_creating(_SUBSCRIPTION_OUT),
    openapi_extra=_json_example(_SUBSCRIPTION),
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
    responses=_answer(_SUBSCRIPTION_OUT),
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


@router.post(
    "/subscriptions/{subscription_id}/windows",
    response_model=ActivationView,
    status_code=status.HTTP_201_CREATED,
    summary="Activate cover now or scheduled: the window, its price lines and its certificate",
    description="Requires `Idempotency-Key`: a retry returns the same window and charges once. "
    "Give `end` or `duration`; `start` absent means now. Times without an offset are "
    "Europe/Paris wall-clock times. Only time not already covered for the item is charged.",
    responses=_creating(_ACTIVATION_OUT),
    openapi_extra=_json_example({"object_ref": "camera-1", "duration": "PT2H"}),
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
    def operation() -> tuple[int, ActivationView]:
        with activation_slot(request):
            return 201, ondemand_windows.activate_window(
                new_uow(request),
                principal.tenant_id,
                subscription_id,
                body,
                principal.actor,
                issuer=issuer,
                now=now,
            )

    return idempotent(request, principal, operation)


@router.get(
    "/subscriptions/{subscription_id}/windows",
    response_model=list[WindowView],
    summary="The windows of a subscription",
    responses=_answer([_WINDOW_OUT]),
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
    responses=_answer(_WINDOW_OUT),
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
    responses=_creating(_ACTIVATION_OUT, 200),
    openapi_extra=_json_example({"end": "2026-06-13T13:00:00+02:00"}),
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
    responses=_creating(_CHANGE_OUT, 200),
    openapi_extra=_json_example({}),
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
    responses=_creating({**_CHANGE_OUT, "window": {**_WINDOW_OUT, "state": "cancelled"}}, 200),
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
    responses=_answer(
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


# --- certificates ---------------------------------------------------------------------------------


@router.get(
    "/certificates/{number}.pdf",
    response_class=Response,
    summary="The certificate PDF as issued",
    responses={200: {"content": {"application/pdf": {"example": "%PDF-1.4 …"}}}},
)
def certificate_pdf(number: str, principal: CurrentPrincipal, uow: Uow) -> Response:
    pdf, digest = ondemand_certificates.certificate_pdf(uow, principal.tenant_id, number)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{number.strip()}.pdf"',
            "X-Content-SHA256": digest,
        },
    )


@router.get(
    "/certificates/{number}",
    response_model=CertificateView,
    summary="A certificate's metadata and certified content",
    responses=_answer(
        {
            "number": "ATT-2026-000001",
            "window_id": "WIN-2026-000001",
            "period_start": "2026-06-13T07:00:00Z",
            "period_end": "2026-06-13T09:00:00Z",
            "key_id": "3f2a9c0d1e4b5a67",
            "revoked_at": None,
        }
    ),
)
def get_certificate(
    number: str, principal: CurrentPrincipal, uow: Uow, issuer: Issuer
) -> CertificateView:
    return ondemand_certificates.get_certificate(
        uow, principal.tenant_id, number, public_base_url=issuer.public_base_url
    )


@router.post(
    "/certificates/{number}/revoke",
    response_model=CertificateView,
    summary="Revoke a certificate now (with a reason)",
    openapi_extra=_json_example({"reason": "issued by mistake"}),
)
def revoke_certificate(
    number: str,
    body: RevokeIn,
    principal: CurrentPrincipal,
    uow: Uow,
    issuer: Issuer,
    now: Now,
) -> CertificateView:
    return ondemand_certificates.revoke_certificate(
        uow,
        principal.tenant_id,
        number,
        body,
        principal.actor,
        now=now,
        public_base_url=issuer.public_base_url,
    )


@public_router.get(
    "/certificates/{number}/verify",
    response_model=VerificationView,
    summary="Check a certificate by its number (public, no key)",
    description="`valid`, `not_yet_valid`, `expired`, `revoked`, `unknown` or `tampered` (the "
    "stored content and signature are checked again with the insurer's public key).",
    responses=_answer(_VERIFY_OUT),
)
def verify_number(number: str, uow: Uow, issuer: Issuer, now: Now) -> VerificationView:
    return ondemand_certificates.verify_number(uow, issuer.signer, number, now=now)


@public_router.post(
    "/certificates/verify",
    response_model=VerificationView,
    summary="Check a certificate PDF (public, no key): its embedded signed content",
    description="Upload the PDF as `file` (multipart). The content and Ed25519 signature embedded "
    "in its metadata are checked, and compared with what was issued under its number: an "
    "altered PDF is `tampered`.",
    responses={
        **_answer(_VERIFY_OUT),
        422: {"description": "`certificate.not_embedded`: not a Polis certificate PDF"},
    },
)
def verify_pdf(
    uow: Uow, issuer: Issuer, now: Now, file: Annotated[UploadFile, File()]
) -> VerificationView:
    data = file.file.read(_PDF_MAX + 1)
    if len(data) > _PDF_MAX:
        raise InvalidInput("a certificate PDF is at most 5 MB", field="file")
    return ondemand_certificates.verify_pdf(uow, issuer.signer, data, now=now)
