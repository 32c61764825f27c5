"""On-demand micro-policies over HTTP, for partners (API key; a tenant only ever sees its own
customers, subscriptions, windows, certificates and statements — another tenant's answers 404,
exactly like a missing one).

Every creating call (customers, subscriptions, activations, extensions, stops, cancellations)
requires an ``Idempotency-Key``: a retried activation returns the same window and never charges
twice, also under concurrent retries (``polis.api.idempotency``).

Certificates can be checked by anyone: ``GET /v1/certificates/{number}/verify`` and
``POST /v1/certificates/verify`` (a PDF) need no key, like the ``/verify/{number}`` page.

The routes are in :mod:`.ondemand_customers` (customers, statements, ledger, subscriptions),
:mod:`.ondemand_windows` (windows and cover status) and :mod:`.ondemand_certificates` (certificates
and their public verification); this module holds what they share: the certificate issuer, the
clock, the activation slots, the unit of work and the OpenAPI example helpers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from polis.api.deps import new_uow
from polis.api.idempotency import IDEMPOTENCY_RESPONSES
from polis.config import Settings
from polis.kernel.time import ensure_utc, utc_now
from polis.policies.certificate import Insurer
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.signing_keys import certificate_signer
from polis.store import SqlUnitOfWork

__all__ = [
    "Issuer",
    "Now",
    "Uow",
    "activation_slot",
    "answer",
    "certificate_issuer",
    "clock_of",
    "creating",
    "json_example",
]

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]


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


def activation_slot(request: Request) -> threading.BoundedSemaphore:
    """The process's activation slots (``settings.activation_slots``): an activation or an
    extension runs when it gets one. The activations of a tenant queue on its audit chain's lock for
    their last statements (``docs/on-demand.md``), so more of them at once in one process only make
    the one holding the lock wait for the interpreter; capping them
    halved the p99 latency and raised the throughput by about a quarter under 16 concurrent
    clients (``docs/benchmarks.md``)."""
    slots: threading.BoundedSemaphore = request.app.state.activation_slots  # see create_app
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


def json_example(example: Any) -> dict[str, Any]:
    return {"requestBody": {"content": {"application/json": {"example": example}}}}


def answer(example: Any, code: int = 200) -> dict[int | str, dict[str, Any]]:
    return {code: {"content": {"application/json": {"example": example}}}}


def creating(example: Any, code: int = 201) -> dict[int | str, dict[str, Any]]:
    return {**IDEMPOTENCY_RESPONSES, **answer(example, code)}
