"""The claims handler's web session: an API key exchanged once for a signed, HttpOnly cookie.

Login
    The handler pastes an API key of their tenant into ``/claims/login``. The key is checked like
    an API call (:func:`polis.services.tenants.authenticate`) and never stored in the browser.

Cookie ``polis_session``
    ``base64url(JSON {tenant, key, expires}) . HMAC-SHA256(secret, payload)``, HttpOnly,
    SameSite=Lax, ``Secure`` over HTTPS, 8 hours. Every request checks the signature, the expiry,
    and that the API key is still active: revoking the key ends its web sessions at once.
    ``secret`` is ``POLIS_SESSION_SECRET``; when unset a random one is drawn per process, so
    sessions end with a restart and do not cross processes (set it behind a load balancer).

CSRF
    Every form carries ``csrf = HMAC(secret, "csrf" + cookie)``, checked on every POST (on top of
    SameSite=Lax, which already keeps other sites' forms from sending the cookie).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from polis.config import Settings
from polis.kernel.errors import Forbidden, Unauthenticated
from polis.services import tenants
from polis.store import SqlUnitOfWork

__all__ = [
    "SESSION_COOKIE",
    "WebSession",
    "clear_session",
    "csrf_token",
    "current_session",
    "open_session",
    "require_csrf",
]

SESSION_COOKIE = "polis_session"
_LIFETIME = 8 * 3600
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class WebSession:
    tenant_id: str
    key_id: str
    cookie: str

    @property
    def actor(self) -> str:
        """The audit actor of what is done through the web with this key."""
        return f"web:{self.key_id}"


def _secret(request: Request) -> bytes:
    state = request.app.state
    with _lock:
        key: bytes | None = getattr(state, "session_key", None)
        if key is None:
            settings: Settings = state.settings
            configured = settings.session_secret
            key = (
                configured.get_secret_value().encode("utf-8")
                if configured is not None
                else secrets.token_bytes(32)
            )
            state.session_key = key
    return key


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode("ascii"), hashlib.sha256).hexdigest()


def open_session(request: Request, response: Response, api_key: str) -> WebSession:
    """Check ``api_key`` and set the session cookie on ``response``."""
    principal = tenants.authenticate(_uow(request), api_key)
    body = {"tenant": principal.tenant_id, "key": principal.key_id, "exp": _now() + _LIFETIME}
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    cookie = f"{payload}.{_sign(_secret(request), payload)}"
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=_LIFETIME,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return WebSession(principal.tenant_id, principal.key_id, cookie)


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def current_session(request: Request) -> WebSession:
    """The signed-in handler; ``Unauthenticated`` when the cookie is absent, forged, expired, or
    its API key was revoked."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    payload, _, signature = cookie.partition(".")
    if not payload or not hmac.compare_digest(_sign(_secret(request), payload), signature):
        raise Unauthenticated("please sign in")
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        tenant_id, key_id, expires = str(body["tenant"]), str(body["key"]), int(body["exp"])
    except (ValueError, KeyError, TypeError) as e:  # pragma: no cover - signed by us
        raise Unauthenticated("please sign in") from e
    if expires < _now():
        raise Unauthenticated("the session has expired: please sign in again")
    keys = tenants.list_api_keys(_uow(request), tenant_id)
    if not any(k.id == key_id and k.active for k in keys):
        raise Unauthenticated("the API key of this session was revoked")
    request.state.tenant_id = tenant_id
    return WebSession(tenant_id, key_id, cookie)


def csrf_token(request: Request, session: WebSession) -> str:
    return _sign(_secret(request), "csrf" + session.cookie)[:32]


def require_csrf(request: Request, session: WebSession, presented: str) -> None:
    """Refuse a form that does not carry this session's token (``Forbidden``)."""
    if not hmac.compare_digest(csrf_token(request, session), presented):
        raise Forbidden("the form has expired: reload the page and try again", field="csrf")


def _uow(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.session_factory)


def _now() -> int:
    return int(time.time())
