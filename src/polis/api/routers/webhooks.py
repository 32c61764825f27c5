"""Webhook endpoints and their deliveries (API key; a tenant only sees its own: another tenant's
endpoint or delivery answers 404, exactly like a missing one). ``docs/webhooks.md``.

Also the delivery worker and the periodic jobs built from the settings (shared with ``polis
webhooks deliver`` and ``polis worker``), and the server's background task that runs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from polis.api.deps import CurrentPrincipal, new_uow
from polis.api.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotent
from polis.config import Settings
from polis.kernel.errors import PolisError
from polis.logs import get_logger
from polis.notify.mail import mail_sender_from_settings
from polis.notify.webhooks import webhook_sender_from_settings
from polis.ondemand.triggers_partner import PartnerRules
from polis.policies.certificate import Insurer
from polis.services import webhooks
from polis.services.jobs import JOB_NAMES, Jobs, JobSettings, Tick
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.signing_keys import certificate_signer
from polis.services.triggers import FetchLimits
from polis.services.webhooks import (
    CreatedEndpoint,
    DeliveryStatus,
    DeliveryView,
    EndpointView,
    ReplayReport,
    RetryPolicy,
    Worker,
)
from polis.store import SqlUnitOfWork, UnitOfWork

__all__ = ["background_worker", "jobs_from_settings", "log_tick", "router", "worker_from_settings"]

log = get_logger("polis.webhooks")

router = APIRouter(prefix="/v1", tags=["webhooks"])

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1, max_length=2000, examples=["https://partner.example/polis/webhooks"]
    )
    events: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="event types (`window.activated`), prefixes (`window.*`) or `*`; "
        "empty: every event",
        examples=[["window.activated", "window.expired", "claim.status_changed"]],
    )


@router.post(
    "/webhooks",
    response_model=CreatedEndpoint,
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook endpoint (the signing secret is returned this once)",
    description="Requires `Idempotency-Key`. Deliveries are signed with the returned `secret` "
    "(`Polis-Signature: t=…,v1=…`, HMAC-SHA256 of `<t>.<body>`): keep it, it is never shown "
    "again.",
    responses=IDEMPOTENCY_RESPONSES,
)
def register(
    body: EndpointIn,
    principal: CurrentPrincipal,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def operation() -> tuple[int, CreatedEndpoint]:
        created = webhooks.register_endpoint(
            new_uow(request),
            principal.tenant_id,
            url=body.url,
            events=body.events,
            actor=principal.actor,
            allow_private=request.app.state.settings.webhooks_allow_private,
        )
        return status.HTTP_201_CREATED, created

    return idempotent(request, principal, operation)


@router.get("/webhooks", response_model=list[EndpointView], summary="This tenant's endpoints")
def list_endpoints(principal: CurrentPrincipal, uow: Uow) -> list[EndpointView]:
    return webhooks.list_endpoints(uow, principal.tenant_id)


@router.get("/webhooks/{webhook_id}", response_model=EndpointView, summary="One endpoint")
def get_endpoint(webhook_id: str, principal: CurrentPrincipal, uow: Uow) -> EndpointView:
    return webhooks.get_endpoint(uow, principal.tenant_id, webhook_id)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an endpoint (nothing more is sent to it)",
)
def delete_endpoint(webhook_id: str, principal: CurrentPrincipal, uow: Uow) -> Response:
    webhooks.delete_endpoint(uow, principal.tenant_id, webhook_id, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=list[DeliveryView],
    summary="An endpoint's deliveries, newest first",
)
def list_deliveries(
    webhook_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    status_: Annotated[list[DeliveryStatus] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DeliveryView]:
    return webhooks.list_deliveries(
        uow, principal.tenant_id, webhook_id, statuses=status_, limit=limit, offset=offset
    )


@router.post(
    "/webhooks/deliveries/{delivery_id}/replay",
    response_model=DeliveryView,
    summary="Send one delivery again, now (even if delivered or dead)",
    description="The delivery gets a fresh retry budget and is due immediately; the worker posts "
    "it within seconds. The event keeps its id: receivers deduplicate on `Polis-Event-Id`.",
)
def replay_delivery(delivery_id: int, principal: CurrentPrincipal, uow: Uow) -> DeliveryView:
    return webhooks.replay_delivery(uow, principal.tenant_id, delivery_id, actor=principal.actor)


@router.post(
    "/webhooks/{webhook_id}/replay",
    response_model=ReplayReport,
    summary="Send again every event since an instant (those the endpoint's filter matches)",
)
def replay_since(
    webhook_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    since: Annotated[
        AwareDatetime,
        Query(description="ISO 8601 instant with an offset", examples=["2026-03-01T00:00:00Z"]),
    ],
) -> ReplayReport:
    return webhooks.replay_since(uow, principal.tenant_id, webhook_id, since, actor=principal.actor)


# --- the delivery worker (shared with `polis webhooks deliver`) ----------------------------------


def worker_from_settings(
    settings: Settings, uow_factory: Callable[[], UnitOfWork], *, limit: int = 100
) -> Worker:
    """A delivery worker configured by the ``webhook_*`` settings."""
    policy = RetryPolicy.of(
        settings.webhook_max_attempts,
        settings.webhook_backoff_base_seconds,
        settings.webhook_backoff_cap_seconds,
        lease_seconds=max(120.0, 3 * settings.webhook_timeout_seconds),
    )
    return Worker(uow_factory, webhook_sender_from_settings(settings), policy, limit=limit)


def jobs_from_settings(
    settings: Settings,
    uow_factory: Callable[[], UnitOfWork],
    *,
    jobs: Collection[str] = JOB_NAMES,
    limit: int = 100,
) -> Jobs:
    """The periodic jobs (``polis.services.jobs``) configured by the settings: the webhook worker,
    the mail sender, the certificate issuer (none when no signing key is configured: the jobs
    that open windows then report it), calendar fetch limits and re-sync interval."""
    try:
        signer = certificate_signer(settings)
    except PolisError as e:
        log.warning("jobs run without a certificate signing key", error=e.code)
        issuer = None
    else:
        issuer = CertificateIssuer(
            signer,
            settings.public_base_url,
            Insurer(settings.insurer_name, settings.insurer_address, settings.insurer_registration),
        )
    try:
        mail = mail_sender_from_settings(settings)
    except PolisError as e:
        log.warning("jobs run without a mail sender", error=e.code)
        mail = None
    return Jobs(
        uow_factory,
        issuer=issuer,
        deliveries=worker_from_settings(settings, uow_factory, limit=limit),
        mail=mail,
        settings=JobSettings(
            calendar_resync=timedelta(minutes=settings.calendar_resync_minutes),
            calendar_limits=FetchLimits(
                timeout_seconds=settings.calendar_fetch_timeout_seconds,
                max_bytes=settings.calendar_max_bytes,
                allow_private=settings.calendar_fetch_allow_private,
            ),
            max_backdate=timedelta(hours=settings.trigger_max_backdate_hours),
            partner_rules=PartnerRules(
                orphan_stop_after=timedelta(hours=settings.partner_orphan_stop_hours)
            ),
        ),
        jobs=jobs,
    )


def log_tick(tick: Tick) -> None:
    """One log line per job that did something or failed."""
    for result in tick.results:
        if not result.ok:
            log.error("job failed", job=result.job, error=result.error, **result.counts)
        elif not result.idle:
            log.info("job ran", job=result.job, summary=result.summary, **result.counts)


@asynccontextmanager
async def background_worker(
    settings: Settings, factory: sessionmaker[Session]
) -> AsyncIterator[None]:
    """While the server runs, run the periodic jobs in the background (``polis.services.jobs``):
    every job every ``worker_interval_seconds`` when ``settings.runs_jobs_in_process`` (the
    embedded SQLite default), else only the webhook deliveries every
    ``webhook_worker_interval_seconds`` when ``settings.runs_webhook_worker``. On shutdown, the
    current tick finishes, then the loop stops."""
    if settings.runs_jobs_in_process:
        names, interval = JOB_NAMES, settings.worker_interval_seconds
    elif settings.runs_webhook_worker:
        names, interval = ("webhooks",), settings.webhook_worker_interval_seconds
    else:
        yield
        return
    jobs = jobs_from_settings(settings, lambda: SqlUnitOfWork(factory), jobs=names, limit=20)
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if stop.is_set():
                return
            try:
                tick = await asyncio.to_thread(jobs.run_once)
            except Exception:  # the loop must survive a bad tick; it is logged
                log.exception("background jobs tick failed")
                continue
            log_tick(tick)

    task = asyncio.create_task(loop(), name="polis-jobs")
    try:
        yield
    finally:
        stop.set()
        await task
