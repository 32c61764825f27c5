"""Request-scoped dependencies: settings, units of work, and the tenant resolved from the API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from polis.config import Settings
from polis.kernel.errors import Unauthenticated
from polis.services.tenants import KeyCache, Principal, authenticate
from polis.store import SqlUnitOfWork

__all__ = ["CurrentPrincipal", "get_settings", "key_cache", "new_uow", "require_principal"]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Polis API key")
_bearer = HTTPBearer(auto_error=False, description="Polis API key as a bearer token")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def new_uow(request: Request) -> SqlUnitOfWork:
    """A fresh unit of work on the app's database (one per use case)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return SqlUnitOfWork(factory)


def key_cache(request: Request) -> KeyCache:
    """The app's cache of recently read API keys (made by ``create_app`` from
    ``settings.api_key_cache_seconds``)."""
    cache: KeyCache = request.app.state.key_cache
    return cache


async def require_principal(
    request: Request,
    api_key: Annotated[str | None, Security(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """Authenticate the caller by API key (``X-API-Key`` or ``Authorization: Bearer``).

    On the event loop when the key was read recently (``KeyCache``: no I/O), else in the thread
    pool (a plain ``def`` dependency would cost a hop to the pool on every request)."""
    key = api_key or (bearer.credentials if bearer else None)
    if not key:
        raise Unauthenticated("an API key is required (header X-API-Key)", field="X-API-Key")
    cache = key_cache(request)
    principal = cache.principal_of_key(key)
    if principal is None:
        principal = await run_in_threadpool(authenticate, new_uow(request), key, cache)
    request.state.tenant_id = principal.tenant_id
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
