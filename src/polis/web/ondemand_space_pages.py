"""The on-demand catalogue, the sign-up and the insured's personal space (and its statements)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from polis.kernel.errors import InvalidInput, NotFound, PolisError
from polis.ondemand.rates import rate_card
from polis.policies.certificate import format_local
from polis.services import (
    ondemand_billing,
    ondemand_customers,
    ondemand_windows,
    ondemand_withdrawal,
)
from polis.services.ondemand_customers import CustomerView
from polis.web.i18n import translator
from polis.web.ondemand_context import (
    OnDemandProduct,
    SpaceDep,
    customer_of,
    month_of,
    now_of,
    other_month,
    own_subscription,
    page,
    product,
    products,
    subscriptions_of,
    today_of,
    uow_of,
    value_label,
)
from polis.web.ondemand_forms import PriceCard, price_card, reference_risk, signup_payload
from polis.web.ondemand_space import (
    PRIVATE,
    Space,
    WebTenantMissing,
    check_csrf,
    check_form_csrf,
    clear_space,
    current_space,
    form_csrf,
    open_space,
    set_form_cookie,
    set_space_cookie,
    space_from_token,
    web_tenant,
)
from polis.web.quote_form import Formatter
from polis.web.rendering import lang_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form()]


def _unavailable(request: Request, error: WebTenantMissing) -> Response:
    return page(request, "ondemand/unavailable.html", 503, error=error)


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    item: OnDemandProduct
    prices: PriceCard
    profile: list[tuple[str, str]]  # the example the prices are for: (field label, value label)


def _catalogue_row(item: OnDemandProduct, request: Request) -> CatalogueRow:
    lang = lang_of(request)
    label = value_label(request)
    product, terms = item.entry.product, item.terms.terms
    risk = reference_risk(product, terms)
    card = rate_card(product, terms, unit=terms.units[0], risk=risk)
    profile = []
    for name, value in risk.items():
        spec = product.risk.get(name)
        title = str(getattr(spec.label, lang)) if spec and spec.label else name
        profile.append((title, label(name, str(value)) or str(value)))
    t = translator(lang)
    amount = Formatter(lang).money(terms.sum_insured.default)
    profile.append((t(f"ondemand.sum_insured.{terms.scope.value}"), amount))
    return CatalogueRow(item, price_card(card, terms, today_of(request)), profile)


@router.get("/ondemand", response_class=HTMLResponse)
def index(request: Request) -> Response:
    try:
        web_tenant(request)
        space = current_space(request)
    except WebTenantMissing as e:
        return _unavailable(request, e)
    rows = [_catalogue_row(p, request) for p in products(today_of(request))]
    return page(
        request,
        "ondemand/index.html",
        space=space,
        rows=rows,
        lang=lang_of(request),
        label=value_label(request),
    )


# --- sign up --------------------------------------------------------------------------------------


def _signup(
    request: Request, form: dict[str, str], status: int = 200, error: PolisError | None = None
) -> Response:
    cookie, token = form_csrf(request)
    response = page(
        request, "ondemand/signup.html", status, error=error, form=form, signup_csrf=token
    )
    set_form_cookie(request, response, cookie)
    return response


@router.get("/ondemand/signup", response_class=HTMLResponse)
def signup_page(request: Request) -> Response:
    try:
        web_tenant(request)
    except WebTenantMissing as e:
        return _unavailable(request, e)
    return _signup(request, {"kind": "person"})


@router.post("/ondemand/signup", response_class=HTMLResponse)
async def signup(request: Request) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        tenant = web_tenant(request)
    except WebTenantMissing as e:
        return _unavailable(request, e)
    try:
        check_form_csrf(request, form.get("csrf", ""))
        payload = signup_payload(form, lang_of(request))
        created = ondemand_customers.create_customer(
            uow_of(request), tenant, payload, "insured:web", now=now_of(request)
        )
    except PolisError as e:
        return _signup(request, form, error=e)
    response = RedirectResponse("/ondemand/me?welcome=1", status_code=303, headers=PRIVATE)
    open_space(request, response, tenant, created.id)
    return response


# --- the personal space ---------------------------------------------------------------------------


def _space_page(
    request: Request, space: Space, customer: CustomerView, error: PolisError | None = None
) -> Response:
    subscriptions = subscriptions_of(request, space)
    now = now_of(request)
    status = {
        (s.id, ref): ondemand_windows.get_cover_status(
            uow_of(request), space.tenant_id, ref, subscription_id=s.id, now=now
        )
        for s in subscriptions
        for ref in (item["ref"] for item in s.items)
    }
    lang, day = lang_of(request), today_of(request)
    names = {s.id: product(s.product, day, s.product_version).name(lang) for s in subscriptions}
    withdrawals = {
        s.id: ondemand_withdrawal.get_withdrawal_terms(uow_of(request), space.tenant_id, s.id)
        for s in subscriptions
    }
    link = f"{str(request.base_url).rstrip('/')}/ondemand/me?token={quote(space.token)}"
    return page(
        request,
        "ondemand/space.html",
        space=space,
        error=error,
        customer=customer,
        subscriptions=subscriptions,
        covers=status,
        names=names,
        withdrawals=withdrawals,
        withdrawal_open={k: w.deadline > now for k, w in withdrawals.items()},
        day_text=lambda d: d.strftime("%d/%m/%Y") if lang == "fr" else d.isoformat(),
        withdrawn=request.query_params.get("withdrawn", ""),
        personal_link=link,
        month=month_of(request),
        welcome=request.query_params.get("welcome") == "1",
    )


@router.get("/ondemand/me", response_class=HTMLResponse)
def my_space(request: Request, token: Annotated[str, Query(max_length=2000)] = "") -> Response:
    try:
        if token:  # the personal link: into the cookie, then out of the address bar
            found = space_from_token(request, token)
            if found is None:
                return page(request, "ondemand/not_found.html", 404)
            response = RedirectResponse("/ondemand/me", status_code=303, headers=PRIVATE)
            set_space_cookie(request, response, found.token)
            return response
        space = current_space(request)
    except WebTenantMissing as e:
        return _unavailable(request, e)
    if space is None:
        return RedirectResponse("/ondemand/signup", status_code=303)
    try:
        customer = customer_of(request, space)
    except NotFound:  # the customer is gone (another database): forget the space
        response = RedirectResponse("/ondemand/signup", status_code=303)
        clear_space(response)
        return response
    return _space_page(request, space, customer)


@router.post("/ondemand/me/verify", response_class=HTMLResponse)
def verify_identity(request: Request, space: SpaceDep, csrf: Csrf) -> Response:
    """**Demo shortcut**: the insured marks their own identity as verified. A real deployment
    verifies documents (KYC) and calls ``POST /v1/customers/{id}/verify`` as the insurer."""
    try:
        check_csrf(request, space, csrf)
        ondemand_customers.set_verification(
            uow_of(request),
            space.tenant_id,
            space.customer_id,
            {"status": "verified", "reason": "demo shortcut of the web pages"},
            space.actor,
            now=now_of(request),
        )
    except PolisError as e:
        return _space_page(request, space, customer_of(request, space), error=e)
    return RedirectResponse("/ondemand/me", status_code=303, headers=PRIVATE)


@router.post("/ondemand/me/subscriptions/{subscription_id}/withdraw", response_class=HTMLResponse)
def withdraw(request: Request, space: SpaceDep, subscription_id: str, csrf: Csrf) -> Response:
    """The "Renoncer" button: withdraw from one's own subscription (right of withdrawal)."""
    try:
        check_csrf(request, space, csrf)
        own = own_subscription(request, space, subscription_id)
        ondemand_withdrawal.withdraw_subscription(
            uow_of(request), space.tenant_id, own.id, {}, space.actor, now=now_of(request)
        )
    except PolisError as e:
        return _space_page(request, space, customer_of(request, space), error=e)
    target = f"/ondemand/me?withdrawn={quote(own.id)}#subscriptions"
    return RedirectResponse(target, status_code=303, headers=PRIVATE)


@router.post("/ondemand/me/forget")
def forget(request: Request, space: SpaceDep, csrf: Csrf) -> Response:
    """Remove the space's cookie from this browser (the personal link still opens it)."""
    check_csrf(request, space, csrf)
    response = RedirectResponse("/ondemand", status_code=303, headers=PRIVATE)
    clear_space(response)
    return response


# --- monthly statements ---------------------------------------------------------------------------


def _iso_local(text: str | None) -> str:
    """An ISO instant of a statement as Europe/Paris wall-clock time with its offset."""
    return format_local(datetime.fromisoformat(text)) if text else ""


@router.get("/ondemand/me/statement", response_class=HTMLResponse)
def statement_page(
    request: Request, space: SpaceDep, month: Annotated[str, Query(max_length=7)] = ""
) -> Response:
    chosen, error = month.strip() or month_of(request), None
    uow = uow_of(request)
    try:
        data = ondemand_billing.statement(uow, space.tenant_id, space.customer_id, chosen)
    except InvalidInput as e:
        chosen, error = month_of(request), e
        data = ondemand_billing.statement(uow, space.tenant_id, space.customer_id, chosen)
    return page(
        request,
        "ondemand/statement.html",
        422 if error else 200,
        space=space,
        error=error,
        data=data,
        month=chosen,
        previous=other_month(chosen, -1),
        following=other_month(chosen, 1),
        iso_local=_iso_local,
    )


def _download(request: Request, space: SpaceDep, month: str, kind: str) -> Response:
    chosen = month.strip() or month_of(request)
    uow = uow_of(request)
    try:
        if kind == "pdf":
            body: bytes = ondemand_billing.statement_pdf(
                uow,
                space.tenant_id,
                space.customer_id,
                chosen,
                lang=lang_of(request),
                now=now_of(request),
            )
        else:
            data = ondemand_billing.statement(uow, space.tenant_id, space.customer_id, chosen)
            body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    except InvalidInput as e:
        return JSONResponse({"error": e.to_dict()}, status_code=422, headers=PRIVATE)
    disposition = f'attachment; filename="releve-{chosen}.{kind}"'
    return Response(
        body,
        media_type="application/pdf" if kind == "pdf" else "application/json",
        headers=PRIVATE | {"Content-Disposition": disposition},
    )


@router.get("/ondemand/me/statement.json")
def statement_json(
    request: Request, space: SpaceDep, month: Annotated[str, Query(max_length=7)] = ""
) -> Response:
    return _download(request, space, month, "json")


@router.get("/ondemand/me/statement.pdf")
def statement_pdf(
    request: Request, space: SpaceDep, month: Annotated[str, Query(max_length=7)] = ""
) -> Response:
    return _download(request, space, month, "pdf")
