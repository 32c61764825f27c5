"""Applying a calendar sync to the store: the latest cover of each mission
(``ondemand_missions``), the mission rows themselves, the calendar's settings row, and moving a
mission's windows to the cover it now asks for (:func:`retarget`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from polis.kernel.time import Window
from polis.ondemand.triggers_calendar import (
    CalendarFeed,
    CalendarRule,
    MissionCover,
    MissionCoverStatus,
    MissionKey,
)
from polis.ondemand.windows import WindowState
from polis.services.ondemand_certificates import CertificateIssuer
from polis.services.ondemand_subscriptions import SubscriptionContext
from polis.services.ondemand_windows import cancel_row, extend_row, open_row, stop_row
from polis.store.tables_ondemand import OnDemandCalendarRow, OnDemandMissionRow, OnDemandWindowRow
from polis.store.uow import UnitOfWork

__all__ = ["calendar_row", "mission_covers", "retarget", "upsert_missions"]


def mission_covers(rows: Sequence[OnDemandMissionRow]) -> dict[MissionKey, MissionCover]:
    """The latest cover of each mission, as persisted."""
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


def retarget(
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


def upsert_missions(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    object_ref: str,
    rows: dict[str, OnDemandMissionRow],
    feed: CalendarFeed,
    now: datetime,
) -> None:
    """Record the feed's missions; a mission absent from it (within its horizon) is ``removed``."""
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


def calendar_row(
    uow: UnitOfWork,
    ctx: SubscriptionContext,
    object_ref: str,
    rule: CalendarRule,
    *,
    source: str,
    url: str | None,
) -> OnDemandCalendarRow:
    """The item's calendar row (locked; created on the first sync) with these settings."""
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
    row.margin_before_s = int(rule.margin_before.total_seconds())
    row.margin_after_s = int(rule.margin_after.total_seconds())
    row.acceptance = rule.acceptance.value
    if row.id is None:
        uow.ondemand.add(row)
    return row
