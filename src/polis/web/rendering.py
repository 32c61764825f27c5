"""Rendering of pages: the Jinja2 environment, the interface language, the shared context."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from polis import __version__
from polis.web.i18n import Lang, pick_lang, step_line_translator, step_translator, translator

__all__ = ["LANG_COOKIE", "PACKAGE_DIR", "lang_of", "render", "templates"]

LANG_COOKIE = "polis_lang"
PACKAGE_DIR = Path(str(resources.files("polis.web")))
templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")


def lang_of(request: Request) -> Lang:
    """The interface language: the cookie set by ``/lang/<code>``, else the configured default."""
    return pick_lang(request.cookies.get(LANG_COOKIE), request.app.state.default_lang)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with ``t`` (translator), ``lang``, ``other_lang``, ``path``, and
    ``step``/``step_line`` (the label of an explanation step, see :func:`polis.web.i18n.step_translator`)."""
    lang = lang_of(request)
    context |= {"lang": lang, "other_lang": "en" if lang == "fr" else "fr"}
    context |= {"t": translator(lang), "version": __version__, "path": request.url.path}
    context |= {"step": step_translator(lang), "step_line": step_line_translator(lang)}
    return templates.TemplateResponse(request, name, context, status_code=status)
