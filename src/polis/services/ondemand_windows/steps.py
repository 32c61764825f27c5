"""The steps on a window inside an open unit of work (open, extend, stop, close, cancel), shared
with the triggers (:mod:`polis.services.triggers`): they take ``now`` — the instant the decision
takes effect, which a trigger may date in the recent past — and never commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from polis.kernel.time import local_midnight, to_local
from polis.ondemand.activation import (
    Activation,
    Cancellation,
    Extension,
    Stop,
    activate,
    book_of,
    cancel,
    extend,
    stop,
)
from polis.ondemand.codec import charge_to_json, refund_to_json
from polis.ondemand.intervals import month_window
from polis.ondemand.limits import limits_for
from polis.ondemand.lines import taxes_of
from polis.ondemand.pricing import ChargeKind
from polis.ondemand.trigger_windows import close_trigger_window
from polis.ondemand.windows import WindowState
from polis.services.ondemand_certificates import CertificateIssuer, revoke_window_certificates
from polis.services.ondemand_customers import customer_history
from polis.services.ondemand_subscriptions import SubscriptionContext
from polis.services.ondemand_windows.state import (
    _add_ledger,
    _before_certificate,
    _certify,
    _month_volume,
    _object_state,
    _record,
    _sync_policy,
    _window_paid,
)
from polis.services.ondemand_windows.views import _money, window_of
from polis.store.tables_ondemand import OnDemandCertificateRow, OnDemandWindowRow
from polis.store.uow import UnitOfWork

__all__ = ["cancel_row", "close_row", "extend_row", "open_row", "stop_row"]


def open_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    *,
    actor: str,
    now: datetime,
    object_ref: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    duration: timedelta | None = None,
    source: str = "manual",
    source_ref: str | None = None,
    recorded_at: datetime | None = None,
) -> tuple[OnDemandWindowRow, Activation, OnDemandCertificateRow]:
    """Open, price, store and certify a window (no commit).

    Everything that reads is done first; the window is numbered and priced once (refusals raised:
    on PostgreSQL a refused activation leaves a gap in the numbers, which are taken by blocks per
    process anyway; on SQLite the counter rolls back with it); then the writes follow: the window,
    its charge, the signed certificate, the events and, last, the audit entry (its chain's lock is
    held until the commit).
    """
    real_now = recorded_at or now
    item = ctx.subscription.item(object_ref)
    local = to_local(now)
    month = month_window(local.year, local.month)
    day = local.date()
    since, until = local_midnight(day), local_midnight(day + timedelta(days=1))
    customer_windows = uow.ondemand.windows_for_activation(  # in start order
        ctx.customer.id,
        ctx.subscription.id,
        item.ref,
        (month.start, month.end),
        (since, until),
    )
    mine = [w for w in customer_windows if w.subscription_id == ctx.subscription.id]
    own = [w for w in mine if w.object_ref == item.ref]
    in_month = {w.id for w in mine if w.starts_at < month.end and w.sold_end > month.start}
    own_ids = {w.id for w in own}
    entries = uow.ondemand.entries_of_windows(sorted(own_ids | in_month))  # one read, by id
    state = _object_state(
        uow, ctx.subscription.id, item.ref, (own, [e for e in entries if e.window_id in own_ids])
    )
    book = book_of(item.ref, state.windows, state.charges, state.refunds)
    today = sum(  # the customer's live windows created on the local day (daily limit)
        1
        for w in customer_windows
        if since <= w.created_at < until and w.state != WindowState.CANCELLED.value
    )
    history = customer_history(uow, ctx.customer_row, now)
    limits = limits_for(ctx.customer, history, at=now)
    volume = _month_volume(
        uow, ctx, now, [e for e in entries if e.window_id in in_month and e.kind == "charge"]
    )

    result = activate(
        ctx.subscription,
        ctx.customer,
        limits,
        ctx.card,
        ctx.terms.terms,
        window_id=str(uow.ids.allocate("WIN", now.year)),
        now=now,
        book=book,
        volume=volume,
        activations_today=today,
        object_ref=item.ref,
        start=start,
        end=end,
        duration=duration,
        source=source,
        source_ref=source_ref,
    )
    window = result.window
    live = [w.window for w in state.windows if w.state is not WindowState.CANCELLED]
    policy_sha = _sync_policy(uow, ctx, item.ref, [*live, window.window])
    geofence = _before_certificate(uow, ctx, issuer, real_now)
    # from here on, writes only (the audit chain's lock, taken last, is held until the commit)
    row = OnDemandWindowRow(
        id=window.id,
        tenant_id=ctx.tenant_id,
        customer_id=ctx.customer.id,
        subscription_id=ctx.subscription.id,
        object_ref=window.object_ref,
        policy_id=ctx.policy_of(window.object_ref),
        starts_at=window.start,
        ends_at=window.end,
        sold_end=window.sold_end,
        state=window.state.value,
        source=source,
        source_ref=source_ref,
        created_at=window.created_at,
        updated_at=real_now,
        expired_notified_at=None,
    )
    uow.ondemand.insert_later(row)  # not changed again in this transaction
    ledger = _add_ledger(
        uow,
        ctx,
        window,
        kind="charge",
        reason=ChargeKind.ACTIVATION.value,
        at=result.charge.at,
        lines=result.charge.lines,
        detail=charge_to_json(result.charge),
        now=real_now,
    )
    certificate = _certify(
        uow,
        ctx,
        issuer,
        window,
        real_now,
        paid=(ledger.total, ledger.taxes),
        geofence=geofence,
    )
    _record(
        uow,
        ctx,
        row,
        action="window.activated",
        actor=actor,
        at=real_now,
        certificate=certificate.number,
        total=_money(result.charge.total),
        taxes=_money(taxes_of(result.charge.lines)),
        policy_terms_sha256=policy_sha,
    )
    return row, result, certificate


def extend_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    row: OnDemandWindowRow,
    new_end: datetime,
    *,
    actor: str,
    now: datetime,
    recorded_at: datetime | None = None,
) -> tuple[Extension, OnDemandCertificateRow]:
    """Extend a booked window; only the added time is priced (no commit)."""
    real_now = recorded_at or now
    state = _object_state(uow, ctx.subscription.id, row.object_ref)
    book = book_of(row.object_ref, state.windows, state.charges, state.refunds)
    result = extend(
        ctx.subscription,
        ctx.card,
        ctx.terms.terms,
        window_of(row),
        new_end,
        now=now,
        book=book,
        volume=_month_volume(uow, ctx, now),
    )
    row.ends_at = result.window.end
    row.sold_end = result.window.sold_end
    row.updated_at = real_now
    row.expired_notified_at = None
    _add_ledger(
        uow,
        ctx,
        result.window,
        kind="charge",
        reason=ChargeKind.EXTENSION.value,
        at=result.charge.at,
        lines=result.charge.lines,
        detail=charge_to_json(result.charge),
        now=real_now,
    )
    policy_sha = _sync_policy(uow, ctx, row.object_ref)
    geofence = _before_certificate(uow, ctx, issuer, real_now)
    paid = _window_paid(uow, row.id)
    certificate = _certify(uow, ctx, issuer, result.window, real_now, paid=paid, geofence=geofence)
    _record(
        uow,
        ctx,
        row,
        action="window.extended",
        actor=actor,
        at=real_now,
        certificate=certificate.number,
        total=_money(result.charge.total),
        policy_terms_sha256=policy_sha,
    )
    return result, certificate


def _stopped_reason(lang: str, at: datetime) -> str:
    local = to_local(at).strftime("%d/%m/%Y %H:%M")
    return (
        f"garantie arrêtée avant son terme le {local}"
        if lang == "fr"
        else f"cover stopped early on {local}"
    )


def stop_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    row: OnDemandWindowRow,
    *,
    actor: str,
    now: datetime,
    at: datetime | None = None,
    close: bool = False,
    recorded_at: datetime | None = None,
) -> tuple[Stop, list[str]]:
    """Stop a started window early (``close``: a trigger's close, started units due, no fee);
    refund, revoke its certificates at the stop instant (no commit)."""
    real_now = recorded_at or now
    state = _object_state(uow, ctx.subscription.id, row.object_ref)
    others = [w for w in state.windows if w.id != row.id]
    if close:
        result = close_trigger_window(
            ctx.subscription,
            ctx.card,
            ctx.terms.terms,
            window_of(row),
            state.charges_of(row.id),
            at=at or now,
            others=others,
        )
    else:
        result = stop(
            ctx.subscription,
            ctx.card,
            ctx.terms.terms,
            window_of(row),
            state.charges_of(row.id),
            now=now,
            others=others,
            at=at,
        )
    row.ends_at = result.window.end
    row.state = result.window.state.value
    row.updated_at = real_now
    _add_ledger(
        uow,
        ctx,
        result.window,
        kind="refund",
        reason="close" if close else "stop",
        at=result.refund.at,
        lines=result.refund.lines,
        detail=refund_to_json(result.refund),
        now=real_now,
    )
    policy_sha = _sync_policy(uow, ctx, row.object_ref)
    revoked = revoke_window_certificates(
        uow, row.id, at=result.window.end, reason=_stopped_reason(ctx.language, result.window.end)
    )
    _record(
        uow,
        ctx,
        row,
        action="window.stopped",
        actor=actor,
        at=real_now,
        refund=_money(result.refund.total),
        revoked_certificates=revoked,
        policy_terms_sha256=policy_sha,
    )
    return result, revoked


def close_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    row: OnDemandWindowRow,
    *,
    actor: str,
    at: datetime,
    recorded_at: datetime | None = None,
) -> tuple[Stop, list[str]]:
    """A trigger closes its window at ``at`` (see :mod:`polis.ondemand.trigger_windows`)."""
    return stop_row(uow, ctx, row, actor=actor, now=at, at=at, close=True, recorded_at=recorded_at)


def cancel_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    row: OnDemandWindowRow,
    *,
    actor: str,
    now: datetime,
) -> tuple[Cancellation, list[str]]:
    """Cancel a window before its start: everything back, certificates revoked (no commit)."""
    state = _object_state(uow, ctx.subscription.id, row.object_ref)
    result = cancel(ctx.subscription, window_of(row), state.charges_of(row.id), now=now)
    row.state = result.window.state.value
    row.updated_at = now
    _add_ledger(
        uow,
        ctx,
        result.window,
        kind="refund",
        reason="cancel",
        at=result.refund.at,
        lines=result.refund.lines,
        detail=refund_to_json(result.refund),
        now=now,
    )
    policy_sha = _sync_policy(uow, ctx, row.object_ref)
    reason = "garantie annulée avant son début" if ctx.language == "fr" else "cover cancelled"
    revoked = revoke_window_certificates(uow, row.id, at=now, reason=reason)
    _record(
        uow,
        ctx,
        row,
        action="window.cancelled",
        actor=actor,
        at=now,
        refund=_money(result.refund.total),
        revoked_certificates=revoked,
        policy_terms_sha256=policy_sha,
    )
    return result, revoked
