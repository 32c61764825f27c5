"""A window of cover: its price line by line, its certificate (download, verify), extend, stop
early (with the refund) or cancel; and declaring a claim on a window, with photos."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from polis.api.routers.claims import evidence_store
from polis.config import Settings
from polis.kernel.errors import InvalidInput, NotFound, PolisError
from polis.ondemand.policy_terms import perils_of
from polis.ondemand.windows import parse_when
from polis.policies.certificate import format_local
from polis.rating.pure import Unit
from polis.services import (
    claim_evidence,
    claims,
    ondemand_billing,
    ondemand_certificates,
    ondemand_windows,
)
from polis.services.claim_evidence import EvidenceView, sniff_content_type
from polis.services.ondemand_subscriptions import SubscriptionView
from polis.services.ondemand_windows import WindowView
from polis.web.ondemand_context import (
    SpaceDep,
    issuer_of,
    not_found,
    now_of,
    own_subscription,
    own_window,
    page,
    product,
    subscription_prices,
    today_of,
    uow_of,
)
from polis.web.ondemand_forms import local_input, pure_note
from polis.web.ondemand_space import PRIVATE, Space, check_csrf
from polis.web.quote_form import normalise_number
from polis.web.rendering import lang_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form()]
_MAX_PHOTOS = 10


# --- the window -----------------------------------------------------------------------------------


def window_response(
    request: Request,
    space: Space,
    window_id: str,
    *,
    error: PolisError | None = None,
    posted: dict[str, str] | None = None,
) -> Response:
    try:
        window = own_window(request, space, window_id)
        sub = own_subscription(request, space, window.subscription_id)
    except NotFound as e:
        return not_found(request, e, space)
    entries = [
        e
        for e in ondemand_billing.customer_ledger(
            uow_of(request), space.tenant_id, space.customer_id
        )
        if e.window_id == window.id
    ]
    prices = subscription_prices(sub, today_of(request))
    notes = {e.id: pure_note(e.entry, e.reason, prices, Unit(sub.unit)) for e in entries}
    paid = sum((Decimal(e.total) for e in entries), Decimal("0.00"))
    taxes = sum((Decimal(e.taxes) for e in entries), Decimal("0.00"))
    return page(
        request,
        "ondemand/window.html",
        space=space,
        error=error,
        window=window,
        sub=sub,
        item=product(sub.product, today_of(request), sub.product_version),
        prices=prices,
        entries=entries,
        notes=notes,
        paid=paid,
        taxes=taxes,
        values={"end": local_input(window.end + timedelta(hours=1))} | (posted or {}),
        done=request.query_params.get("done", ""),
    )


@router.get("/ondemand/windows/{window_id}", response_class=HTMLResponse)
def window_page(request: Request, window_id: str, space: SpaceDep) -> Response:
    return window_response(request, space, window_id)


def _change(
    request: Request, space: Space, window_id: str, csrf: str, action: str, end: str
) -> Response:
    uow, now = uow_of(request), now_of(request)
    try:
        check_csrf(request, space, csrf)
        window = own_window(request, space, window_id)
        if action == "extend":
            ondemand_windows.extend_window(
                uow,
                space.tenant_id,
                window.id,
                {"end": end},
                space.actor,
                issuer=issuer_of(request),
                now=now,
            )
        elif action == "stop":
            ondemand_windows.stop_window(uow, space.tenant_id, window.id, {}, space.actor, now=now)
        else:
            ondemand_windows.cancel_window(uow, space.tenant_id, window.id, space.actor, now=now)
    except NotFound as e:
        return not_found(request, e, space)
    except PolisError as e:
        return window_response(request, space, window_id, error=e, posted={"end": end})
    done = {"extend": "extended", "stop": "stopped", "cancel": "cancelled"}[action]
    target = f"/ondemand/windows/{quote(window_id)}?done={done}"
    return RedirectResponse(target, status_code=303, headers=PRIVATE)


@router.post("/ondemand/windows/{window_id}/extend", response_class=HTMLResponse)
def extend(
    request: Request,
    window_id: str,
    space: SpaceDep,
    csrf: Csrf,
    end: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    return _change(request, space, window_id, csrf, "extend", end)


@router.post("/ondemand/windows/{window_id}/stop", response_class=HTMLResponse)
def stop(request: Request, window_id: str, space: SpaceDep, csrf: Csrf) -> Response:
    return _change(request, space, window_id, csrf, "stop", "")


@router.post("/ondemand/windows/{window_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, window_id: str, space: SpaceDep, csrf: Csrf) -> Response:
    return _change(request, space, window_id, csrf, "cancel", "")


@router.get("/ondemand/certificates/{number}.pdf")
def certificate_pdf(request: Request, number: str, space: SpaceDep) -> Response:
    """The certificate as issued, as a download (``Télécharger l'attestation``)."""
    uow = uow_of(request)
    try:
        certificate = ondemand_certificates.get_certificate(uow, space.tenant_id, number)
        own_subscription(request, space, certificate.subscription_id)
        pdf, digest = ondemand_certificates.certificate_pdf(uow, space.tenant_id, number)
    except NotFound as e:
        return not_found(request, e, space)
    return Response(
        pdf,
        media_type="application/pdf",
        headers=PRIVATE
        | {
            "Content-Disposition": f'attachment; filename="{certificate.number}.pdf"',
            "X-Content-SHA256": digest,
        },
    )


# --- claims ---------------------------------------------------------------------------------------


def _claimable(request: Request, space: Space, sub: SubscriptionView) -> list[WindowView]:
    """The subscription's windows a loss can have happened in: started and not cancelled."""
    now = now_of(request)
    windows = ondemand_windows.list_windows(uow_of(request), space.tenant_id, sub.id, now=now)
    return sorted(
        (w for w in windows if w.state != "cancelled" and w.start <= now),
        key=lambda w: w.start,
        reverse=True,
    )


def _perils(sub: SubscriptionView, request: Request) -> list[tuple[str, str, str]]:
    """``(cover id, cover name, peril)`` of every cover of the product."""
    found = product(sub.product, today_of(request), sub.product_version)
    lang = lang_of(request)
    return [
        (cover.id, str(getattr(cover.name, lang)), peril)
        for cover in found.entry.product.covers
        for peril in perils_of(cover.id, cover.line)
    ]


def claim_response(
    request: Request,
    space: Space,
    subscription_id: str,
    *,
    error: PolisError | None = None,
    posted: dict[str, str] | None = None,
) -> Response:
    try:
        sub = own_subscription(request, space, subscription_id)
    except NotFound as e:
        return not_found(request, e, space)
    return page(
        request,
        "ondemand/claim.html",
        space=space,
        error=error,
        sub=sub,
        windows=_claimable(request, space, sub),
        perils=_perils(sub, request),
        values={"window": request.query_params.get("window", "")} | (posted or {}),
        max_photos=_MAX_PHOTOS,
    )


@router.get("/ondemand/subscriptions/{subscription_id}/claim", response_class=HTMLResponse)
def claim_page(
    request: Request,
    subscription_id: str,
    space: SpaceDep,
    window: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    del window  # read by claim_response (preselected)
    return claim_response(request, space, subscription_id)


@router.post("/ondemand/subscriptions/{subscription_id}/claim", response_class=HTMLResponse)
async def declare(request: Request, subscription_id: str, space: SpaceDep) -> Response:
    form = await request.form(max_files=_MAX_PHOTOS + 1)
    try:
        posted = {k: v for k, v in form.items() if isinstance(v, str)}
        photos = [
            (f.filename or "photo", f.file)
            for f in form.getlist("photos")
            if isinstance(f, UploadFile) and f.filename
        ]
        return await run_in_threadpool(_declare, request, subscription_id, space, posted, photos)
    finally:
        await form.close()


def _size(source: BinaryIO) -> int:
    source.seek(0, 2)
    size = source.tell()
    source.seek(0)
    return size


def _check_photos(settings: Settings, photos: list[tuple[str, BinaryIO]]) -> None:
    """Refuse, before anything is declared, a file the evidence store would refuse."""
    if len(photos) > _MAX_PHOTOS:
        raise InvalidInput(f"at most {_MAX_PHOTOS} files", field="photos", code="ondemand.photos")
    for name, source in photos:
        kind = sniff_content_type(source.read(16))
        source.seek(0)
        if kind not in settings.evidence_types:
            raise InvalidInput(
                f"{name}: not a photo or PDF this insurer accepts",
                field="photos",
                code="evidence.type_refused",
                name=name,
            )
        if _size(source) > settings.evidence_max_bytes:
            raise InvalidInput(
                f"{name} is larger than {settings.evidence_max_bytes} bytes",
                field="photos",
                code="evidence.too_large",
                name=name,
            )


def _claim_payload(
    request: Request, space: Space, sub: SubscriptionView, posted: dict[str, str]
) -> dict[str, Any]:
    now = now_of(request)
    try:
        window = own_window(request, space, posted.get("window", ""))
    except NotFound as e:
        raise InvalidInput("choose the window of cover", field="window") from e
    if window.subscription_id != sub.id or window.state == "cancelled":
        raise InvalidInput("choose the window of cover", field="window")
    cover_id, _, peril = posted.get("peril", "").partition(":")
    if (cover_id, peril) not in {(c, p) for c, _, p in _perils(sub, request)}:
        raise InvalidInput("choose what happened", field="peril", code="ondemand.required")
    text = posted.get("loss_at", "").strip()
    loss_at = parse_when(text, field="loss_at") if text else now
    if loss_at > now:
        raise InvalidInput(
            "the loss cannot be in the future", field="loss_at", code="ondemand.future"
        )
    if not window.start <= loss_at < window.end:
        raise InvalidInput(
            "the loss is outside the window of cover",
            field="loss_at",
            code="ondemand.outside_window",
            start=format_local(window.start),
            end=format_local(window.end),
        )
    amount = normalise_number(posted.get("estimated_amount", ""))
    try:
        estimate = Decimal(amount)
    except InvalidOperation as e:
        raise InvalidInput("give an estimate in euros", field="estimated_amount") from e
    return {
        "policy_id": window.policy_id,
        "cover_id": cover_id,
        "peril": peril,
        "loss_at": loss_at.isoformat(),
        "description": posted.get("description", "").strip(),
        "estimated_amount": estimate,
        "circumstances": posted.get("circumstances", "").strip(),
    }


def _declare(
    request: Request,
    subscription_id: str,
    space: Space,
    posted: dict[str, str],
    photos: list[tuple[str, BinaryIO]],
) -> Response:
    settings: Settings = request.app.state.settings
    try:
        check_csrf(request, space, posted.get("csrf", ""))
        sub = own_subscription(request, space, subscription_id)
        payload = _claim_payload(request, space, sub, posted)
        _check_photos(settings, photos)
        declared = claims.declare_claim(
            uow_of(request), space.tenant_id, payload, space.actor, declared_at=now_of(request)
        )
    except NotFound as e:
        return not_found(request, e, space)
    except PolisError as e:
        return claim_response(request, space, subscription_id, error=e, posted=posted)
    store = evidence_store(settings)
    stored: list[EvidenceView] = []
    refused: PolisError | None = None
    for name, source in photos:
        try:
            stored.append(
                claim_evidence.add_evidence(
                    uow_of(request),
                    store,
                    space.tenant_id,
                    declared.claim.id,
                    source,
                    name,
                    space.actor,
                )
            )
        except PolisError as e:  # the claim is declared: say which file was not kept
            refused = e
    return page(
        request,
        "ondemand/claimed.html",
        201,
        space=space,
        error=refused,
        sub=sub,
        claim=declared.claim,
        insured_link=str(request.base_url).rstrip("/") + declared.insured_path,
        evidence=stored,
    )
