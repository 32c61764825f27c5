"""Web pages. Errors are rendered as HTML here (the web's one error→page translation)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from polis import __version__, calc
from polis.config import Settings
from polis.documents import crm_plot
from polis.kernel.errors import InvalidInput
from polis.kernel.money import to_decimal
from polis.web.crm_form import MAX_ROWS, CrmForm, PeriodRow
from polis.web.i18n import LANGS, Lang, pick_lang, translator

__all__ = ["mount_web"]

LANG_COOKIE = "polis_lang"
_PACKAGE_DIR = Path(str(resources.files("polis.web")))

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=_PACKAGE_DIR / "templates")


def mount_web(app: FastAPI, settings: Settings) -> None:
    """Attach the pages and their static files to ``app``."""
    app.state.default_lang = settings.default_locale
    app.mount("/static", StaticFiles(directory=_PACKAGE_DIR / "static"), name="static")
    app.include_router(router)


def _lang(request: Request) -> Lang:
    return pick_lang(request.cookies.get(LANG_COOKIE), request.app.state.default_lang)


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    context |= {"lang": lang, "other_lang": "en" if lang == "fr" else "fr"}
    context |= {"t": translator(lang), "version": __version__, "path": request.url.path}
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return _render(request, "home.html")


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
    return _render(request, "crm.html", form=CrmForm(), max_rows=MAX_ROWS)


@router.post("/crm", response_class=HTMLResponse)
async def crm_submit(request: Request, action: Annotated[str, Form()] = "compute") -> Response:
    data = {k: str(v) for k, v in (await request.form()).items()}
    try:
        form = CrmForm.parse(data)
    except InvalidInput as e:
        return _render(request, "crm.html", 422, form=CrmForm(), error=e, max_rows=MAX_ROWS)
    if action == "add" and len(form.rows) < MAX_ROWS:
        form.rows.append(PeriodRow())
        return _render(request, "crm.html", form=form, max_rows=MAX_ROWS)
    if action == "remove" and len(form.rows) > 1:
        form.rows.pop()
        return _render(request, "crm.html", form=form, max_rows=MAX_ROWS)
    try:
        result = calc.crm(form.request())
    except InvalidInput as e:
        return _render(request, "crm.html", 422, form=form, error=e, max_rows=MAX_ROWS)
    plot = crm_plot(
        to_decimal(form.start),
        [to_decimal(c) for c in result.coefficients],
        lang=_lang(request),
    ).decode("utf-8")
    return _render(request, "crm.html", form=form, result=result, plot=plot, max_rows=MAX_ROWS)
