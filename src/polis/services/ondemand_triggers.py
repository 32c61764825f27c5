"""Triggers that open and close cover on their own: calendars, geofences, partner events, and the
reminders for missions still uncovered. The decisions are the pure domain's
(``polis.ondemand.triggers_*``, ``reminders``); this module persists their state and applies them
through the window steps of :mod:`polis.services.ondemand_windows` — each call one transaction.

**Calendar.** An ICS document (uploaded, or fetched from an http(s) URL with a timeout and a size
limit) or a complete API list of missions; :func:`polis.ondemand.triggers_calendar.plan_calendar_sync`
gives the operations from the latest cover of each mission (``ondemand_missions``), and each is
applied in its own savepoint: ``open`` activates a window (``source="calendar"``,
``source_ref`` = the mission key), ``move`` cancels a window that has not started and activates the
new one, or extends / stops early a running one; ``cancel`` cancels (not billed), ``stop`` stops at
now. Syncing the same feed again plans nothing: it changes nothing. An operation the rules refuse
(the day's activation limit, a day the product does not cover…) is reported and retried at the next
sync. A fetched feed with no mission at all that would cancel or stop cover is refused
(``calendar.empty_feed``: an error page served as an empty calendar must not cancel everything);
send ``allow_empty`` to mean it.

**Geofence.** The subscription's polygons (GeoJSON) and hysteresis rules; pings are taken in
batches per device (any order, duplicates ignored: the tracker's reorder buffer), the
:class:`~polis.ondemand.triggers_geofence.TrackerState` is stored as JSON. An entry opens a window
dated at the first inside ping with a provisional end (the last inside ping + the rules'
``max_silence``, to the next whole hour) extended while pings keep coming; an exit (or a silence)
closes it at the first outside ping — re-priced to the started units without a fee
(:mod:`polis.ondemand.triggers_windows`). An entry and its exit in the same batch make one closed
window.

**Partner events.** ``start`` / ``stop`` with the partner's own reference
(:func:`~polis.ondemand.triggers_partner.handle_partner_call`, ``PartnerRefState`` JSON): a start
opens a window until the partner's ``expected_end`` (else 24 hours, within the product's rules), a
stop closes it (or extends it to a late return); a stop before its start is held; duplicates under
another key replay the first decision.

**Jobs** (:mod:`polis.services.jobs`, ``polis worker``): :func:`tick_device` lets time pass for a
device that sent no ping (buffered pings processed, a silence closes its window);
:func:`flag_orphan_stop` flags a partner's stop that waited too long for its start.

Trigger instants may lie in the recent past (the window is dated by the ping or by the partner's
time): at most ``max_backdate`` (24 hours by default) before now, else ``trigger.too_late``.

**Reminders.** :func:`run_reminders` plans (``plan_reminders``) for every item with missions still
to start, sends each reminder due by e-mail (the customer's address, through the pluggable
:class:`MailSender`) and by webhook (the outbox event ``reminder.due``), and records it — and the
superseded ones — in ``ondemand_reminders`` so that each goes out once.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from polis.calc._base import parse_request
from polis.kernel.errors import Conflict, InvalidInput, NotFound, PolisError
from polis.kernel.time import PARIS, Window, ensure_utc, to_local, utc_now
from polis.ondemand.reminders import Channel, Recipient, ReminderKey, plan_reminders
from polis.ondemand.trigger_windows import provisional_end
from polis.ondemand.triggers_calendar import (
    CalendarFeed,
    CalendarRule,
    Mission,
    MissionAcceptance,
    MissionCover,
    MissionCoverStatus,
    MissionKey,
    MissionStatus,
    SyncAction,
    SyncOperation,
    SyncPlan,
    apply_sync_plan,
    missions_from_api,
    parse_ics,
    plan_calendar_sync,
)
from polis.ondemand.triggers_geofence import (
    Geofence,
    GeofenceAction,
    GeofenceDecision,
    GeofenceRules,
    Ping,
    PingOutcome,
    TrackerPhase,
    TrackerState,
    receive_pings,
    tick_tracker,
)
from polis.ondemand.triggers_partner import (
    PartnerAction,
    PartnerCall,
    PartnerCallKind,
    PartnerDecision,
    PartnerRefState,
    PartnerRules,
    check_partner_timeout,
    handle_partner_call,
)
from polis.ondemand.windows import WindowState
from polis.services import audit, outbox
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_subscriptions import SubscriptionContext, load_context
from polis.services.ondemand_windows import (
    CONTENTION,
    WindowView,
    cancel_row,
    close_row,
    extend_row,
    open_row,
    retrying,
    stop_row,
    window_view,
)
from polis.store.tables_ondemand import (
    OnDemandCalendarRow,
    OnDemandGeofenceRow,
    OnDemandMissionRow,
    OnDemandPartnerRefRow,
    OnDemandReminderRow,
    OnDemandTrackerRow,
    OnDemandWindowRow,
)
from polis.store.uow import UnitOfWork

__all__ = [
    "DEFAULT_MAX_BACKDATE",
    "CalendarIn",
    "CalendarUrlIn",
    "FetchLimits",
    "GeofenceIn",
    "GeofenceView",
    "MailSender",
    "MissionsIn",
    "PartnerEventIn",
    "PartnerEventView",
    "PingIn",
    "PingsIn",
    "PingsView",
    "ReminderReport",
    "SyncView",
    "fetch_ics",
    "flag_orphan_stop",
    "handle_partner_event",
    "import_ics",
    "receive_device_pings",
    "run_reminders",
    "set_geofence",
    "sync_calendar_url",
    "sync_missions",
    "tick_device",
]

DEFAULT_MAX_BACKDATE = timedelta(hours=24)
_FUTURE_SKEW = timedelta(minutes=5)
_EPSILON = timedelta(microseconds=1)
_MAX_MISSIONS = 5000


class MailSender(Protocol):
    """Sends one e-mail (``polis.notify.mail`` provides console, file and SMTP backends)."""

    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None: ...


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- shared ---------------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return ensure_utc(now, field="now") if now is not None else utc_now()


def _effective(at: datetime, now: datetime, max_backdate: timedelta, field: str) -> datetime:
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


def _error(error: PolisError) -> dict[str, Any]:
    """An error reported in a trigger's answer; a lost race on the audit chain is re-raised so
    that the whole use case runs again (:func:`~polis.services.ondemand_windows.retrying`)."""
    if error.code == CONTENTION:
        raise error
    return {"code": error.code, "message": error.message, "field": error.field}


# --- calendar -------------------------------------------------------------------------------------


class CalendarIn(_Strict):
    """Settings of a calendar sync (query parameters of an ICS upload, fields of the JSON bodies)."""

    object_ref: str | None = Field(default=None, max_length=100)
    margin_before_minutes: int = Field(default=0, ge=0, le=1440)
    margin_after_minutes: int = Field(default=0, ge=0, le=1440)
    acceptance: MissionAcceptance = MissionAcceptance.CONFIRMED_ONLY
    allow_empty: bool = Field(
        default=False, description="apply a feed without any mission even if it cancels cover"
    )

    def rule(self) -> CalendarRule:
        return CalendarRule(
            timedelta(minutes=self.margin_before_minutes),
            timedelta(minutes=self.margin_after_minutes),
            self.acceptance,
        )


class CalendarUrlIn(CalendarIn):
    """``POST /v1/subscriptions/{id}/calendar`` JSON body: an ICS feed to fetch."""

    url: str = Field(min_length=8, max_length=2000, examples=["https://example.org/missions.ics"])


class MissionsIn(CalendarIn):
    """``PUT /v1/subscriptions/{id}/missions`` body: the complete list of missions."""

    missions: list[dict[str, Any]] = Field(
        max_length=_MAX_MISSIONS,
        examples=[
            [
                {
                    "uid": "mission-42",
                    "start": "2026-06-13T09:00:00+02:00",
                    "end": "2026-06-13T19:00:00+02:00",
                    "status": "confirmed",
                    "summary": "Mariage Dupont",
                }
            ]
        ],
    )


class SyncOperationView(_Strict):
    action: str
    mission: str
    reason: str
    start: datetime
    end: datetime
    previous_start: datetime | None
    previous_end: datetime | None
    applied: bool
    windows: list[str] = Field(description="windows opened, moved, extended, stopped or cancelled")
    error: dict[str, Any] | None = None


class SyncView(_Strict):
    subscription_id: str
    object_ref: str
    source: str
    synced_at: datetime
    missions: int
    operations: list[SyncOperationView]
    unchanged: int
    issues: list[dict[str, Any]]
    windows: list[WindowView] = Field(description="the calendar's live windows after the sync")


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How an ICS URL is fetched."""

    timeout_seconds: float = 10.0
    max_bytes: int = 2 * 1024 * 1024
    allow_private: bool = False


def _check_host(host: str, allow_private: bool) -> None:
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as e:
        raise InvalidInput(
            f"cannot resolve {host!r}: {e}", field="url", code="calendar.fetch_failed"
        ) from e
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise InvalidInput(
                f"{host} resolves to a private or local address ({address}): refused",
                field="url",
                code="calendar.url_refused",
            )


def fetch_ics(
    url: str, limits: FetchLimits = FetchLimits(), *, transport: httpx.BaseTransport | None = None
) -> bytes:
    """GET an ICS feed over http(s) within the limits; a clear ``calendar.fetch_failed`` else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            "a calendar URL is http:// or https://", field="url", code="calendar.url_refused"
        )
    hooks: dict[str, list[Callable[[httpx.Request], None]]] = {}
    if transport is None:
        _check_host(parts.hostname, limits.allow_private)

        def check_redirect(request: httpx.Request) -> None:
            if request.url.scheme not in ("http", "https"):
                raise InvalidInput(
                    "a calendar URL is http:// or https://",
                    field="url",
                    code="calendar.url_refused",
                )
            _check_host(request.url.host, limits.allow_private)

        hooks["request"] = [check_redirect]  # every request, redirects included
    chunks: list[bytes] = []
    size = 0
    try:
        with (
            httpx.Client(
                timeout=limits.timeout_seconds,
                follow_redirects=True,
                max_redirects=5,
                transport=transport,
                event_hooks=hooks,
                headers={"Accept": "text/calendar, */*;q=0.5", "User-Agent": "Polis-Calendar/1"},
            ) as client,
            client.stream("GET", url.strip()) as response,
        ):
            if response.status_code != 200:
                raise InvalidInput(
                    f"the calendar server answered HTTP {response.status_code}",
                    field="url",
                    code="calendar.fetch_failed",
                )
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limits.max_bytes:
                    raise InvalidInput(
                        f"the calendar is larger than {limits.max_bytes} bytes",
                        field="url",
                        code="calendar.too_large",
                    )
                chunks.append(chunk)
    except httpx.TimeoutException as e:
        raise InvalidInput(
            f"the calendar server did not answer within {limits.timeout_seconds:g} s",
            field="url",
            code="calendar.fetch_failed",
        ) from e
    except httpx.HTTPError as e:
        raise InvalidInput(
            f"the calendar could not be fetched: {e}", field="url", code="calendar.fetch_failed"
        ) from e
    return b"".join(chunks)


def _horizon(now: datetime) -> Window:
    return Window(now - timedelta(days=1), now + timedelta(days=180))


def _mission_covers(rows: Sequence[OnDemandMissionRow]) -> dict[MissionKey, MissionCover]:
    covers = {}
    for row in rows:
        if row.cover_status and row.cover_start and row.cover_end:
            key = MissionKey.from_text(row.mission_key)
            covers[key] = MissionCover(
                key, Window(row.cover_start, row.cover_end), MissionCoverStatus(row.cover_status)
            )
    return covers


def _calendar_windows(
    uow: UnitOfWork, ctx: SubscriptionContext, object_ref: str, key: MissionKey
) -> list[OnDemandWindowRow]:
    rows = uow.ondemand.windows_by_source(ctx.subscription.id, object_ref, "calendar", key.text)
    return [r for r in rows if r.state != WindowState.CANCELLED.value]


def _retarget(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    object_ref: str,
    key: MissionKey,
    target: Window | None,
    *,
    actor: str,
    now: datetime,
) -> list[str]:
    """Make the mission's windows cover ``target`` from ``now`` on (``None``: nothing); what was
    in force before ``now`` stays. The windows touched."""
    touched: list[str] = []
    kept: list[OnDemandWindowRow] = []
    for row in _calendar_windows(uow, ctx, object_ref, key):
        booked = row.state == WindowState.BOOKED.value
        if booked and now <= row.starts_at:
            if target is not None and (row.starts_at, row.ends_at) == (target.start, target.end):
                kept.append(row)
                continue
            cancel_row(uow, ctx, row, actor=actor, now=now)
            touched.append(row.id)
        elif row.ends_at > now and booked:
            if target is None or target.end <= now:
                stop_row(uow, ctx, row, actor=actor, now=now)
                touched.append(row.id)
            elif row.ends_at > target.end:
                stop_row(uow, ctx, row, actor=actor, now=now, at=target.end)
                touched.append(row.id)
            kept.append(row)
        else:
            kept.append(row)
    if target is None or target.end <= now:
        return touched
    start = max(target.start, now)
    for row in sorted(kept, key=lambda r: r.starts_at):
        if row.starts_at <= start < row.ends_at:
            start = row.ends_at  # already covered up to there
    if start >= target.end:
        return touched
    running = next(
        (
            r
            for r in kept
            if r.ends_at == start and r.state == WindowState.BOOKED.value and r.ends_at > now
        ),
        None,
    )
    if running is not None:
        extend_row(uow, ctx, issuer, running, target.end, actor=actor, now=now)
        touched.append(running.id)
    else:
        row, _, _ = open_row(
            uow,
            ctx,
            issuer,
            actor=actor,
            now=now,
            object_ref=object_ref,
            start=start,
            end=target.end,
            source="calendar",
            source_ref=key.text,
        )
        touched.append(row.id)
    return touched


def _upsert_missions(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    object_ref: str,
    rows: dict[str, OnDemandMissionRow],
    feed: CalendarFeed,
    now: datetime,
) -> None:
    present = set()
    for mission in feed.missions:
        text = mission.key.text
        present.add(text)
        row = rows.get(text)
        if row is None:
            row = OnDemandMissionRow(
                tenant_id=ctx.tenant_id,
                subscription_id=ctx.subscription.id,
                object_ref=object_ref,
                mission_key=text,
                cover_start=None,
                cover_end=None,
                cover_status=None,
            )
            rows[text] = row
        row.mission_start = mission.window.start
        row.mission_end = mission.window.end
        row.mission_status = mission.status.value
        row.summary = mission.summary[:2000]
        row.location = mission.location[:2000]
        row.all_day = mission.all_day
        row.updated_at = now
        if row.id is None:
            uow.ondemand.add(row)
    for text, row in rows.items():
        if text in present or row.mission_status == "removed":
            continue
        inside = (
            feed.horizon is None
            or row.mission_start is None
            or row.mission_end is None
            or Window(row.mission_start, row.mission_end).overlaps(feed.horizon)
        )
        if inside:
            row.mission_status = "removed"
            row.updated_at = now


def _calendar_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    object_ref: str,
    settings: CalendarIn,
    *,
    source: str,
    url: str | None,
) -> OnDemandCalendarRow:
    row = uow.ondemand.calendar(ctx.subscription.id, object_ref, for_update=True)
    if row is None:
        row = OnDemandCalendarRow(
            tenant_id=ctx.tenant_id,
            subscription_id=ctx.subscription.id,
            object_ref=object_ref,
            issues="[]",
        )
    row.source = source
    row.url = url
    row.margin_before_s = settings.margin_before_minutes * 60
    row.margin_after_s = settings.margin_after_minutes * 60
    row.acceptance = settings.acceptance.value
    if row.id is None:
        uow.ondemand.add(row)
    return row


def _sync(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    read: Callable[[datetime], CalendarFeed],
    settings: CalendarIn,
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime,
    source: str,
    url: str | None = None,
    digest: str | None = None,
) -> SyncView:
    def run() -> SyncView:
        with uow:
            ctx = load_context(uow, tenant_id, subscription_id, for_update=True)
            object_ref = ctx.subscription.item(settings.object_ref).ref
            feed = read(now)
            calendar = _calendar_row(uow, ctx, object_ref, settings, source=source, url=url)
            rows = {
                r.mission_key: r for r in uow.ondemand.missions(ctx.subscription.id, object_ref)
            }
            covers = _mission_covers(list(rows.values()))
            plan = plan_calendar_sync(covers.values(), feed, rule=settings.rule(), now=now)
            drops = plan.of(SyncAction.CANCEL) + plan.of(SyncAction.STOP)
            if source != "api" and not feed.missions and drops and not settings.allow_empty:
                raise Conflict(
                    f"the calendar has no mission at all but {len(drops)} cover(s) would be cancelled "
                    "or stopped: refused (send allow_empty to mean it)",
                    field="ics",
                    code="calendar.empty_feed",
                )
            _upsert_missions(uow, ctx, object_ref, rows, feed, now)
            operations: list[SyncOperationView] = []
            for op in plan.operations:
                target = op.window if op.action in (SyncAction.OPEN, SyncAction.MOVE) else None
                error: dict[str, Any] | None = None
                touched: list[str] = []
                try:
                    with uow.ondemand.savepoint():
                        touched = _retarget(
                            uow, ctx, issuer, object_ref, op.key, target, actor=actor, now=now
                        )
                except (InvalidInput, Conflict) as e:
                    error = _error(e)
                if error is None:
                    previous = covers.get(op.key)
                    latest = apply_sync_plan([previous] if previous else [], SyncPlan((op,)))
                    cover = next(c for c in latest if c.key == op.key)
                    covers[op.key] = cover
                    row = rows.get(op.key.text)
                    if row is None:  # a mission gone from the feed still has its cover row
                        continue
                    row.cover_start, row.cover_end = cover.window.start, cover.window.end
                    row.cover_status = cover.status.value
                    row.updated_at = now
                operations.append(_operation_view(op, touched, error))
            calendar.last_synced_at = now
            calendar.last_feed_sha256 = digest
            issues = [{"uid": i.uid, "message": i.message} for i in feed.issues]
            calendar.issues = json.dumps(issues, ensure_ascii=False)
            audit.record(
                uow,
                tenant_id=tenant_id,
                actor=actor,
                action="calendar.synced",
                entity_type="subscription",
                entity_id=ctx.subscription.id,
                data={
                    "object_ref": object_ref,
                    "source": source,
                    "url": url,
                    "feed_sha256": digest,
                    "missions": len(feed.missions),
                    "operations": [
                        {"action": o.action, "mission": o.mission, "applied": o.applied}
                        for o in operations
                    ],
                },
                at=now,
            )
            live = [
                window_view(uow, r, now, issuer.public_base_url)
                for r in uow.ondemand.windows_of_object(ctx.subscription.id, object_ref)
                if r.source == "calendar" and r.state != WindowState.CANCELLED.value
            ]
            view = SyncView(
                subscription_id=ctx.subscription.id,
                object_ref=object_ref,
                source=source,
                synced_at=now,
                missions=len(feed.missions),
                operations=operations,
                unchanged=len(plan.unchanged),
                issues=issues,
                windows=live,
            )
            uow.commit()
        return view

    return retrying(run)


def _operation_view(
    op: SyncOperation, touched: list[str], error: dict[str, Any] | None
) -> SyncOperationView:
    return SyncOperationView(
        action=op.action.value,
        mission=op.key.text,
        reason=op.reason,
        start=op.window.start,
        end=op.window.end,
        previous_start=op.previous.start if op.previous else None,
        previous_end=op.previous.end if op.previous else None,
        applied=error is None,
        windows=touched,
        error=error,
    )


def import_ics(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    data: bytes,
    settings: CalendarIn | dict[str, Any],
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
    source: str = "ics",
    url: str | None = None,
    max_bytes: int = FetchLimits().max_bytes,
) -> SyncView:
    """Sync a subscription item's cover with an ICS document (uploaded or fetched)."""
    given = parse_request(CalendarIn, settings)
    if len(data) > max_bytes:
        raise InvalidInput(
            f"the calendar is larger than {max_bytes} bytes", field="ics", code="calendar.too_large"
        )
    moment = _now(now)
    return _sync(
        uow,
        tenant_id,
        subscription_id,
        lambda at: parse_ics(data, horizon=_horizon(at)),
        given,
        actor,
        issuer=issuer,
        now=moment,
        source=source,
        url=url,
        digest=hashlib.sha256(data).hexdigest(),
    )


def sync_calendar_url(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    payload: CalendarUrlIn | dict[str, Any],
    actor: str,
    *,
    issuer: CertificateIssuer,
    limits: FetchLimits = FetchLimits(),
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SyncView:
    """Fetch an ICS feed from its URL, then sync as :func:`import_ics`."""
    given = parse_request(CalendarUrlIn, payload)
    with uow:  # the subscription exists before anything is fetched
        load_context(uow, tenant_id, subscription_id)
    data = fetch_ics(given.url, limits, transport=transport)
    settings = CalendarIn.model_validate(given.model_dump(exclude={"url"}))
    return import_ics(
        uow,
        tenant_id,
        subscription_id,
        data,
        settings,
        actor,
        issuer=issuer,
        now=now,
        source="url",
        url=given.url.strip(),
        max_bytes=limits.max_bytes,
    )


def sync_missions(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    payload: MissionsIn | dict[str, Any],
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
) -> SyncView:
    """Sync with the complete API list of missions (absent missions are removed)."""
    given = parse_request(MissionsIn, payload)
    feed = missions_from_api(given.missions)
    settings = CalendarIn.model_validate(given.model_dump(exclude={"missions"}))
    digest = hashlib.sha256(
        json.dumps(given.missions, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    return _sync(
        uow,
        tenant_id,
        subscription_id,
        lambda _at: feed,
        settings,
        actor,
        issuer=issuer,
        now=_now(now),
        source="api",
        digest=digest,
    )


# --- geofence -------------------------------------------------------------------------------------


class GeofenceIn(_Strict):
    """``PUT /v1/subscriptions/{id}/geofence`` body: a GeoJSON Polygon or MultiPolygon
    (``[lon, lat]`` positions) and the hysteresis rules."""

    geometry: dict[str, Any] = Field(
        examples=[
            {
                "type": "Polygon",
                "coordinates": [
                    [[2.35, 48.75], [2.353, 48.75], [2.353, 48.752], [2.35, 48.752], [2.35, 48.75]]
                ],
            }
        ]
    )
    buffer_m: float = Field(default=0.0, ge=0, le=5000)
    object_ref: str | None = Field(default=None, max_length=100)
    dwell_seconds: int = Field(default=120, ge=0, le=86400)
    gap_seconds: int = Field(default=300, ge=0, le=86400)
    lateness_seconds: int = Field(default=120, ge=0, le=86400)
    max_silence_seconds: int | None = Field(default=3600, ge=1, le=7 * 86400)
    max_accuracy_m: float | None = Field(default=None, gt=0)

    def rules(self) -> GeofenceRules:
        return GeofenceRules(
            dwell=timedelta(seconds=self.dwell_seconds),
            gap=timedelta(seconds=self.gap_seconds),
            lateness=timedelta(seconds=self.lateness_seconds),
            max_silence=(
                None
                if self.max_silence_seconds is None
                else timedelta(seconds=self.max_silence_seconds)
            ),
            max_accuracy_m=self.max_accuracy_m,
        )


class GeofenceView(_Strict):
    subscription_id: str
    object_ref: str
    geometry: dict[str, Any]
    settings: dict[str, Any]
    updated_at: datetime


class PingIn(_Strict):
    at: AwareDatetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0)


class PingsIn(_Strict):
    """``POST /v1/subscriptions/{id}/pings`` body: one device's positions, any order."""

    device_ref: str = Field(min_length=1, max_length=100, examples=["tracker-7"])
    pings: list[PingIn] = Field(min_length=1, max_length=5000)


class GeofenceDecisionView(_Strict):
    action: str
    at: datetime
    reason: str
    window_id: str | None
    applied: bool
    error: dict[str, Any] | None = None


class PingsView(_Strict):
    subscription_id: str
    device_ref: str
    accepted: int
    duplicate: int
    late: int
    inaccurate: int
    phase: str
    decisions: list[GeofenceDecisionView]
    window: WindowView | None = Field(description="the window open for this device, if any")


def set_geofence(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    payload: GeofenceIn | dict[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
) -> GeofenceView:
    """Set (or replace) the polygons and rules of a subscription's geofence."""
    given = parse_request(GeofenceIn, payload)
    Geofence.from_geojson(given.geometry, buffer_m=given.buffer_m, field="geometry")
    given.rules()
    moment = _now(now)
    with uow:
        ctx = load_context(uow, tenant_id, subscription_id, for_update=True)
        object_ref = ctx.subscription.item(given.object_ref).ref
        settings = given.model_dump(exclude={"geometry", "object_ref"})
        row = uow.ondemand.geofence(ctx.subscription.id)
        geometry = json.dumps(given.geometry, sort_keys=True)
        if row is None:
            row = OnDemandGeofenceRow(
                subscription_id=ctx.subscription.id,
                tenant_id=tenant_id,
                object_ref=object_ref,
                geometry=geometry,
                settings=json.dumps(settings, sort_keys=True),
                updated_at=moment,
            )
            uow.ondemand.add(row)
        row.object_ref = object_ref
        row.geometry = geometry
        row.settings = json.dumps(settings, sort_keys=True)
        row.updated_at = moment
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="geofence.set",
            entity_type="subscription",
            entity_id=ctx.subscription.id,
            data={"object_ref": object_ref, "settings": settings},
            at=moment,
        )
        view = GeofenceView(
            subscription_id=ctx.subscription.id,
            object_ref=object_ref,
            geometry=given.geometry,
            settings=settings,
            updated_at=moment,
        )
        uow.commit()
    return view


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
    moment = _now(now)
    for i, p in enumerate(given.pings):
        if ensure_utc(p.at) > moment + _FUTURE_SKEW:
            raise InvalidInput("a ping cannot be in the future", field=f"pings[{i}].at")
    pings = [Ping(ensure_utc(p.at), p.lat, p.lon, p.accuracy_m) for p in given.pings]

    def run() -> PingsView:
        with uow:
            ctx = load_context(uow, tenant_id, subscription_id, for_update=True)
            fence_row, fence, rules = _fence_of(uow, ctx)
            tracker = uow.ondemand.tracker(ctx.subscription.id, given.device_ref, for_update=True)
            if tracker is None:
                tracker = OnDemandTrackerRow(
                    tenant_id=tenant_id,
                    subscription_id=ctx.subscription.id,
                    device_ref=given.device_ref,
                    state=json.dumps(TrackerState(ctx.subscription.id, given.device_ref).to_json()),
                    window_id=None,
                    updated_at=moment,
                )
                uow.ondemand.add(tracker)
            state = TrackerState.from_json(json.loads(tracker.state))
            step = receive_pings(state, pings, fence, rules)
            decisions = _apply_geofence(
                uow,
                ctx,
                issuer,
                tracker,
                fence_row.object_ref,
                step.decisions,
                step.state,
                rules,
                actor=actor,
                now=moment,
                max_backdate=max_backdate,
            )
            tracker.state = json.dumps(step.state.to_json())
            tracker.updated_at = moment
            open_window = (
                None
                if tracker.window_id is None
                else uow.ondemand.window(tenant_id, tracker.window_id)
            )
            counts = {o: step.outcomes.count(o) for o in PingOutcome}
            view = PingsView(
                subscription_id=ctx.subscription.id,
                device_ref=given.device_ref,
                accepted=counts[PingOutcome.ACCEPTED],
                duplicate=counts[PingOutcome.DUPLICATE],
                late=counts[PingOutcome.LATE],
                inaccurate=counts[PingOutcome.INACCURATE],
                phase=step.state.phase.value,
                decisions=decisions,
                window=(
                    None
                    if open_window is None
                    else window_view(uow, open_window, moment, issuer.public_base_url)
                ),
            )
            uow.commit()
        return view

    return retrying(run)


def _fence_of(
    uow: UnitOfWork, ctx: SubscriptionContext
) -> tuple[OnDemandGeofenceRow, Geofence, GeofenceRules]:
    """The subscription's stored geofence: its row, polygons and rules (``geofence.not_found``)."""
    fence_row = uow.ondemand.geofence(ctx.subscription.id)
    if fence_row is None:
        raise NotFound(
            f"subscription {ctx.subscription.id} has no geofence: PUT it first",
            field="geofence",
            code="geofence.not_found",
        )
    settings = GeofenceIn.model_validate(
        {"geometry": json.loads(fence_row.geometry), **json.loads(fence_row.settings)}
    )
    fence = Geofence.from_geojson(settings.geometry, buffer_m=settings.buffer_m)
    return fence_row, fence, settings.rules()


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
    moment = _now(now)

    def run() -> PingsView | None:
        with uow:
            ctx = load_context(uow, tenant_id, subscription_id, for_update=True)
            tracker = uow.ondemand.tracker(ctx.subscription.id, device_ref, for_update=True)
            if tracker is None:
                return None
            fence_row, fence, rules = _fence_of(uow, ctx)
            state = TrackerState.from_json(json.loads(tracker.state))
            step = tick_tracker(state, moment, fence, rules)
            if step.state == state:
                return None
            decisions = _apply_geofence(
                uow,
                ctx,
                issuer,
                tracker,
                fence_row.object_ref,
                step.decisions,
                step.state,
                rules,
                actor=actor,
                now=moment,
                max_backdate=max_backdate,
            )
            tracker.state = json.dumps(step.state.to_json())
            tracker.updated_at = moment
            open_window = (
                None
                if tracker.window_id is None
                else uow.ondemand.window(tenant_id, tracker.window_id)
            )
            view = PingsView(
                subscription_id=ctx.subscription.id,
                device_ref=device_ref,
                accepted=0,
                duplicate=0,
                late=0,
                inaccurate=0,
                phase=step.state.phase.value,
                decisions=decisions,
                window=(
                    None
                    if open_window is None
                    else window_view(uow, open_window, moment, issuer.public_base_url)
                ),
            )
            uow.commit()
        return view

    return retrying(run)


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
                at = _effective(decision.at, now, max_backdate, "pings")
                if pending is not None:  # entry and exit in one batch: one closed window
                    start = _effective(pending.at, now, max_backdate, "pings")
                    row, _, _ = open_row(
                        uow, ctx, issuer, actor=actor, now=start, object_ref=object_ref,
                        start=start, end=at, source="geofence", source_ref=tracker.device_ref,
                        recorded_at=now,
                    )  # fmt: skip
                    window_id = row.id
                elif tracker.window_id is not None:
                    window_id = tracker.window_id
                    _close_window(uow, ctx, issuer, window_id, at, actor=actor, now=now)
        except (InvalidInput, Conflict) as e:
            error = _error(e)
        if pending is not None:
            views.append(_decision_view(pending, window_id, error))
        views.append(_decision_view(decision, window_id, error))
        pending = None
        tracker.window_id = None
    if pending is not None:
        error = None
        try:
            with uow.ondemand.savepoint():
                start = _effective(pending.at, now, max_backdate, "pings")
                end = _geofence_end(ctx, start, state, rules)
                row, _, _ = open_row(
                    uow, ctx, issuer, actor=actor, now=start, object_ref=object_ref,
                    start=start, end=end, source="geofence", source_ref=tracker.device_ref,
                    recorded_at=now,
                )  # fmt: skip
                tracker.window_id = row.id
        except (InvalidInput, Conflict) as e:
            error = _error(e)
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


def _close_window(
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
        dated = min(now, row.ends_at - _EPSILON)
        extend_row(uow, ctx, issuer, row, at, actor=actor, now=dated, recorded_at=now)


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
    dated = max(row.starts_at, min(watermark, now, row.ends_at - _EPSILON))
    try:
        with uow.ondemand.savepoint():
            extend_row(uow, ctx, issuer, row, wanted, actor=actor, now=dated, recorded_at=now)
    except (InvalidInput, Conflict) as e:
        if e.code == CONTENTION:
            raise
        return  # the window reached the product's longest length: it ends as booked


# --- partner events -------------------------------------------------------------------------------


class PartnerEventIn(_Strict):
    """``POST /v1/partner-events`` body: a rental handed over (``start``) or returned (``stop``)."""

    subscription_id: str = Field(min_length=1, max_length=20, examples=["SUB-2026-000001"])
    partner_ref: str = Field(min_length=1, max_length=200, examples=["rental-88412"])
    kind: PartnerCallKind
    at: AwareDatetime = Field(examples=["2026-06-13T09:00:00+02:00"])
    object_ref: str | None = Field(default=None, max_length=100)
    expected_end: AwareDatetime | None = Field(
        default=None, description="start only: when the partner expects the return"
    )


class PartnerEventView(_Strict):
    partner_ref: str
    subscription_id: str
    kind: str
    action: str = Field(description="open, close, open_closed, hold or refuse")
    reason: str
    replayed: bool
    status: str
    window: WindowView | None
    certificate: str | None


def handle_partner_event(
    uow: UnitOfWork,
    tenant_id: str,
    payload: PartnerEventIn | dict[str, Any],
    idempotency_key: str | None,
    actor: str,
    *,
    issuer: CertificateIssuer,
    now: datetime | None = None,
    max_backdate: timedelta = DEFAULT_MAX_BACKDATE,
    rules: PartnerRules | None = None,
) -> PartnerEventView:
    """Apply one start/stop call of a partner (a refusal is an answer: ``action="refuse"``)."""
    given = parse_request(PartnerEventIn, payload)
    moment = _now(now)
    at = ensure_utc(given.at, field="at")
    key = idempotency_key or f"{given.kind.value}@{at.isoformat()}"

    def run() -> PartnerEventView:
        with uow:
            ctx = load_context(uow, tenant_id, given.subscription_id, for_update=True)
            ref = uow.ondemand.partner_ref(tenant_id, given.partner_ref, for_update=True)
            if ref is not None and ref.subscription_id != ctx.subscription.id:
                raise Conflict(
                    f"partner reference {given.partner_ref!r} belongs to subscription "
                    f"{ref.subscription_id}",
                    field="partner_ref",
                    code="partner.reference_taken",
                )
            if ref is None:
                object_ref = ctx.subscription.item(given.object_ref).ref
                ref = OnDemandPartnerRefRow(
                    tenant_id=tenant_id,
                    subscription_id=ctx.subscription.id,
                    object_ref=object_ref,
                    partner_ref=given.partner_ref,
                    state=json.dumps(PartnerRefState(given.partner_ref).to_json()),
                    window_id=None,
                    updated_at=moment,
                )
                uow.ondemand.add(ref)
            state = PartnerRefState.from_json(json.loads(ref.state))
            call = PartnerCall(given.kind, given.partner_ref, key, at, moment)
            step = handle_partner_call(state, call, rules or PartnerRules())
            decision = step.decision
            certificate: str | None = None
            if not step.replayed:
                certificate = _apply_partner(
                    uow, ctx, issuer, ref, decision.action, decision.start, decision.end,
                    given.expected_end, actor=actor, now=moment, max_backdate=max_backdate,
                )  # fmt: skip
            ref.state = json.dumps(step.state.to_json())
            ref.updated_at = moment
            audit.record(
                uow,
                tenant_id=tenant_id,
                actor=actor,
                action="partner.event",
                entity_type="partner_ref",
                entity_id=given.partner_ref[:64],
                data={
                    "kind": given.kind.value,
                    "at": at.isoformat(),
                    "decision": decision.to_json(),
                    "replayed": step.replayed,
                    "window": ref.window_id,
                },
                at=moment,
            )
            window = (
                None if ref.window_id is None else uow.ondemand.window(tenant_id, ref.window_id)
            )
            if certificate is None and window is not None:
                certificates = uow.ondemand.certificates_of_window(window.id)
                certificate = certificates[-1].number if certificates else None
            view = PartnerEventView(
                partner_ref=given.partner_ref,
                subscription_id=ctx.subscription.id,
                kind=given.kind.value,
                action=decision.action.value,
                reason=decision.reason,
                replayed=step.replayed,
                status=step.state.status.value,
                window=(
                    None
                    if window is None
                    else window_view(uow, window, moment, issuer.public_base_url)
                ),
                certificate=certificate,
            )
            uow.commit()
        return view

    return retrying(run)


def _apply_partner(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    issuer: CertificateIssuer,
    ref: OnDemandPartnerRefRow,
    action: PartnerAction,
    start: datetime | None,
    end: datetime | None,
    expected_end: datetime | None,
    *,
    actor: str,
    now: datetime,
    max_backdate: timedelta,
) -> str | None:
    """Apply a partner decision; the certificate issued, if any."""
    if action in (PartnerAction.OPEN, PartnerAction.OPEN_CLOSED):
        assert start is not None
        begin = _effective(start, now, max_backdate, "at")
        finish = (
            end
            if action is PartnerAction.OPEN_CLOSED and end is not None
            else provisional_end(
                ctx.terms.terms,
                ctx.subscription.unit,
                begin,
                hint=None if expected_end is None else ensure_utc(expected_end),
            )
        )
        row, _, certificate = open_row(
            uow, ctx, issuer, actor=actor, now=min(begin, now), object_ref=ref.object_ref,
            start=begin, end=finish, source="partner", source_ref=ref.partner_ref,
            recorded_at=now,
        )  # fmt: skip
        ref.window_id = row.id
        return certificate.number
    if action is PartnerAction.CLOSE and ref.window_id is not None:
        assert end is not None
        stop_at = _effective(end, now, max_backdate, "at")
        _close_window(uow, ctx, issuer, ref.window_id, stop_at, actor=actor, now=now)
    return None


def flag_orphan_stop(
    uow: UnitOfWork,
    tenant_id: str,
    partner_ref: str,
    actor: str,
    *,
    now: datetime | None = None,
    rules: PartnerRules | None = None,
) -> PartnerDecision | None:
    """Flag a partner's stop that has waited ``orphan_stop_after`` for its start (a job): the
    reference becomes ``stop_orphaned`` (a later start still records the rental), audited, with
    the event ``partner.stop_orphaned`` for a human to look at. Once: ``None`` when not due or
    flagged already."""
    moment = _now(now)

    def run() -> PartnerDecision | None:
        with uow:
            ref = uow.ondemand.partner_ref(tenant_id, partner_ref, for_update=True)
            if ref is None:
                return None
            state = PartnerRefState.from_json(json.loads(ref.state))
            step = check_partner_timeout(state, moment, rules or PartnerRules())
            if step is None:
                return None
            ref.state = json.dumps(step.state.to_json())
            ref.updated_at = moment
            decision = step.decision
            audit.record(
                uow,
                tenant_id=tenant_id,
                actor=actor,
                action="partner.stop_orphaned",
                entity_type="partner_ref",
                entity_id=partner_ref[:64],
                data={"decision": decision.to_json(), "subscription_id": ref.subscription_id},
                at=moment,
            )
            outbox.publish(
                uow,
                tenant_id=tenant_id,
                event_type="partner.stop_orphaned",
                payload={
                    "partner_ref": partner_ref,
                    "subscription_id": ref.subscription_id,
                    "object_ref": ref.object_ref,
                    "stop_at": decision.end,
                    "stop_received_at": state.stop_received_at,
                    "reason": decision.reason,
                },
            )
            uow.commit()
        return decision

    return retrying(run)


# --- reminders ------------------------------------------------------------------------------------


class ReminderReport(_Strict):
    checked_at: datetime
    items: int
    sent: list[dict[str, Any]]
    superseded: int
    failed: list[dict[str, Any]]
    next_check_at: datetime | None


def _missions_of(rows: Sequence[OnDemandMissionRow]) -> list[Mission]:
    missions = []
    for row in rows:
        if row.mission_status == "removed" or row.mission_start is None or row.mission_end is None:
            continue
        missions.append(
            Mission(
                key=MissionKey.from_text(row.mission_key),
                window=Window(row.mission_start, row.mission_end),
                status=MissionStatus(row.mission_status),
                summary=row.summary,
                location=row.location,
                all_day=row.all_day,
            )
        )
    return missions


_SUBJECTS = {
    "fr": "Mission sans assurance : {mission} le {when}",
    "en": "Mission without cover: {mission} on {when}",
}
_BODIES = {
    "fr": (
        "Bonjour,\n\nVotre mission « {mission} »{where} commence le {when} ({zone}) et n'est "
        "pas entièrement couverte : la garantie manque à partir du {uncovered}.\n\n"
        "Activez votre assurance à la demande avant le début de la mission.\n\n— Polis\n"
    ),
    "en": (
        "Hello,\n\nYour mission '{mission}'{where} starts on {when} ({zone}) and is not fully "
        "covered: cover is missing from {uncovered}.\n\nActivate your on-demand cover before "
        "the mission starts.\n\n— Polis\n"
    ),
}


def _message(lang: str, params: dict[str, str]) -> tuple[str, str]:
    def local(text: str) -> str:
        return to_local(datetime.fromisoformat(text), PARIS).strftime("%d/%m/%Y %H:%M")

    where = f" ({params['location']})" if params.get("location") else ""
    values = {
        "mission": params["mission"],
        "where": where,
        "when": local(params["starts_at"]),
        "zone": params["time_zone"],
        "uncovered": local(params["uncovered_from"]),
    }
    language = "en" if lang == "en" else "fr"
    return _SUBJECTS[language].format(**values), _BODIES[language].format(**values)


def run_reminders(
    uow: UnitOfWork,
    sender: MailSender | None,
    *,
    now: datetime | None = None,
    actor: str = "reminders",
) -> ReminderReport:
    """Send the reminders due at ``now`` (e-mail and webhook), once each; a job to run often."""
    moment = _now(now)
    sent: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    superseded = 0
    next_check: datetime | None = None
    with uow:
        objects = uow.ondemand.upcoming_mission_objects(moment)
        for tenant_id, subscription_id, object_ref in objects:
            ctx = load_context(uow, tenant_id, subscription_id)
            missions = _missions_of(uow.ondemand.missions(subscription_id, object_ref))
            covers = [
                Window(r.starts_at, r.ends_at)
                for r in uow.ondemand.windows_of_object(subscription_id, object_ref)
                if r.state != WindowState.CANCELLED.value
            ]
            recipients = [Recipient(Channel.WEBHOOK, f"tenant:{tenant_id}")]
            if ctx.customer_row.email:
                recipients.append(Recipient(Channel.EMAIL, ctx.customer_row.email))
            done = [
                ReminderKey.from_json(json.loads(r.key_json))
                for r in uow.ondemand.reminders(subscription_id)
            ]
            plan = plan_reminders(
                missions, covers, recipients=recipients, now=moment, already_sent=done
            )
            if plan.next_check_at is not None:
                next_check = min(next_check or plan.next_check_at, plan.next_check_at)
            for key in plan.superseded:
                uow.ondemand.add(_reminder_row(ctx, key, "superseded", None, None, None, moment))
                superseded += 1
            for reminder in plan.due:
                params = reminder.params()
                event_id: int | None = None
                try:
                    with uow.ondemand.savepoint():
                        if reminder.recipient.channel is Channel.EMAIL:
                            if sender is None:
                                raise InvalidInput("no mail sender", code="mail.unavailable")
                            subject, text = _message(ctx.customer_row.language, params)
                            sender.send(reminder.recipient.address, subject, text)
                        else:
                            event_id = outbox.publish(
                                uow,
                                tenant_id=tenant_id,
                                event_type="reminder.due",
                                payload={
                                    "subscription_id": subscription_id,
                                    "customer_id": ctx.customer.id,
                                    "object_ref": object_ref,
                                    "mission": reminder.key.mission.text,
                                    "message_key": reminder.message_key,
                                    "mission_start": reminder.mission.window.start,
                                    "uncovered": [
                                        {"start": w.start, "end": w.end} for w in reminder.uncovered
                                    ],
                                    "lead_seconds": int(reminder.key.lead.total_seconds()),
                                    "params": params,
                                },
                            )
                        uow.ondemand.add(
                            _reminder_row(
                                ctx, reminder.key, "sent", reminder.message_key,
                                reminder.send_at, event_id, moment,
                            )
                        )  # fmt: skip
                except Exception as e:  # noqa: BLE001 - a failed send is retried next run
                    failed.append(
                        {"reminder": reminder.key.text, "error": f"{type(e).__name__}: {e}"}
                    )
                    continue
                sent.append(
                    {
                        "reminder": reminder.key.text,
                        "channel": reminder.recipient.channel.value,
                        "address": reminder.recipient.address,
                        "mission": reminder.key.mission.text,
                        "message_key": reminder.message_key,
                        "event_id": event_id,
                    }
                )
        if sent or superseded:
            audit.record(
                uow,
                tenant_id=None,
                actor=actor,
                action="reminders.run",
                entity_type="reminders",
                entity_id=moment.strftime("%Y%m%dT%H%M%SZ"),
                data={"sent": len(sent), "superseded": superseded, "failed": len(failed)},
                at=moment,
            )
        uow.commit()
    return ReminderReport(
        checked_at=moment,
        items=len(objects),
        sent=sent,
        superseded=superseded,
        failed=failed,
        next_check_at=next_check,
    )


def _reminder_row(
    ctx: SubscriptionContext,
    key: ReminderKey,
    status: str,
    message_key: str | None,
    send_at: datetime | None,
    event_id: int | None,
    now: datetime,
) -> OnDemandReminderRow:
    return OnDemandReminderRow(
        tenant_id=ctx.tenant_id,
        subscription_id=ctx.subscription.id,
        reminder_key=key.text[:1000],
        key_json=json.dumps(key.to_json(), sort_keys=True),
        status=status,
        channel=key.recipient.channel.value,
        address=key.recipient.address[:254],
        mission_key=key.mission.text[:500],
        message_key=message_key,
        send_at=send_at,
        event_id=event_id,
        recorded_at=now,
    )
