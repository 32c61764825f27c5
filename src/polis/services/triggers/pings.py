"""Location pings: a device's pings are taken in batches (any order, duplicates ignored: the
tracker's reorder buffer) against the subscription's geofence (:mod:`.geofence`); the
:class:`~polis.ondemand.triggers_geofence.TrackerState` is stored as JSON.

An entry opens a window dated at the first inside ping with a provisional end (the last inside
ping + the rules' ``max_silence``, to the next whole hour) extended while pings keep coming; an exit
(or a silence) closes it at the first outside ping — re-priced to the started units without a fee
(:mod:`polis.ondemand.trigger_windows`). An entry and its exit in the same batch make one closed
window. :func:`tick_device` (a job of ``polis worker``) lets time pass for a device that sent no
ping: buffered pings are processed, a silence closes its window.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, Field

from polis.calc._base import parse_request
from polis.kernel.errors import Conflict, InvalidInput
from polis.kernel.time import ensure_utc
from polis.ondemand.trigger_windows import provisional_end
from polis.ondemand.triggers_geofence import (
    Geofence,
    GeofenceAction,
    GeofenceDecision,
    GeofenceRules,
    GeofenceStep,
    Ping,
    PingOutcome,
    TrackerPhase,
    TrackerState,
    receive_pings,
    tick_tracker,
)
from polis.ondemand.windows import WindowState
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_subscriptions import SubscriptionContext, load_context
from polis.services.ondemand_windows import (
    CONTENTION,
    WindowView,
    extend_row,
    open_row,
    retrying,
    window_view,
)
from polis.services.triggers.common import (
    DEFAULT_MAX_BACKDATE,
    EPSILON,
    Strict,
    close_window,
    effective,
    error_of,
    moment_of,
)
from polis.services.triggers.geofence import fence_of
from polis.store.tables_ondemand import OnDemandGeofenceRow, OnDemandTrackerRow
from polis.store.uow import UnitOfWork

__all__ = [
    "GeofenceDecisionView",
    "PingIn",
    "PingsIn",
    "PingsView",
    "receive_device_pings",
    "tick_device",
]

_FUTURE_SKEW = timedelta(minutes=5)


class PingIn(Strict):
    at: AwareDatetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0)


class PingsIn(Strict):
    """``POST /v1/subscriptions/{id}/pings`` body: one device's positions, any order."""

    device_ref: str = Field(min_length=1, max_length=100, examples=["tracker-7"])
    pings: list[PingIn] = Field(min_length=1, max_length=5000)


class GeofenceDecisionView(Strict):
    action: str
    at: datetime
    reason: str
    window_id: str | None
    applied: bool
    error: dict[str, Any] | None = None


class PingsView(Strict):
    subscription_id: str
    device_ref: str
    accepted: int
    duplicate: int
    late: int
    inaccurate: int
    phase: str
    decisions: list[GeofenceDecisionView]
    window: WindowView | None = Field(description="the window open for this device, if any")


def _whole_hours_after(start: datetime, end: datetime) -> datetime:
    hours = max(1, math.ceil((end - start).total_seconds() / 3600))
    return start + timedelta(hours=hours)


def _geofence_end(
    ctx: SubscriptionContext, start: datetime, state: TrackerState, rules: GeofenceRules
) -> datetime:
    last = state.last_inside or start
    needed = (
        last + rules.max_silence if rules.max_silence is not None else start + timedelta(hours=24)
    )
    return provisional_end(
        ctx.terms.terms, ctx.subscription.unit, start, hint=_whole_hours_after(start, needed)
    )


def receive_device_pings(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    payload: PingsIn | dict[str, Any],
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
    max_backdate: timedelta = DEFAULT_MAX_BACKDATE,
) -> PingsView:
    """Take a batch of pings of one device; open and close windows as the tracker decides."""
    given = parse_request(PingsIn, payload)
    moment = moment_of(now)
    for i, p in enumerate(given.pings):
        if ensure_utc(p.at) > moment + _FUTURE_SKEW:
            raise InvalidInput("a ping cannot be in the future", field=f"pings[{i}].at")
    pings = [Ping(ensure_utc(p.at), p.lat, p.lon, p.accuracy_m) for p in given.pings]

    view = _advance(
        uow, tenant_id, subscription_id, given.device_ref,
        lambda state, fence, rules: receive_pings(state, pings, fence, rules),
        issuer=issuer, actor=actor, now=moment, max_backdate=max_backdate, create=True,
    )  # fmt: skip
    assert view is not None  # a new batch always settles
    return view


def tick_device(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    device_ref: str,
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
    max_backdate: timedelta = DEFAULT_MAX_BACKDATE,
) -> PingsView | None:
    """Let time pass for a device that sent no ping (a job, every few seconds): the buffered pings
    older than the lateness are processed and a silence closes the device's window
    (:func:`~polis.ondemand.triggers_geofence.tick_tracker`). ``None`` when nothing changed
    (ticking again at the same instant changes nothing)."""
    moment = moment_of(now)

    def tick(state: TrackerState, fence: Geofence, rules: GeofenceRules) -> GeofenceStep | None:
        step = tick_tracker(state, moment, fence, rules)
        return None if step.state == state else step

    return _advance(
        uow, tenant_id, subscription_id, device_ref, tick,
        issuer=issuer, actor=actor, now=moment, max_backdate=max_backdate, create=False,
    )  # fmt: skip


def _advance(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    device_ref: str,
    advance: Callable[[TrackerState, Geofence, GeofenceRules], GeofenceStep | None],
    *,
    issuer: CertificateIssuer,
    actor: str,
    now: datetime,
    max_backdate: timedelta,
    create: bool,
) -> PingsView | None:
    """One transaction on a device's tracker (locked; created when ``create``): ``advance`` its
    state against the geofence and settle the step. ``None`` when there is no tracker (and none
    to create) or ``advance`` found nothing to do."""

    def run() -> PingsView | None:
        with uow:
            ctx = load_context(uow, tenant_id, subscription_id, for_update=True)
            tracker = uow.ondemand.tracker(ctx.subscription.id, device_ref, for_update=True)
            if tracker is None and not create:
                return None
            fence_row, fence, rules = fence_of(uow, ctx)
            if tracker is None:
                tracker = OnDemandTrackerRow(
                    tenant_id=tenant_id,
                    subscription_id=ctx.subscription.id,
                    device_ref=device_ref,
                    state=json.dumps(TrackerState(ctx.subscription.id, device_ref).to_json()),
                    window_id=None,
                    updated_at=now,
                )
                uow.ondemand.add(tracker)
            step = advance(TrackerState.from_json(json.loads(tracker.state)), fence, rules)
            if step is None:
                return None
            view = _settle(
                uow, ctx, issuer, tracker, fence_row, step, rules,
                actor=actor, now=now, max_backdate=max_backdate,
            )  # fmt: skip
            uow.commit()
        return view

    return retrying(run)


def _settle(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    tracker: OnDemandTrackerRow,
    fence_row: OnDemandGeofenceRow,
    step: GeofenceStep,
    rules: GeofenceRules,
    *,
    actor: str,
    now: datetime,
    max_backdate: timedelta,
) -> PingsView:
    """Apply a tracker step's decisions, store its new state, and the answer (pings counted by
    their outcome; none for a tick)."""
    decisions = _apply_geofence(
        uow, ctx, issuer, tracker, fence_row.object_ref, step.decisions, step.state, rules,
        actor=actor, now=now, max_backdate=max_backdate,
    )  # fmt: skip
    tracker.state = json.dumps(step.state.to_json())
    tracker.updated_at = now
    open_window = (
        None if tracker.window_id is None else uow.ondemand.window(ctx.tenant_id, tracker.window_id)
    )
    counts = {o: step.outcomes.count(o) for o in PingOutcome}
    return PingsView(
        subscription_id=ctx.subscription.id,
        device_ref=tracker.device_ref,
        accepted=counts[PingOutcome.ACCEPTED],
        duplicate=counts[PingOutcome.DUPLICATE],
        late=counts[PingOutcome.LATE],
        inaccurate=counts[PingOutcome.INACCURATE],
        phase=step.state.phase.value,
        decisions=decisions,
        window=(
            None
            if open_window is None
            else window_view(uow, open_window, now, issuer.public_base_url)
        ),
    )


def _apply_geofence(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    tracker: OnDemandTrackerRow,
    object_ref: str,
    decisions: Sequence[GeofenceDecision],
    state: TrackerState,
    rules: GeofenceRules,
    *,
    actor: str,
    now: datetime,
    max_backdate: timedelta,
) -> list[GeofenceDecisionView]:
    """Apply the tracker's decisions in time order (each in its own savepoint)."""
    views: list[GeofenceDecisionView] = []
    pending: GeofenceDecision | None = None  # an entry of this batch, not opened yet
    for decision in decisions:
        if decision.action is GeofenceAction.OPEN:
            pending = decision
            continue
        error: dict[str, Any] | None = None
        window_id: str | None = None
        try:
            with uow.ondemand.savepoint():
                at = effective(decision.at, now, max_backdate, "pings")
                if pending is not None:  # entry and exit in one batch: one closed window
                    start = effective(pending.at, now, max_backdate, "pings")
                    row, _, _ = open_row(
                        uow, ctx, issuer, actor=actor, now=start, object_ref=object_ref,
                        start=start, end=at, source="geofence", source_ref=tracker.device_ref,
                        recorded_at=now,
                    )  # fmt: skip
                    window_id = row.id
                elif tracker.window_id is not None:
                    window_id = tracker.window_id
                    close_window(uow, ctx, issuer, window_id, at, actor=actor, now=now)
        except (InvalidInput, Conflict) as e:
            error = error_of(e)
        if pending is not None:
            views.append(_decision_view(pending, window_id, error))
        views.append(_decision_view(decision, window_id, error))
        pending = None
        tracker.window_id = None
    if pending is not None:
        error = None
        try:
            with uow.ondemand.savepoint():
                start = effective(pending.at, now, max_backdate, "pings")
                end = _geofence_end(ctx, start, state, rules)
                row, _, _ = open_row(
                    uow, ctx, issuer, actor=actor, now=start, object_ref=object_ref,
                    start=start, end=end, source="geofence", source_ref=tracker.device_ref,
                    recorded_at=now,
                )  # fmt: skip
                tracker.window_id = row.id
        except (InvalidInput, Conflict) as e:
            error = error_of(e)
        views.append(_decision_view(pending, tracker.window_id, error))
    elif state.phase in (TrackerPhase.INSIDE, TrackerPhase.LEAVING):
        _renew(uow, ctx, issuer, tracker, state, rules, actor=actor, now=now)
    return views


def _decision_view(
    decision: GeofenceDecision, window_id: str | None, error: dict[str, Any] | None
) -> GeofenceDecisionView:
    return GeofenceDecisionView(
        action=decision.action.value,
        at=decision.at,
        reason=decision.reason,
        window_id=window_id,
        applied=error is None,
        error=error,
    )


def _renew(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    tracker: OnDemandTrackerRow,
    state: TrackerState,
    rules: GeofenceRules,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Keep the open window of a device still inside running (a new provisional end)."""
    if tracker.window_id is None:
        return
    row = uow.ondemand.window(ctx.tenant_id, tracker.window_id, for_update=True)
    if row is None or row.state != WindowState.BOOKED.value:
        return
    wanted = _geofence_end(ctx, row.starts_at, state, rules)
    if wanted <= row.ends_at:
        return
    watermark = state.processed_until or now
    dated = max(row.starts_at, min(watermark, now, row.ends_at - EPSILON))
    try:
        with uow.ondemand.savepoint():
            extend_row(uow, ctx, issuer, row, wanted, actor=actor, now=dated, recorded_at=now)
    except (InvalidInput, Conflict) as e:
        if e.code == CONTENTION:
            raise
        return  # the window reached the product's longest length: it ends as booked
