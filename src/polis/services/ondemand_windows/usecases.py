"""The use cases on cover windows, each one transaction (run again when it lost a race on the
tenant's audit chain): activate, extend, stop, cancel, read, cover status, ``window.expired``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from polis.calc._base import parse_request
from polis.kernel.errors import InvalidInput, NotFound
from polis.kernel.time import ensure_utc, utc_now
from polis.ondemand.refunds import Refund
from polis.ondemand.windows import cover_status, parse_when
from polis.services import outbox
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_subscriptions import SubscriptionContext, load_context
from polis.services.ondemand_windows.state import _event_payload, retrying
from polis.services.ondemand_windows.steps import cancel_row, extend_row, open_row, stop_row
from polis.services.ondemand_windows.views import (
    ActivationIn,
    ActivationView,
    ChangeView,
    CoverStatusView,
    ExtendIn,
    StopIn,
    WindowView,
    _activation_view,
    _refund_view,
    window_of,
    window_view,
)
from polis.store.tables_ondemand import OnDemandWindowRow
from polis.store.uow import UnitOfWork

__all__ = [
    "activate_window",
    "add_window",
    "cancel_window",
    "extend_window",
    "get_cover_status",
    "get_window",
    "list_windows",
    "publish_expired",
    "stop_window",
]


def _now(now: datetime | None) -> datetime:
    return ensure_utc(now, field="now") if now is not None else utc_now()


def _when(text: str | None, field: str) -> datetime | None:
    return None if text is None else parse_when(text, field=field)


def _require_window(
    uow: UnitOfWork, tenant_id: str, window_id: str
) -> tuple[SubscriptionContext, OnDemandWindowRow]:
    found = uow.ondemand.window(tenant_id, window_id.strip())
    if found is None:
        raise NotFound(f"no window {window_id!r}", field="window_id", code="window.not_found")
    ctx = load_context(uow, tenant_id, found.subscription_id, for_update=True)
    row = uow.ondemand.window(tenant_id, found.id, for_update=True)
    assert row is not None
    return ctx, row


def activate_window(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    payload: ActivationIn | dict[str, Any],
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
) -> ActivationView:
    """Activate cover now or scheduled: the window, its price lines and its certificate."""

    def run() -> ActivationView:
        with uow:
            view = add_window(
                uow, tenant_id, subscription_id, payload, actor, issuer=issuer, now=now
            )
            uow.commit()
        return view

    return retrying(run)


def add_window(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    payload: ActivationIn | dict[str, Any],
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
) -> ActivationView:
    """The steps of :func:`activate_window` inside an open unit of work (no commit): for callers
    that commit more with it (the idempotent API call stores its response in the same
    transaction)."""
    given = parse_request(ActivationIn, payload)
    moment = _now(now)
    start, end = _when(given.start, "start"), _when(given.end, "end")
    ctx = load_context(uow, tenant_id, subscription_id, for_update=True)
    row, result, certificate = open_row(
        uow,
        ctx,
        issuer,
        actor=actor,
        now=moment,
        object_ref=given.object_ref,
        start=start,
        end=end,
        duration=given.duration,
    )
    return _activation_view(row, result.charge, certificate, moment, issuer)


def extend_window(
    uow: UnitOfWork,
    tenant_id: str,
    window_id: str,
    payload: ExtendIn | dict[str, Any],
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
) -> ActivationView:
    """A later end: only the added time is priced; a certificate for the longer period."""
    given = parse_request(ExtendIn, payload)
    moment = _now(now)
    new_end = parse_when(given.end, field="end")

    def run() -> ActivationView:
        with uow:
            ctx, row = _require_window(uow, tenant_id, window_id)
            result, certificate = extend_row(
                uow, ctx, issuer, row, new_end, actor=actor, now=moment
            )
            view = _activation_view(row, result.charge, certificate, moment, issuer)
            uow.commit()
        return view

    return retrying(run)


def stop_window(
    uow: UnitOfWork,
    tenant_id: str,
    window_id: str,
    payload: StopIn | dict[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
    public_base_url: str = "",
) -> ChangeView:
    """Stop a started window early; refund by the product's rule."""
    given = parse_request(StopIn, payload)
    moment = _now(now)
    at = _when(given.at, "at")

    def step(ctx: SubscriptionContext, row: OnDemandWindowRow) -> tuple[Refund, list[str]]:
        result, revoked = stop_row(uow, ctx, row, actor=actor, now=moment, at=at)
        return result.refund, revoked

    return _change(uow, tenant_id, window_id, step, moment, public_base_url)


def cancel_window(
    uow: UnitOfWork,
    tenant_id: str,
    window_id: str,
    actor: str,
    *,
    now: datetime | None = None,
    public_base_url: str = "",
) -> ChangeView:
    """Cancel a window before its start: everything is refunded, fees included."""
    moment = _now(now)

    def step(ctx: SubscriptionContext, row: OnDemandWindowRow) -> tuple[Refund, list[str]]:
        result, revoked = cancel_row(uow, ctx, row, actor=actor, now=moment)
        return result.refund, revoked

    return _change(uow, tenant_id, window_id, step, moment, public_base_url)


def _change(
    uow: UnitOfWork,
    tenant_id: str,
    window_id: str,
    step: Callable[[SubscriptionContext, OnDemandWindowRow], tuple[Refund, list[str]]],
    moment: datetime,
    public_base_url: str,
) -> ChangeView:
    """Run ``step`` (a stop or a cancellation) on the window in one transaction: the window as it
    now is, the refund and the certificates revoked."""

    def run() -> ChangeView:
        with uow:
            ctx, row = _require_window(uow, tenant_id, window_id)
            refund, revoked = step(ctx, row)
            view = ChangeView(
                window=window_view(uow, row, moment, public_base_url),
                refund=_refund_view(refund),
                revoked_certificates=revoked,
            )
            uow.commit()
        return view

    return retrying(run)


def get_window(
    uow: UnitOfWork,
    tenant_id: str,
    window_id: str,
    *,
    now: datetime | None = None,
    public_base_url: str = "",
) -> WindowView:
    with uow:
        row = uow.ondemand.window(tenant_id, window_id.strip())
        if row is None:
            raise NotFound(f"no window {window_id!r}", field="window_id", code="window.not_found")
        return window_view(uow, row, _now(now), public_base_url)


def list_windows(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    *,
    now: datetime | None = None,
    public_base_url: str = "",
) -> list[WindowView]:
    moment = _now(now)
    with uow:
        ctx = load_context(uow, tenant_id, subscription_id)
        rows = uow.ondemand.windows_of_subscription(ctx.subscription.id)
        return [window_view(uow, r, moment, public_base_url) for r in rows]


def get_cover_status(
    uow: UnitOfWork,
    tenant_id: str,
    object_ref: str,
    *,
    at: datetime | None = None,
    subscription_id: str | None = None,
    now: datetime | None = None,
    public_base_url: str = "",
) -> CoverStatusView:
    """Covered / scheduled / not covered for an insured item of this tenant at ``at`` (now)."""
    moment = _now(now)
    instant = ensure_utc(at, field="at") if at is not None else moment
    ref = object_ref.strip()
    if not ref:
        raise InvalidInput("name the insured item", field="object_ref")
    with uow:
        if subscription_id is not None:
            load_context(uow, tenant_id, subscription_id)
        rows = uow.ondemand.windows_by_object_ref(tenant_id, ref, subscription_id)
        by_id = {r.id: r for r in rows}
        status = cover_status([window_of(r) for r in rows], ref, instant)
        return CoverStatusView(
            object_ref=ref,
            at=instant,
            state=status.state.value,
            until=status.until,
            next_start=status.next_start,
            current=[
                window_view(uow, by_id[w.id], moment, public_base_url) for w in status.current
            ],
            upcoming=[
                window_view(uow, by_id[w.id], moment, public_base_url) for w in status.upcoming
            ],
        )


def publish_expired(uow: UnitOfWork, *, now: datetime | None = None, limit: int = 500) -> int:
    """Publish ``window.expired`` for each window whose end has passed (once each); how many."""
    moment = _now(now)
    with uow:
        rows = uow.ondemand.windows_to_expire(moment, limit=limit)
        for row in rows:
            row.expired_notified_at = moment
            outbox.publish(
                uow,
                tenant_id=row.tenant_id,
                event_type="window.expired",
                payload=_event_payload(row),
            )
        uow.commit()
    return len(rows)
