"""Choosing a product, subscribing, and the subscription's page: "covered now", activation (now or
scheduled), the windows, and the calendar that opens cover by itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from polis.config import Settings
from polis.kernel.errors import InvalidInput, NotFound, PolisError
from polis.kernel.time import to_local
from polis.ondemand.rates import rate_card
from polis.ondemand.terms import TermsNotFound
from polis.policies.catalogue import ProductNotFound
from polis.rating.pure import Unit
from polis.services import ondemand_subscriptions, ondemand_windows, triggers
from polis.services.ondemand_subscriptions import SubscriptionView
from polis.services.triggers import FetchLimits
from polis.web.ondemand_context import (
    OnDemandProduct,
    SpaceDep,
    customer_of,
    issuer_of,
    not_found,
    now_of,
    own_subscription,
    page,
    product,
    subscription_prices,
    today_of,
    uow_of,
    value_label,
)
from polis.web.ondemand_forms import (
    activation_payload,
    local_input,
    option_fields,
    price_card,
    reference_risk,
    subscription_payload,
)
from polis.web.ondemand_space import PRIVATE, Space, WebTenantMissing, check_csrf, current_space
from polis.web.quote_form import form_values
from polis.web.rendering import lang_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form()]
Text = Annotated[str, Form(max_length=2000)]


# --- choose a product -----------------------------------------------------------------------------


def _product_page(
    request: Request,
    item: OnDemandProduct,
    space: Space | None,
    posted: dict[str, str] | None = None,
    error: PolisError | None = None,
) -> Response:
    lang = lang_of(request)
    terms = item.terms.terms
    fields = option_fields(item.entry.product, terms, lang, value_label(request))
    values = form_values(fields, posted) | {
        k: v for k, v in (posted or {}).items() if k not in {f.name for f in fields}
    }
    card = rate_card(
        item.entry.product,
        terms,
        unit=terms.units[0],
        risk=reference_risk(item.entry.product, terms),
    )
    return page(
        request,
        "ondemand/product.html",
        space=space,
        error=error,
        item=item,
        terms=terms,
        lang=lang,
        fields=fields,
        values=values,
        prices=price_card(card, terms, today_of(request)),
        exclusions=[
            {
                "id": e.id,
                "title": getattr(e.title, lang),
                "text": getattr(e.text, lang),
                "covered": getattr(e.covered, lang),
                "not_covered": getattr(e.not_covered, lang),
            }
            for e in terms.exclusions
        ],
        customer=customer_of(request, space) if space else None,
        label=value_label(request),
    )


@router.get("/ondemand/products/{product_id}", response_class=HTMLResponse)
def product_page(request: Request, product_id: str) -> Response:
    try:
        space = current_space(request)
        item = product(product_id, today_of(request))
    except WebTenantMissing:
        return RedirectResponse("/ondemand", status_code=303)
    except (ProductNotFound, TermsNotFound) as e:
        return not_found(request, e)
    return _product_page(request, item, space)


@router.post("/ondemand/products/{product_id}", response_class=HTMLResponse)
async def subscribe(request: Request, product_id: str, space: SpaceDep) -> Response:
    posted = {k: str(v) for k, v in (await request.form()).items()}
    return await run_in_threadpool(_subscribe, request, product_id, space, posted)


def _subscribe(request: Request, product_id: str, space: Space, posted: dict[str, str]) -> Response:
    try:
        item = product(product_id, today_of(request), posted.get("version") or None)
    except (ProductNotFound, TermsNotFound) as e:
        return not_found(request, e, space)
    terms = item.terms.terms
    fields = option_fields(item.entry.product, terms, lang_of(request), value_label(request))
    try:
        check_csrf(request, space, posted.get("csrf", ""))
        payload = subscription_payload(
            space.customer_id, item.id, item.entry.product.version, terms, fields, posted
        )
        view = ondemand_subscriptions.create_subscription(
            uow_of(request), space.tenant_id, payload, space.actor, now=now_of(request)
        )
    except PolisError as e:
        return _product_page(request, item, space, posted, e)
    target = f"/ondemand/subscriptions/{quote(view.id)}?subscribed=1"
    return RedirectResponse(target, status_code=303, headers=PRIVATE)


# --- the subscription -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """An item's connected calendar: its source, last sync, issues and missions."""

    source: str
    url: str | None
    last_synced_at: datetime | None
    margin_before: int
    margin_after: int
    issues: list[dict[str, Any]]
    missions: list[dict[str, Any]]


def _calendars(request: Request, subscription: SubscriptionView) -> dict[str, CalendarInfo]:
    uow = uow_of(request)
    found = {}
    with uow:
        for item in subscription.items:
            row = uow.ondemand.calendar(subscription.id, item["ref"])
            if row is None:
                continue
            missions = [
                {
                    "summary": m.summary,
                    "start": m.mission_start,
                    "end": m.mission_end,
                    "status": m.mission_status,
                    "cover_start": m.cover_start,
                    "cover_end": m.cover_end,
                    "cover_status": m.cover_status,
                }
                for m in uow.ondemand.missions(subscription.id, item["ref"])
                if m.mission_start is not None and m.mission_end is not None
            ]
            found[item["ref"]] = CalendarInfo(
                row.source,
                row.url,
                row.last_synced_at,
                row.margin_before_s // 60,
                row.margin_after_s // 60,
                json.loads(row.issues),
                sorted(missions, key=lambda m: m["start"]),
            )
    return found


def _defaults(request: Request) -> dict[str, str]:
    """The activation forms' first values: 2 hours, 1 day, or from the next full hour for 2 h."""
    local = to_local(now_of(request)).replace(minute=0, second=0, microsecond=0)
    start = local + timedelta(hours=1)
    return {
        "hours": "2",
        "days": "1",
        "start": local_input(start),
        "end": local_input(start + timedelta(hours=2)),
    }


def subscription_response(
    request: Request,
    space: Space,
    subscription_id: str,
    *,
    error: PolisError | None = None,
    form: str = "",
    posted: dict[str, str] | None = None,
) -> Response:
    """The subscription's page (with the error of the form ``form`` when one was refused)."""
    try:
        view = own_subscription(request, space, subscription_id)
    except NotFound as e:
        return not_found(request, e, space)
    now = now_of(request)
    uow = uow_of(request)
    item = product(view.product, today_of(request), view.product_version)
    status = {
        i["ref"]: ondemand_windows.get_cover_status(
            uow, space.tenant_id, i["ref"], subscription_id=view.id, now=now
        )
        for i in view.items
    }
    windows = ondemand_windows.list_windows(uow, space.tenant_id, view.id, now=now)
    return page(
        request,
        "ondemand/subscription.html",
        space=space,
        error=error,
        form=form,
        sub=view,
        item=item,
        lang=lang_of(request),
        terms=item.terms.terms,
        prices=subscription_prices(view, today_of(request)),
        covers=status,
        windows=sorted(windows, key=lambda w: w.start, reverse=True),
        calendars=_calendars(request, view),
        values=_defaults(request) | {k: v for k, v in (posted or {}).items() if v},
        label=value_label(request),
        subscribed=request.query_params.get("subscribed") == "1",
    )


@router.get("/ondemand/subscriptions/{subscription_id}", response_class=HTMLResponse)
def subscription_page(request: Request, subscription_id: str, space: SpaceDep) -> Response:
    return subscription_response(request, space, subscription_id)


@router.get("/ondemand/subscriptions/{subscription_id}/terms.json")
def terms_snapshot(request: Request, subscription_id: str, space: SpaceDep) -> Response:
    """The terms exactly as accepted (canonical JSON; its SHA-256 is the hash shown)."""
    try:
        own_subscription(request, space, subscription_id)
    except NotFound as e:
        return not_found(request, e, space)
    text, digest = ondemand_subscriptions.terms_snapshot_text(
        uow_of(request), space.tenant_id, subscription_id
    )
    return Response(
        text.encode("utf-8"),
        media_type="application/json",
        headers=PRIVATE | {"X-Content-SHA256": digest},
    )


@router.post("/ondemand/subscriptions/{subscription_id}/activate", response_class=HTMLResponse)
def activate(
    request: Request,
    subscription_id: str,
    space: SpaceDep,
    csrf: Csrf,
    mode: Text = "now",
    object_ref: Text = "",
    hours: Text = "",
    days: Text = "",
    start: Text = "",
    end: Text = "",
) -> Response:
    posted = {"mode": mode, "hours": hours, "days": days, "start": start, "end": end}
    now = now_of(request)
    try:
        check_csrf(request, space, csrf)
        view = own_subscription(request, space, subscription_id)
        payload = activation_payload(posted, Unit(view.unit), now, object_ref or None)
        done = ondemand_windows.activate_window(
            uow_of(request),
            space.tenant_id,
            view.id,
            payload,
            space.actor,
            issuer=issuer_of(request),
            now=now,
        )
    except NotFound as e:
        return not_found(request, e, space)
    except PolisError as e:
        return subscription_response(
            request, space, subscription_id, error=e, form=mode, posted=posted
        )
    target = f"/ondemand/windows/{quote(done.window.id)}?done=activated"
    return RedirectResponse(target, status_code=303, headers=PRIVATE)


# --- calendar -------------------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("/ondemand/subscriptions/{subscription_id}/calendar", response_class=HTMLResponse)
async def calendar(request: Request, subscription_id: str, space: SpaceDep) -> Response:
    """Connect a calendar: an uploaded ICS file, or an ICS address to fetch (and fetch again)."""
    limit = _settings(request).calendar_max_bytes
    form = await request.form()
    try:
        posted = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("ics")
        data = b""
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(limit + 1)
    finally:
        await form.close()
    return await run_in_threadpool(_calendar, request, subscription_id, space, posted, data)


def _calendar(
    request: Request, subscription_id: str, space: Space, posted: dict[str, str], data: bytes
) -> Response:
    settings = _settings(request)
    url = posted.get("url", "").strip()
    options: dict[str, Any] = {
        "object_ref": posted.get("object_ref") or None,
        "margin_before_minutes": _minutes(posted.get("margin_before_minutes", "")),
        "margin_after_minutes": _minutes(posted.get("margin_after_minutes", "")),
        "acceptance": posted.get("acceptance") or "confirmed_only",
    }
    uow, issuer, now = uow_of(request), issuer_of(request), now_of(request)
    try:
        check_csrf(request, space, posted.get("csrf", ""))
        view = own_subscription(request, space, subscription_id)
        if data:
            result = triggers.import_ics(
                uow,
                space.tenant_id,
                view.id,
                data,
                options,
                space.actor,
                issuer=issuer,
                now=now,
                max_bytes=settings.calendar_max_bytes,
            )
        elif url:
            limits = FetchLimits(
                settings.calendar_fetch_timeout_seconds,
                settings.calendar_max_bytes,
                settings.calendar_fetch_allow_private,
            )
            result = triggers.sync_calendar_url(
                uow,
                space.tenant_id,
                view.id,
                options | {"url": url},
                space.actor,
                issuer=issuer,
                limits=limits,
                now=now,
            )
        else:
            raise InvalidInput("choose an ICS file or give its address", field="ics")
    except NotFound as e:
        return not_found(request, e, space)
    except PolisError as e:
        return subscription_response(
            request, space, subscription_id, error=e, form="calendar", posted=posted
        )
    return page(request, "ondemand/calendar.html", space=space, sub=view, result=result)


def _minutes(text: str) -> int | str:
    """A margin in minutes as typed (the service checks 0…1440 and names the field)."""
    cleaned = text.strip()
    return int(cleaned) if cleaned.isdigit() else (cleaned or 0)
