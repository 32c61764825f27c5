"""The FastAPI application factory: one app per ``Settings``, nothing done at import time."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polis import __version__
from polis.api.errors import install_error_handlers
from polis.api.ratelimit import TokenBuckets
from polis.api.routers import (
    account,
    calc,
    claims,
    health,
    ondemand_calendar,
    ondemand_certificates,
    ondemand_customers,
    ondemand_portfolio,
    ondemand_triggers,
    ondemand_windows,
    ondemand_withdrawal,
    policies,
    quotes,
    webhooks,
)
from polis.config import Settings
from polis.logs import get_logger
from polis.services.tenants import KeyCache
from polis.store import current_revision, head_revision, make_engine, session_factory, upgrade

__all__ = ["create_app"]

log = get_logger("polis.api")

_DESCRIPTION = """
Polis prices, sells, activates, certifies and settles insurance, with the actuarial and legal maths
built in and every euro explained.

* **Calculators** (`/v1/calc/*`) are pure: the same JSON as the Python functions and `polis calc`.
* **Account routes** need an API key (`X-API-Key: polis_…`, or `Authorization: Bearer polis_…`);
  the tenant is the key's: a tenant never sees another tenant's data.
* Every error has the shape `{"error": {"code", "message", "field"}, "request_id"}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the Polis application (API + web pages) for ``settings``."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.database_url
        if settings.is_sqlite and settings.migrate_on_start:
            upgrade(url)
            log.info("database migrated", revision=head_revision())
        elif current_revision(url) != head_revision():
            log.warning("database is not at the head revision: run `polis db upgrade`")
        async with webhooks.background_worker(settings, app.state.session_factory):
            yield
        engine.dispose()

    app = FastAPI(
        title="Polis",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.key_cache = KeyCache(ttl=settings.api_key_cache_seconds)
    app.state.verify_limiter = TokenBuckets.from_settings(settings)
    app.state.activation_slots = threading.BoundedSemaphore(settings.activation_slots)
    install_error_handlers(app)
    app.add_middleware(RequestContext)
    app.include_router(health.router)
    app.include_router(calc.router)
    app.include_router(quotes.router)
    app.include_router(account.router)
    app.include_router(policies.router)
    app.include_router(claims.router)
    app.include_router(webhooks.router)
    app.include_router(ondemand_customers.router)
    app.include_router(ondemand_windows.router)
    app.include_router(ondemand_certificates.router)
    app.include_router(ondemand_certificates.public_router)
    app.include_router(ondemand_calendar.router)
    app.include_router(ondemand_triggers.router)
    app.include_router(ondemand_portfolio.router)
    app.include_router(ondemand_withdrawal.router)
    # imported here: the pages use the API's error mapping, so polis.web imports polis.api, and
    # importing polis.web first must not meet a half-initialised polis.api
    from polis.web import mount_web

    mount_web(app, settings)
    return app


class RequestContext:
    """Give every request an id (the caller's ``X-Request-ID`` when sane), log one line per request.

    A plain ASGI middleware (Starlette's ``BaseHTTPMiddleware`` wraps every response in a stream
    and a task group, which cost about a millisecond a request in the activation benchmark)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = (
            incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        )
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                tenant=state.get("tenant_id"),
            )
