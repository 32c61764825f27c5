"""What the on-demand pages share: rendering with the space's context, the clock, the products sold
on demand, and reading the space's own subscriptions and windows (anything of another customer
answers the 404 page, exactly like something that does not exist)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response

from polis.api.errors import status_for
from polis.api.routers.ondemand import certificate_issuer, clock_of
from polis.kernel.errors import NotFound, PolisError
from polis.kernel.time import to_local
from polis.ondemand.rates import rate_card
from polis.ondemand.terms import TermsEntry, TermsNotFound, default_terms
from polis.policies.catalogue import CatalogueEntry, ProductNotFound, default_catalogue
from polis.policies.certificate import format_duration, format_local
from polis.rating.pure import Unit
from polis.services import ondemand_customers, ondemand_subscriptions, ondemand_windows
from polis.services.ondemand_customers import CustomerView
from polis.services.ondemand_subscriptions import SubscriptionView
from polis.services.ondemand_windows import WindowView
from polis.store import SqlUnitOfWork
from polis.web.i18n import translator
from polis.web.ondemand_forms import PriceCard, error_text, input_of, price_card
from polis.web.ondemand_space import (
    PRIVATE,
    Space,
    WebTenantMissing,
    current_space,
    space_csrf,
)
from polis.web.quote_form import Formatter
from polis.web.rendering import lang_of, render

__all__ = [
    "OnDemandProduct",
    "SpaceDep",
    "customer_of",
    "issuer_of",
    "now_of",
    "own_subscription",
    "own_window",
    "page",
    "product",
    "products",
    "subscription_prices",
    "subscriptions_of",
    "uow_of",
    "value_label",
]


def uow_of(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.session_factory)


now_of = clock_of
issuer_of = certificate_issuer


def _require_space(request: Request) -> Space:
    """The browser's space, else a redirect to the sign-up (or to the catalogue, which explains
    a missing web tenant)."""
    try:
        space = current_space(request)
    except WebTenantMissing as e:
        raise HTTPException(status_code=303, headers={"Location": "/ondemand"}) from e
    if space is None:
        raise HTTPException(status_code=303, headers={"Location": "/ondemand/signup"})
    return space


SpaceDep = Annotated[Space, Depends(_require_space)]


def value_label(request: Request) -> Callable[[str, str], str | None]:
    """``(field, value) → label`` of a risk value: ours, else the quote page's, else None."""
    t = translator(lang_of(request))

    def label(field: str, value: str) -> str | None:
        for key in (f"ondemand.value.{field}.{value}", f"quote.value.{field}.{value}"):
            text = t(key)
            if text != key:
                return text
        return None

    return label


def _local(instant: datetime | None) -> str:
    return "" if instant is None else format_local(instant)


def page(
    request: Request,
    name: str,
    status: int = 200,
    *,
    space: Space | None = None,
    error: PolisError | None = None,
    **context: Any,
) -> Response:
    """Render an on-demand page: formatters, the space's CSRF token, the error in plain words and
    the input it is about; private headers (no referrer, no cache)."""
    lang = lang_of(request)
    fmt = Formatter(lang)
    t = translator(lang)
    if error is not None and status == 200:
        status = status_for(error)

    def field_label(name: str | None) -> str:
        key = f"ondemand.field.{name}"
        text = t(key)
        return str(name or "") if text == key else text

    response = render(
        request,
        name,
        status,
        space=space,
        csrf=space_csrf(request, space) if space else "",
        fmt=fmt,
        local=_local,
        duration=lambda start, end: format_duration(end - start, lang),
        error=error,
        error_text=error_text(error, t, fmt) if error else "",
        error_input=input_of(error.field) if error else None,
        field_label=field_label,
        **context,
    )
    response.headers.update(PRIVATE)
    return response


def not_found(request: Request, error: PolisError, space: Space | None = None) -> Response:
    return page(request, "ondemand/not_found.html", 404, space=space, error=error)


# --- products -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OnDemandProduct:
    """A product sold on demand today: its catalogue entry and on-demand terms."""

    entry: CatalogueEntry
    terms: TermsEntry

    @property
    def id(self) -> str:
        return self.entry.product.id

    def name(self, lang: str) -> str:
        return str(getattr(self.entry.product.name, lang))

    def description(self, lang: str) -> str:
        text = self.entry.product.description
        return "" if text is None else str(getattr(text, lang))


def products(day: date) -> list[OnDemandProduct]:
    """Every product with on-demand terms, in the version sold on ``day``."""
    found = []
    for product_id in sorted({pid for pid, _ in default_terms().products()}):
        try:
            found.append(product(product_id, day))
        except (ProductNotFound, TermsNotFound):
            continue
    return found


def product(product_id: str, day: date, version: str | None = None) -> OnDemandProduct:
    """The product ``product_id`` sold on demand on ``day`` (``ProductNotFound`` / ``TermsNotFound``)."""
    entry = default_catalogue().get(product_id, version, as_of=None if version else day)
    return OnDemandProduct(entry, default_terms().get(product_id, entry.product.version))


def subscription_prices(subscription: SubscriptionView, day: date) -> PriceCard:
    """The price card of a subscription: its unit, risk and options, taxes of ``day``."""
    found = product(subscription.product, day, subscription.product_version)
    card = rate_card(
        found.entry.product,
        found.terms.terms,
        unit=Unit(subscription.unit),
        risk=subscription.risk,
        sum_insured=Decimal(subscription.sum_insured),
        deductible=Decimal(subscription.deductible),
    )
    return price_card(card, found.terms.terms, day)


# --- the space's own things -----------------------------------------------------------------------


def customer_of(request: Request, space: Space) -> CustomerView:
    return ondemand_customers.get_customer(
        uow_of(request), space.tenant_id, space.customer_id, now=now_of(request)
    )


def subscriptions_of(request: Request, space: Space) -> list[SubscriptionView]:
    """The customer's subscriptions, newest first, in the interface language."""
    lang = lang_of(request)
    uow = uow_of(request)
    with uow:
        rows = uow.ondemand.subscriptions_of(space.tenant_id, space.customer_id)
        views = [ondemand_subscriptions.subscription_view(row, lang) for row in rows]
    return sorted(views, key=lambda v: v.accepted_at, reverse=True)


def own_subscription(request: Request, space: Space, subscription_id: str) -> SubscriptionView:
    """The subscription if it is the space's customer's; ``subscription.not_found`` otherwise."""
    uow = uow_of(request)
    with uow:
        context = ondemand_subscriptions.load_context(uow, space.tenant_id, subscription_id)
        view = ondemand_subscriptions.subscription_view(context.row, lang_of(request))
    if view.customer_id != space.customer_id:
        raise NotFound(
            f"no subscription {subscription_id!r}",
            field="subscription_id",
            code="subscription.not_found",
        )
    return view


def own_window(request: Request, space: Space, window_id: str) -> WindowView:
    """The window if it is the space's customer's; ``window.not_found`` otherwise."""
    view = ondemand_windows.get_window(
        uow_of(request), space.tenant_id, window_id, now=now_of(request)
    )
    if view.customer_id != space.customer_id:
        raise NotFound(f"no window {window_id!r}", field="window_id", code="window.not_found")
    return view


def today_of(request: Request) -> date:
    return to_local(now_of(request)).date()


def month_of(request: Request) -> str:
    return to_local(now_of(request)).strftime("%Y-%m")


def other_month(month: str, step: int) -> str:
    """``2026-06`` ± ``step`` months."""
    year, number = (int(p) for p in month.split("-"))
    index = year * 12 + number - 1 + step
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_hour(instant: datetime) -> datetime:
    return instant + timedelta(hours=1)
