"""``/portfolio``: the insurer's view of its on-demand portfolio (French by default, English too).

The page needs the tenant's web session — the same sign-in as the claims handler's pages (an API
key exchanged once for a signed cookie, :mod:`polis.web.claims_session`); without one the browser
is sent to ``/claims/login`` and comes back here. It shows the tenant's own portfolio only: per
product, activations, exposure, premiums, sums insured in force, claims, frequency, cost per hour
against the priced pure premium per hour, loss ratio; the drift alerts; the plot; and the
explanation of every figure. The period is a GET form (``from``, ``to``: Europe/Paris dates).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from polis.api.routers.ondemand import clock_of
from polis.documents.portfolio_plot import portfolio_plot
from polis.kernel.errors import InvalidInput
from polis.kernel.time import to_local
from polis.services.ondemand_portfolio import load_portfolio, parse_period, portfolio_view
from polis.store import SqlUnitOfWork
from polis.web.claims_pages import Handler
from polis.web.claims_session import csrf_token
from polis.web.i18n import Lang
from polis.web.rendering import lang_of, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PATH = "/portfolio"


def number_formatter(lang: Lang) -> Callable[[str | None], str]:
    """A decimal string for display: ``1234.50`` → ``1234,50`` in French; None → ``—``."""
    return lambda value: (
        "—" if value is None else (value if lang == "en" else value.replace(".", ","))
    )


def percent_formatter(lang: Lang) -> Callable[..., str]:
    """A ratio as a percentage to 0.1: ``0.7905`` → ``79,1 %`` in French (``+79,1 %`` when
    ``signed``); None → ``—``."""

    def percent(value: str | None, signed: bool = False) -> str:
        if value is None:
            return "—"
        text = f"{Decimal(value) * 100:{'+' if signed else ''}.1f}"
        return f"{text if lang == 'en' else text.replace('.', ',')} %"

    return percent


@router.get(PATH, response_class=HTMLResponse)
def portfolio_page(
    request: Request,
    session: Handler,
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
) -> Response:
    """The portfolio over ``[from, to)`` (default: the 12 months to now)."""
    now = clock_of(request)
    values = {"from": start, "to": end}
    lang = lang_of(request)
    context: dict[str, Any] = {
        "values": values,
        "csrf": csrf_token(request, session),
        "num": number_formatter(lang),
        "pct": percent_formatter(lang),
    }
    try:
        period = parse_period(start or None, end or None, now=now)
    except InvalidInput as e:
        return render(request, "portfolio.html", 422, error=e, **context)
    uow = SqlUnitOfWork(request.app.state.session_factory)
    portfolio = load_portfolio(uow, session.tenant_id, period, now=now)
    view = portfolio_view(portfolio, tenant_id=session.tenant_id)
    plot = portfolio_plot(portfolio.products, lang=lang).decode("utf-8")
    shown = {
        "from": to_local(period.start).strftime("%Y-%m-%d %H:%M"),
        "to": to_local(period.end).strftime("%Y-%m-%d %H:%M"),
        "as_of": to_local(view.as_of).strftime("%Y-%m-%d %H:%M"),
    }
    return render(request, "portfolio.html", view=view, plot=plot, shown=shown, **context)
