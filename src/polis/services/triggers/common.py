"""What the triggers share: the strict request model base, the clock, the backdating limit, how a
refused decision is reported, and closing a trigger window at an instant (geofence exits and
partner stops)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from polis.kernel.errors import InvalidInput, PolisError
from polis.kernel.time import ensure_utc, utc_now
from polis.ondemand.windows import WindowState
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_subscriptions import SubscriptionContext
from polis.services.ondemand_windows import CONTENTION, close_row, extend_row
from polis.store.uow import UnitOfWork

__all__ = [
    "DEFAULT_MAX_BACKDATE",
    "EPSILON",
    "MailSender",
    "Strict",
    "close_window",
    "effective",
    "error_of",
    "moment_of",
]

DEFAULT_MAX_BACKDATE = timedelta(hours=24)
EPSILON = timedelta(microseconds=1)


class MailSender(Protocol):
    """Sends one e-mail (``polis.notify.mail`` provides console, file and SMTP backends)."""

    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None: ...


class Strict(BaseModel):
    """Request and answer models of the triggers: no unknown field, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def moment_of(now: datetime | None) -> datetime:
    """``now`` as a UTC instant, else the clock's."""
    return ensure_utc(now, field="now") if now is not None else utc_now()


def effective(at: datetime, now: datetime, max_backdate: timedelta, field: str) -> datetime:
    """The instant a trigger's decision takes effect: ``at``, at most ``max_backdate`` ago."""
    if at < now - max_backdate:
        hours = int(max_backdate.total_seconds() // 3600)
        raise InvalidInput(
            f"{at.isoformat()} is more than {hours} hours ago: cover is not opened or changed that "
            "far in the past",
            field=field,
            code="trigger.too_late",
        )
    return at


def error_of(error: PolisError) -> dict[str, Any]:
    """An error reported in a trigger's answer; a lost race on the audit chain is re-raised so
    that the whole use case runs again (:func:`~polis.services.ondemand_windows.retrying`)."""
    if error.code == CONTENTION:
        raise error
    return {"code": error.code, "message": error.message, "field": error.field}


def close_window(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    window_id: str,
    at: datetime,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Close a trigger window at ``at``: shorten it, or extend it to ``at`` when it ran out."""
    row = uow.ondemand.window(ctx.tenant_id, window_id, for_update=True)
    if row is None or row.state != WindowState.BOOKED.value:
        return
    if row.starts_at < at < row.ends_at:
        close_row(uow, ctx, row, actor=actor, at=at, recorded_at=now)
    elif at > row.ends_at:
        dated = min(now, row.ends_at - EPSILON)
        extend_row(uow, ctx, issuer, row, at, actor=actor, now=dated, recorded_at=now)
