"""Calendar triggers: cover follows the missions of an ICS document (uploaded, or fetched from an
http(s) URL by :mod:`.calendar_fetch`) or of a complete API list.

:func:`polis.ondemand.triggers_calendar.plan_calendar_sync` gives the operations from the latest
cover of each mission (``ondemand_missions``), and each is applied in its own savepoint
(:func:`.calendar_apply.retarget`): ``open`` activates a window (``source="calendar"``,
``source_ref`` = the mission key), ``move`` cancels a window that has not started and activates the
new one, or extends / stops early a running one; ``cancel`` cancels (not billed), ``stop`` stops at
now. Syncing the same feed again plans nothing: it changes nothing. An operation the rules refuse
(the day's activation limit, a day the product does not cover…) is reported and retried at the next
sync. A fetched feed with no mission at all that would cancel or stop cover is refused
(``calendar.empty_feed``: an error page served as an empty calendar must not cancel everything);
send ``allow_empty`` to mean it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import Field

from polis.calc._base import parse_request
from polis.kernel.errors import Conflict, InvalidInput
from polis.kernel.time import Window
from polis.ondemand.triggers_calendar import (
    CalendarFeed,
    CalendarRule,
    MissionAcceptance,
    SyncAction,
    SyncOperation,
    SyncPlan,
    apply_sync_plan,
    missions_from_api,
    parse_ics,
    plan_calendar_sync,
)
from polis.ondemand.windows import WindowState
from polis.services import audit
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_subscriptions import load_context
from polis.services.ondemand_windows import WindowView, retrying, window_view
from polis.services.triggers.calendar_apply import (
    calendar_row,
    mission_covers,
    retarget,
    upsert_missions,
)
from polis.services.triggers.calendar_fetch import FetchLimits, fetch_ics
from polis.services.triggers.common import Strict, error_of, moment_of
from polis.store.uow import UnitOfWork

__all__ = [
    "CalendarIn",
    "CalendarUrlIn",
    "MissionsIn",
    "SyncOperationView",
    "SyncView",
    "import_ics",
    "sync_calendar_url",
    "sync_missions",
]

_MAX_MISSIONS = 5000
_DEFAULT_LIMITS = FetchLimits()


class CalendarIn(Strict):
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


class SyncOperationView(Strict):
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


class SyncView(Strict):
    subscription_id: str
    object_ref: str
    source: str
    synced_at: datetime
    missions: int
    operations: list[SyncOperationView]
    unchanged: int
    issues: list[dict[str, Any]]
    windows: list[WindowView] = Field(description="the calendar's live windows after the sync")


def _horizon(now: datetime) -> Window:
    return Window(now - timedelta(days=1), now + timedelta(days=180))


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
            calendar = calendar_row(uow, ctx, object_ref, settings.rule(), source=source, url=url)
            rows = {
                r.mission_key: r for r in uow.ondemand.missions(ctx.subscription.id, object_ref)
            }
            covers = mission_covers(list(rows.values()))
            plan = plan_calendar_sync(covers.values(), feed, rule=settings.rule(), now=now)
            drops = plan.of(SyncAction.CANCEL) + plan.of(SyncAction.STOP)
            if source != "api" and not feed.missions and drops and not settings.allow_empty:
                raise Conflict(
                    f"the calendar has no mission at all but {len(drops)} cover(s) would be cancelled "
                    "or stopped: refused (send allow_empty to mean it)",
                    field="ics",
                    code="calendar.empty_feed",
                )
            upsert_missions(uow, ctx, object_ref, rows, feed, now)
            operations: list[SyncOperationView] = []
            for op in plan.operations:
                target = op.window if op.action in (SyncAction.OPEN, SyncAction.MOVE) else None
                error: dict[str, Any] | None = None
                touched: list[str] = []
                try:
                    with uow.ondemand.savepoint():
                        touched = retarget(
                            uow, ctx, issuer, object_ref, op.key, target, actor=actor, now=now
                        )
                except (InvalidInput, Conflict) as e:
                    error = error_of(e)
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
    max_bytes: int = _DEFAULT_LIMITS.max_bytes,
) -> SyncView:
    """Sync a subscription item's cover with an ICS document (uploaded or fetched)."""
    given = parse_request(CalendarIn, settings)
    if len(data) > max_bytes:
        raise InvalidInput(
            f"the calendar is larger than {max_bytes} bytes", field="ics", code="calendar.too_large"
        )
    moment = moment_of(now)
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
    limits: FetchLimits = _DEFAULT_LIMITS,
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
        now=moment_of(now),
        source="api",
        digest=digest,
    )
