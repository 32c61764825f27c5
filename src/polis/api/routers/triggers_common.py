"""What the trigger routers (:mod:`.ondemand_calendar`, :mod:`.ondemand_triggers`) share: the
app's settings, the backdating limit, OpenAPI answers with the idempotency ones, and a call made
once per ``Idempotency-Key`` on a fresh unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import Request, Response

from polis.api.deps import new_uow
from polis.api.idempotency import IDEMPOTENCY_RESPONSES, idempotent
from polis.config import Settings
from polis.services.tenants import Principal
from polis.store import SqlUnitOfWork

__all__ = ["max_backdate", "once", "responses", "settings_of"]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def max_backdate(request: Request) -> timedelta:
    """How far in the past a ping or a partner call may date cover (``trigger_max_backdate_hours``)."""
    return timedelta(hours=settings_of(request).trigger_max_backdate_hours)


def responses(example: Any, code: int = 200) -> dict[int | str, dict[str, Any]]:
    """The route's OpenAPI answers: the idempotency ones, and ``example`` for ``code``."""
    return {**IDEMPOTENCY_RESPONSES, code: {"content": {"application/json": {"example": example}}}}


def once(request: Request, principal: Principal, call: Callable[[SqlUnitOfWork], Any]) -> Response:
    """Run ``call`` on a new unit of work at most once per ``Idempotency-Key``; 200 with its answer."""
    return idempotent(request, principal, lambda: (200, call(new_uow(request))))
