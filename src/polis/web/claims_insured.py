"""The insured's page: ``/my/claims/{number}?token=…`` — where the claim stands and the offer
explained in plain words, with the buttons to accept or contest it.

The token is the claim's own random secret (256 bits, returned once at declaration, stored only as
its SHA-256): it opens this one claim and nothing else, without an account. A wrong token answers
404, like a claim that does not exist.

The link with ``?token=`` is used once: the page checks it, stores it in an HttpOnly cookie scoped
to ``/my/claims/<number>`` (SameSite=Lax, 30 days) and redirects to the address without it, so the
token leaves the address bar and the history, and the language switch keeps working. Pages are sent
with ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``; the request log records the
path only, never the query string. The answer form carries the token too (a cross-site form cannot
know it).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from polis.api.errors import status_for
from polis.kernel.errors import NotFound, PolisError
from polis.services import claim_settlement, claim_views
from polis.store import SqlUnitOfWork
from polis.web.claims_pages import fmt_instant, money_formatter
from polis.web.rendering import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
_COOKIE = "polis_claim"


def _uow(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.session_factory)


def _page(request: Request, number: str, token: str, error: PolisError | None = None) -> Response:
    try:
        view = claim_views.insured_view(_uow(request), number, token)
    except NotFound as e:
        response: Response = render(request, "claims/not_found.html", 404, error=e)
    else:
        status = 200 if error is None else status_for(error)
        response = render(
            request,
            "claims/insured.html",
            status,
            view=view,
            token=token,
            error=error,
            fmt_money=money_formatter(request),
            fmt_instant=fmt_instant,
        )
    response.headers.update(_PRIVATE)
    return response


@router.get("/my/claims/{number}", response_class=HTMLResponse)
def insured_page(request: Request, number: str, token: str = "") -> Response:
    if not token:
        return _page(request, number, request.cookies.get(_COOKIE, ""))
    try:
        claim_views.insured_view(_uow(request), number, token)
    except NotFound:
        return _page(request, number, token)
    response = RedirectResponse(f"/my/claims/{quote(number)}", status_code=303, headers=_PRIVATE)
    response.set_cookie(
        _COOKIE,
        token,
        max_age=30 * 86400,
        path=f"/my/claims/{quote(number)}",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/my/claims/{number}/answer", response_class=HTMLResponse)
def insured_answer(
    request: Request,
    number: str,
    token: Annotated[str, Form()],
    answer: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        claim_settlement.insured_answer(
            _uow(request), number, token, accept=answer == "accept", reason=reason
        )
    except PolisError as e:
        return _page(request, number, token, error=e)
    return RedirectResponse(f"/my/claims/{quote(number)}", status_code=303, headers=_PRIVATE)
