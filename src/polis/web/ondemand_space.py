"""The insured's personal space on the on-demand pages: which tenant the pages act for, and the
signed cookie that identifies a customer's space.

Tenant
    An insured person is a customer of an insurer or partner **tenant**; the web pages act for one
    configurable "web" tenant: ``app.state.ondemand_web_tenant`` when set (tests, an embedding
    application), else the demo tenant created by ``polis demo`` (``make run``), found by its name
    :data:`polis.services.demo.DEMO_TENANT_NAME`. Without it the pages answer 503 with the command
    to run. The tenant id is cached on the app once found.

Personal space (cookie ``polis_ondemand``)
    Signing up creates the customer and opens their space: the cookie holds
    ``base64url(JSON {t: tenant, c: customer, n: 128 random bits, exp}) . HMAC-SHA256`` signed with
    the web session secret of :mod:`polis.web.claims_session` (``POLIS_SESSION_SECRET``, else
    random per process), under its own domain-separation prefix so that a handler's session can
    never be replayed as an insured's space or the other way round. HttpOnly, SameSite=Lax,
    ``Secure`` over HTTPS, path ``/ondemand``, 90 days. No account and no password: like the claims
    insured view, the token is the capability. The same token in a personal link
    (``/ondemand/me?token=…``) opens the space on another device: the page checks it, moves it into
    the cookie and redirects to the address without it. Pages of the space are sent with
    ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``.

CSRF
    Every form of the space carries :func:`polis.web.claims_session.csrf_token` of the space's
    cookie, checked on POST. The sign-up form, posted before any space exists, carries the token of a
    random pre-session cookie (double submit), so another site cannot sign a visitor into a space
    of its own making.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from polis.kernel.errors import NotFound
from polis.services import tenants
from polis.services.demo import DEMO_TENANT_NAME
from polis.store import SqlUnitOfWork
from polis.web.claims_session import WebSession, csrf_token, require_csrf
from polis.web.claims_session import _secret as session_secret
from polis.web.claims_session import _sign as sign

__all__ = [
    "FORM_COOKIE",
    "PRIVATE",
    "SPACE_COOKIE",
    "Space",
    "WebTenantMissing",
    "check_csrf",
    "check_form_csrf",
    "clear_space",
    "current_space",
    "form_csrf",
    "open_space",
    "set_form_cookie",
    "set_space_cookie",
    "space_csrf",
    "space_from_token",
    "web_tenant",
]

SPACE_COOKIE = "polis_ondemand"
FORM_COOKIE = "polis_ondemand_form"
PATH = "/ondemand"
LIFETIME = 90 * 86400
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
_PREFIX = "ondemand-space:"


class WebTenantMissing(NotFound):
    """The tenant the web pages act for does not exist (``polis demo`` was not run)."""

    code = "ondemand.web_tenant_missing"


@dataclass(frozen=True, slots=True)
class Space:
    """A customer's personal space: the tenant, the customer and the signed token."""

    tenant_id: str
    customer_id: str
    token: str

    @property
    def actor(self) -> str:
        """The audit actor of what the insured does through the pages."""
        return f"insured:{self.customer_id}"


def _uow(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.session_factory)


def web_tenant(request: Request) -> str:
    """The tenant the pages act for (see the module docstring); ``WebTenantMissing`` else."""
    state = request.app.state
    found: str | None = getattr(state, "ondemand_web_tenant", None)
    if found:
        return found
    for tenant in tenants.list_tenants(_uow(request)):
        if tenant.name == DEMO_TENANT_NAME:
            state.ondemand_web_tenant = tenant.id
            return tenant.id
    raise WebTenantMissing(
        f"the on-demand pages act for the demo tenant {DEMO_TENANT_NAME!r}: run `polis demo`",
        field="tenant",
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _token(request: Request, tenant_id: str, customer_id: str) -> str:
    nonce = _b64(secrets.token_bytes(16))
    body = {"t": tenant_id, "c": customer_id, "n": nonce, "exp": int(time.time()) + LIFETIME}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{sign(session_secret(request), _PREFIX + payload)}"


def space_from_token(request: Request, token: str) -> Space | None:
    """The space a token opens, or None (forged, expired, or of another tenant)."""
    payload, _, signature = token.strip().partition(".")
    if not payload or not secrets.compare_digest(
        sign(session_secret(request), _PREFIX + payload), signature
    ):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        tenant_id, customer_id, expires = str(body["t"]), str(body["c"]), int(body["exp"])
    except (ValueError, KeyError, TypeError):  # pragma: no cover - signed by us
        return None
    if expires < time.time() or tenant_id != web_tenant(request):
        return None
    return Space(tenant_id, customer_id, token.strip())


def current_space(request: Request) -> Space | None:
    """The space of this browser (its cookie), or None."""
    token = request.cookies.get(SPACE_COOKIE, "")
    return space_from_token(request, token) if token else None


def set_space_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SPACE_COOKIE,
        token,
        max_age=LIFETIME,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def open_space(request: Request, response: Response, tenant_id: str, customer_id: str) -> Space:
    """A new space for ``customer_id``, its cookie set on ``response``."""
    token = _token(request, tenant_id, customer_id)
    set_space_cookie(request, response, token)
    return Space(tenant_id, customer_id, token)


def clear_space(response: Response) -> None:
    response.delete_cookie(SPACE_COOKIE, path=PATH)


def _session(space: Space) -> WebSession:
    return WebSession(space.tenant_id, space.actor, _PREFIX + space.token)


def space_csrf(request: Request, space: Space) -> str:
    return csrf_token(request, _session(space))


def check_csrf(request: Request, space: Space, presented: str) -> None:
    """``Forbidden`` (403) unless the form carries this space's token."""
    require_csrf(request, _session(space), presented)


# --- the sign-up form, before any space exists -------------------------------------------------


def _form_session(cookie: str) -> WebSession:
    return WebSession("", "signup", "ondemand-form:" + cookie)


def form_csrf(request: Request) -> tuple[str, str]:
    """``(pre-session cookie, its CSRF token)``: this browser's cookie, else a new one (set it on
    the response with :func:`set_form_cookie`)."""
    cookie = request.cookies.get(FORM_COOKIE) or _b64(secrets.token_bytes(16))
    return cookie, csrf_token(request, _form_session(cookie))


def set_form_cookie(request: Request, response: Response, cookie: str) -> None:
    response.set_cookie(
        FORM_COOKIE,
        cookie,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def check_form_csrf(request: Request, presented: str) -> None:
    """``Forbidden`` unless the sign-up form carries the token of this browser's pre-session."""
    require_csrf(request, _form_session(request.cookies.get(FORM_COOKIE, "")), presented)
