"""Web pages. Errors are rendered as HTML here (the web's one error→page translation)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from polis import calc
from polis.config import Settings
from polis.documents import crm_plot
from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.web.advice_pages import router as advice_router
from polis.web.claims_insured import router as claims_insured_router
from polis.web.claims_pages import router as claims_router
from polis.web.crm_form import MAX_ROWS, CrmForm, PeriodRow
from polis.web.i18n import LANGS
from polis.web.ondemand_pages import router as ondemand_router
from polis.web.portfolio_pages import router as portfolio_router
from polis.web.quote_pages import router as quote_router
from polis.web.rendering import LANG_COOKIE, PACKAGE_DIR, lang_of, render
from polis.web.verify_pages import router as verify_router

__all__ = ["mount_web"]

router = APIRouter(include_in_schema=False)

#: page groups, each an APIRouter in its own module; add yours here
PAGE_ROUTERS: list[APIRouter] = [
    router,
    quote_router,
    claims_router,
    claims_insured_router,
    verify_router,
    ondemand_router,
    advice_router,
    portfolio_router,
]


def mount_web(app: FastAPI, settings: Settings) -> None:
    """Attach the pages and their static files to ``app``."""
    app.state.default_lang = settings.default_locale
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    for page_router in PAGE_ROUTERS:
        app.include_router(page_router)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/lang/{code}")
def switch_lang(code: str, next: str = "/") -> RedirectResponse:
    """Remember the interface language in a cookie and go back to the page."""
    target = next if next.startswith("/") and not urlsplit(next).netloc else "/"
    response = RedirectResponse(target, status_code=303)
    if code in LANGS:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/crm", response_class=HTMLResponse)
def crm_page(request: Request) -> HTMLResponse:
    return render(request, "crm.html", form=CrmForm(), max_rows=MAX_ROWS)


@router.post("/crm", response_class=HTMLResponse)
async def crm_submit(request: Request, action: Annotated[str, Form()] = "compute") -> Response:
    data = {k: str(v) for k, v in (await request.form()).items()}
    try:
        form = CrmForm.parse(data)
    except InvalidInput as e:
        return render(request, "crm.html", 422, form=CrmForm(), error=e, max_rows=MAX_ROWS)
    if action == "add" and len(form.rows) < MAX_ROWS:
        form.rows.append(PeriodRow())
        return render(request, "crm.html", form=form, max_rows=MAX_ROWS)
    if action == "remove" and len(form.rows) > 1:
        form.rows.pop()
        return render(request, "crm.html", form=form, max_rows=MAX_ROWS)
    try:
        result = calc.crm(form.request())
    except InvalidInput as e:
        return render(request, "crm.html", 422, form=form, error=e, max_rows=MAX_ROWS)
    plot = crm_plot(
        to_decimal(form.start),
        [to_decimal(c) for c in result.coefficients],
        lang=lang_of(request),
    ).decode("utf-8")
    return render(request, "crm.html", form=form, result=result, plot=plot, max_rows=MAX_ROWS)
