"""Calendar trigger: the pure sync plan that makes a policy's covers follow its missions.

:func:`plan_calendar_sync` gives the operations (a :class:`SyncPlan`) that the service applies,
with ``now`` the instant of the sync, ``D`` the mission's time plus the policy's margins and ``C``
the latest cover of that mission:

- cover is never opened in the past: an accepted mission (confirmed, or tentative when the rule
  accepts it) opens ``[max(D.start, now), D.end)`` if ``D.end > now``; past missions open nothing;
- a cover that has not started (``C.start >= now``) follows the mission: it *moves*, or it is
  *cancelled* (not billed) when the mission is cancelled, removed, no longer accepted or over;
- a started cover keeps its start (cover that was in force cannot be undone): its end follows the
  mission's end; it is *stopped at now* (billed up to now) when the mission is cancelled, removed,
  no longer accepted or moved entirely into the past; when the mission is postponed entirely into
  the future, the running cover is stopped at now and a new one is opened at the new time;
- an ended cover is history and never changed; a cover stopped early is never re-opened
  automatically (the insured may activate by hand);
- a cover whose key is absent from the feed is *removed* only if its mission lies inside the
  horizon the feed was read for; outside it, the feed says nothing about it and it is kept.

Applying a plan then syncing again with the same feed gives an empty plan, at the same instant or
later (tested as a property).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.time import Window, ensure_utc, parse_instant
from polis.ondemand.calendar_missions import (
    CalendarFeed,
    Mission,
    MissionAcceptance,
    MissionKey,
    MissionStatus,
)

__all__ = [
    "CalendarRule",
    "MissionCover",
    "MissionCoverStatus",
    "SyncAction",
    "SyncOperation",
    "SyncPlan",
    "apply_sync_plan",
    "plan_calendar_sync",
]


@dataclass(frozen=True, slots=True)
class CalendarRule:
    """A policy's calendar settings: margins around each mission and which statuses open cover."""

    margin_before: timedelta = timedelta(0)
    margin_after: timedelta = timedelta(0)
    acceptance: MissionAcceptance = MissionAcceptance.CONFIRMED_ONLY

    def __post_init__(self) -> None:
        for name in ("margin_before", "margin_after"):
            margin: timedelta = getattr(self, name)
            if margin < timedelta(0) or margin > timedelta(days=1):
                raise InvalidInput("a margin is between 0 and 24 hours", field=name)

    def cover_of(self, mission: Mission) -> Window:
        """The mission's time with the margins: the cover it asks for."""
        return Window(
            mission.window.start - self.margin_before, mission.window.end + self.margin_after
        )


class MissionCoverStatus(StrEnum):
    """State of a mission-driven cover as persisted. Values are stored: never rename one."""

    SCHEDULED = "scheduled"
    """Follows its mission: not started, running or ended, as ``now`` and the window say."""
    CANCELLED = "cancelled"
    """Cancelled before it started: never in force, not billed."""
    STOPPED = "stopped"
    """Ended early (mission cancelled while running, or stopped by hand): history."""


@dataclass(frozen=True, slots=True)
class MissionCover:
    """The latest cover decided for a mission (the service passes one per key)."""

    key: MissionKey
    window: Window
    status: MissionCoverStatus = MissionCoverStatus.SCHEDULED

    def to_json(self) -> dict[str, str]:
        return {
            "key": self.key.text,
            "start": self.window.start.isoformat(),
            "end": self.window.end.isoformat(),
            "status": self.status.value,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> MissionCover:
        key, start, end = data.get("key"), data.get("start"), data.get("end")
        if not isinstance(key, str) or not isinstance(start, str) or not isinstance(end, str):
            raise InvalidInput("key, start and end are required", field="key")
        try:
            status = MissionCoverStatus(str(data.get("status", "scheduled")))
        except ValueError as e:
            raise InvalidInput("unknown cover status", field="status") from e
        window = Window(parse_instant(start, field="start"), parse_instant(end, field="end"))
        return cls(MissionKey.from_text(key), window, status)


class SyncAction(StrEnum):
    OPEN = "open"
    MOVE = "move"
    CANCEL = "cancel"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class SyncOperation:
    """One thing to do. ``window`` is the result (for ``cancel``: the window that is cancelled);
    ``previous`` the window before the change (``None`` for ``open``)."""

    action: SyncAction
    key: MissionKey
    window: Window
    previous: Window | None
    reason: str
    mission: Mission | None = None


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What a sync changes, in a deterministic order, and the keys it leaves as they are."""

    operations: tuple[SyncOperation, ...]
    unchanged: tuple[MissionKey, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.operations

    def of(self, action: SyncAction) -> tuple[SyncOperation, ...]:
        return tuple(op for op in self.operations if op.action is action)


def _absent_is_known(cover: MissionCover, rule: CalendarRule, horizon: Window | None) -> bool:
    """Whether the feed speaks for this cover's mission (inside the horizon it was read for)."""
    if horizon is None:
        return True
    start = cover.window.start + rule.margin_before
    end = max(cover.window.end - rule.margin_after, start + timedelta(microseconds=1))
    return Window(start, end).overlaps(horizon)


def _plan_one(
    cover: MissionCover | None,
    mission: Mission | None,
    wanted: bool,
    known: bool,
    rule: CalendarRule,
    now: datetime,
    why_not: str,
) -> list[SyncOperation]:
    desired = rule.cover_of(mission) if mission is not None and wanted else None
    effective = (
        Window(max(desired.start, now), desired.end)
        if desired is not None and desired.end > now
        else None
    )
    key = cover.key if cover is not None else mission.key if mission is not None else None
    assert key is not None
    if cover is None or cover.status is MissionCoverStatus.CANCELLED:
        if effective is None:
            return []
        reason = "mission_confirmed" if cover is None else "mission_reconfirmed"
        return [SyncOperation(SyncAction.OPEN, key, effective, None, reason, mission)]
    current = cover.window
    if cover.status is MissionCoverStatus.STOPPED:
        return []
    if current.end <= now:  # ended: history
        if effective is not None and effective.start >= current.end:
            return [
                SyncOperation(SyncAction.OPEN, key, effective, None, "mission_extended", mission)
            ]
        return []
    if not known:
        return []
    if current.start >= now:  # not started: follows the mission freely
        if effective is None:
            return [SyncOperation(SyncAction.CANCEL, key, current, current, why_not, mission)]
        if effective == current:
            return []
        return [SyncOperation(SyncAction.MOVE, key, effective, current, "mission_moved", mission)]
    # started: what was in force stays in force
    stopped = Window(current.start, now)
    if effective is None:
        return [SyncOperation(SyncAction.STOP, key, stopped, current, why_not, mission)]
    assert desired is not None
    if desired.start > now:
        return [
            SyncOperation(SyncAction.STOP, key, stopped, current, "mission_postponed", mission),
            SyncOperation(SyncAction.OPEN, key, effective, None, "mission_postponed", mission),
        ]
    if desired.end == current.end:
        return []
    moved = Window(current.start, desired.end)
    return [SyncOperation(SyncAction.MOVE, key, moved, current, "mission_moved", mission)]


def plan_calendar_sync(
    current: Iterable[MissionCover],
    feed: CalendarFeed,
    *,
    rule: CalendarRule,
    now: datetime,
) -> SyncPlan:
    """The operations that make the covers follow ``feed`` at ``now`` (see the module docstring).

    ``current`` holds the latest cover of each mission (one per key, else ``InvalidInput``).
    The plan depends only on the inputs' content: order and duplicates in the feed do not matter.
    """
    moment = ensure_utc(now, field="now")
    covers: dict[MissionKey, MissionCover] = {}
    for given in current:
        if given.key in covers:
            raise InvalidInput(f"two covers given for mission {given.key.text}", field="current")
        covers[given.key] = given
    missions = {m.key: m for m in CalendarFeed.of(feed.missions).missions}
    operations: list[SyncOperation] = []
    unchanged: list[MissionKey] = []
    for key in sorted(set(covers) | set(missions)):
        cover, mission = covers.get(key), missions.get(key)
        if mission is None:
            assert cover is not None
            wanted, why_not = False, "mission_removed"
            known = _absent_is_known(cover, rule, feed.horizon)
        else:
            wanted = rule.acceptance.accepts(mission.status)
            known = True
            if mission.status is MissionStatus.CANCELLED:
                why_not = "mission_cancelled"
            elif not wanted:
                why_not = "mission_not_confirmed"
            else:
                why_not = "mission_over"
        planned = _plan_one(cover, mission, wanted, known, rule, moment, why_not)
        if planned:
            operations.extend(planned)
        elif cover is not None:
            unchanged.append(key)
    operations.sort(key=lambda op: (op.window.start, op.key, _ACTION_ORDER[op.action]))
    return SyncPlan(tuple(operations), tuple(unchanged))


_ACTION_ORDER = {SyncAction.CANCEL: 0, SyncAction.STOP: 1, SyncAction.MOVE: 2, SyncAction.OPEN: 3}


def apply_sync_plan(current: Iterable[MissionCover], plan: SyncPlan) -> list[MissionCover]:
    """The latest cover per key after ``plan`` (what the service will have persisted).

    A reference for the service layer and for the tests: ``open`` and ``move`` give a scheduled
    cover, ``cancel`` a cancelled one, ``stop`` a stopped one unless an ``open`` follows for the same
    key (a postponed mission), which then becomes the latest.
    """
    latest: dict[MissionKey, MissionCover] = {c.key: c for c in current}
    for op in sorted(plan.operations, key=lambda o: _ACTION_ORDER[o.action]):
        status = {
            SyncAction.OPEN: MissionCoverStatus.SCHEDULED,
            SyncAction.MOVE: MissionCoverStatus.SCHEDULED,
            SyncAction.CANCEL: MissionCoverStatus.CANCELLED,
            SyncAction.STOP: MissionCoverStatus.STOPPED,
        }[op.action]
        latest[op.key] = MissionCover(op.key, op.window, status)
    return sorted(latest.values(), key=lambda c: c.key)
