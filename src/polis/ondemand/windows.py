"""Cover windows ``[start, end)`` in UTC: plan, open, extend, stop early, cancel; cover status.

Time rules (all instants UTC; local time is Europe/Paris):
- a window starts **now** or is **scheduled**: ``start ≥ now − tolerance`` (the product's
  ``start_tolerance_minutes``, for clocks and networks a little behind) and at most
  ``max_advance_days`` ahead; ``end > start``; at most ``max_window_hours`` of real elapsed time;
  a window priced per act lasts at most ``act_max_hours``;
- no business-hours rule: a window may start at night or on a Sunday, unless the product lists
  ``allowed_weekdays`` — then every local day the window touches must be one of them;
- a local wall-clock time **without an offset** is read in Europe/Paris: a time in the spring gap
  (last Sunday of March, 02:00–03:00) does not exist and is refused naming the field; a time in the
  autumn hour that happens twice (last Sunday of October, 02:00–03:00) takes its **first**
  occurrence (summer time, +02:00) — send an offset (``…T02:30:00+01:00``) for the second one;
- **extend**: the new end is later than the current end, before the window has ended; only the
  added time is priced; **stop early**: a started window ends at ``at`` (default now; never before now);
  **cancel**: until the start instant, everything is refunded. A stopped or cancelled window is final.
- **cover status** of an object at an instant: ``covered`` when a live window contains it
  (``start ≤ t < end``), else ``scheduled`` when a live window starts later, else ``not_covered``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from polis.kernel.errors import Conflict, IllegalTransition, InvalidInput
from polis.kernel.time import PARIS, Window, ensure_utc, to_local
from polis.ondemand.intervals import local_days, union
from polis.ondemand.terms import WEEKDAYS, OnDemandTerms
from polis.rating.pure import Unit

__all__ = [
    "CoverPhase",
    "CoverState",
    "CoverStatus",
    "CoverWindow",
    "WindowState",
    "cancel_window",
    "cover_status",
    "extend_window",
    "local_instant",
    "open_window",
    "parse_when",
    "plan_window",
    "stop_window",
]


class WindowState(StrEnum):
    """What was decided about a window (stored); the phase at an instant is derived."""

    BOOKED = "booked"
    STOPPED = "stopped"
    CANCELLED = "cancelled"


class CoverPhase(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class CoverWindow:
    """A window of cover on one insured object (or liability, or place) of a subscription.

    ``sold_end`` is the end as sold (it moves with extensions, not with an early stop).
    ``source`` says what opened it: ``manual``, ``calendar``, ``geofence``, ``partner``.
    """

    id: str
    subscription_id: str
    object_ref: str
    start: datetime
    end: datetime
    state: WindowState
    created_at: datetime
    sold_end: datetime
    source: str = "manual"
    source_ref: str | None = None

    @property
    def window(self) -> Window:
        return Window(self.start, self.end)

    @property
    def live(self) -> bool:
        return self.state is not WindowState.CANCELLED

    def phase(self, at: datetime) -> CoverPhase:
        moment = ensure_utc(at, field="at")
        if self.state is WindowState.CANCELLED:
            return CoverPhase.CANCELLED
        if moment < self.start:
            return CoverPhase.SCHEDULED
        return CoverPhase.ACTIVE if moment < self.end else CoverPhase.ENDED


# ------------------------------------------------------------------------------ local wall time


def local_instant(wall: datetime, *, field: str, tz: ZoneInfo = PARIS) -> datetime:
    """A UTC instant from a wall-clock time; an aware datetime keeps its own offset.

    A naive time in the spring gap is refused (``time.nonexistent``); an ambiguous autumn time takes
    its first occurrence (``fold=0``, summer time).
    """
    if wall.tzinfo is not None:
        return ensure_utc(wall, field=field)
    aware = wall.replace(tzinfo=tz, fold=0)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise InvalidInput(
            f"{wall.isoformat(timespec='minutes')} does not exist in {tz.key}: the clocks jump "
            "from 02:00 to 03:00 that night (choose a time from 03:00)",
            field=field,
            code="time.nonexistent",
        )
    return aware.astimezone(UTC)


def parse_when(text: str, *, field: str) -> datetime:
    """``2025-06-14T09:00`` (Europe/Paris wall time) or with an offset / ``Z`` → UTC instant."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise InvalidInput(f"not an ISO 8601 date-time: {text!r}", field=field) from e
    return local_instant(parsed, field=field)


# ------------------------------------------------------------------------------------- planning


def _weekdays_allowed(terms: OnDemandTerms, window: Window) -> None:
    if terms.allowed_weekdays is None:
        return
    allowed = set(terms.allowed_weekdays)
    for day in local_days(window):
        name = WEEKDAYS[day.weekday()]
        if name not in allowed:
            field = "start" if day == to_local(window.start).date() else "end"
            raise InvalidInput(
                f"this product covers {', '.join(terms.allowed_weekdays)} only (Europe/Paris); "
                f"{day.isoformat()} is a {name}",
                field=field,
                code="window.day_not_allowed",
            )


def _check_length(terms: OnDemandTerms, window: Window, unit: Unit, field: str) -> None:
    limit = terms.max_window_hours
    if unit is Unit.ACT and terms.act_max_hours is not None:
        limit = terms.act_max_hours
    if window.duration > timedelta(hours=limit):
        what = "a round (act)" if unit is Unit.ACT else "a window"
        raise InvalidInput(
            f"{what} lasts at most {limit} hours; this one lasts {window.hours()} hours",
            field=field,
            code="window.too_long",
        )


def plan_window(
    terms: OnDemandTerms,
    *,
    now: datetime,
    unit: Unit,
    start: datetime | None = None,
    end: datetime | None = None,
    duration: timedelta | None = None,
) -> Window:
    """The window asked for, checked: ``start`` None means now; give ``end`` or ``duration``.

    Naive datetimes are Europe/Paris wall times (see :func:`local_instant`).
    """
    moment = ensure_utc(now, field="now")
    begin = moment if start is None else local_instant(start, field="start")
    tolerance = timedelta(minutes=terms.start_tolerance_minutes)
    if begin < moment - tolerance:
        raise InvalidInput(
            f"a window cannot start in the past: {begin.isoformat()} is before now "
            f"({moment.isoformat()}, tolerance {terms.start_tolerance_minutes} min)",
            field="start",
            code="window.start_in_past",
        )
    begin = max(begin, moment)  # a start just behind now (tolerance) is never backdated
    if begin > moment + timedelta(days=terms.max_advance_days):
        raise InvalidInput(
            f"a window can be scheduled at most {terms.max_advance_days} days ahead",
            field="start",
            code="window.too_far_ahead",
        )
    if (end is None) == (duration is None):
        raise InvalidInput("give the end or the duration (one of them)", field="end")
    if end is not None:
        finish = local_instant(end, field="end")
    else:
        assert duration is not None
        if duration <= timedelta(0):
            raise InvalidInput("the duration must be positive", field="duration")
        finish = begin + duration
    if finish <= begin:
        raise InvalidInput(
            f"the end {finish.isoformat()} must be after the start {begin.isoformat()}",
            field="end",
            code="window.end_before_start",
        )
    window = Window(begin, finish)
    _check_length(terms, window, unit, "end" if end is not None else "duration")
    _weekdays_allowed(terms, window)
    return window


def open_window(
    window_id: str,
    subscription_id: str,
    object_ref: str,
    planned: Window,
    *,
    now: datetime,
    source: str = "manual",
    source_ref: str | None = None,
) -> CoverWindow:
    """A booked window (a start before now, within the tolerance, was moved to now by planning)."""
    return CoverWindow(
        window_id,
        subscription_id,
        object_ref,
        planned.start,
        planned.end,
        WindowState.BOOKED,
        ensure_utc(now, field="now"),
        planned.end,
        source,
        source_ref,
    )


# ---------------------------------------------------------------------------------- transitions


def _booked(window: CoverWindow, action: str) -> None:
    if window.state is not WindowState.BOOKED:
        raise IllegalTransition(
            f"window {window.id} is {window.state}: it cannot be {action}", field="window"
        )


def extend_window(
    window: CoverWindow, new_end: datetime, *, now: datetime, terms: OnDemandTerms, unit: Unit
) -> tuple[CoverWindow, Window]:
    """The window with its later end, and the time added ``[old end, new end)`` (to price)."""
    _booked(window, "extended")
    moment = ensure_utc(now, field="now")
    if moment >= window.end:
        raise Conflict(
            f"window {window.id} ended at {window.end.isoformat()}: activate a new window",
            field="window",
            code="window.ended",
        )
    finish = local_instant(new_end, field="end")
    if finish <= window.end:
        raise InvalidInput(
            f"an extension ends later than the current end {window.end.isoformat()}",
            field="end",
            code="window.extend_not_later",
        )
    extended = Window(window.start, finish)
    _check_length(terms, extended, unit, "end")
    _weekdays_allowed(terms, extended)
    return replace(window, end=finish, sold_end=finish), Window(window.end, finish)


def stop_window(
    window: CoverWindow, *, now: datetime, terms: OnDemandTerms, at: datetime | None = None
) -> CoverWindow:
    """The window stopped at ``at`` (default now): it must have started and not ended."""
    _booked(window, "stopped")
    moment = ensure_utc(now, field="now")
    stop = moment if at is None else local_instant(at, field="at")
    if stop < moment - timedelta(minutes=terms.start_tolerance_minutes):
        raise InvalidInput("a window cannot be stopped in the past", field="at")
    stop = max(stop, moment)  # cover already given is never taken back
    if moment <= window.start:
        raise Conflict(
            f"window {window.id} has not started: cancel it instead (full refund)",
            field="window",
            code="window.not_started",
        )
    if stop >= window.end:
        raise Conflict(
            f"window {window.id} ends at {window.end.isoformat()}: nothing to stop",
            field="at",
            code="window.ended",
        )
    return replace(window, end=stop, state=WindowState.STOPPED)


def cancel_window(window: CoverWindow, *, now: datetime) -> CoverWindow:
    """The window cancelled: only until its start instant (nothing covered yet)."""
    _booked(window, "cancelled")
    if ensure_utc(now, field="now") > window.start:
        raise Conflict(
            f"window {window.id} started at {window.start.isoformat()}: stop it instead",
            field="window",
            code="window.started",
        )
    return replace(window, state=WindowState.CANCELLED)


# -------------------------------------------------------------------------------- cover status


class CoverState(StrEnum):
    COVERED = "covered"
    SCHEDULED = "scheduled"
    NOT_COVERED = "not_covered"


@dataclass(frozen=True, slots=True)
class CoverStatus:
    """``until``: the end of the continuous cover containing ``at`` (covered);
    ``next_start``: the start of the next window (scheduled, or covered with a gap ahead)."""

    object_ref: str
    at: datetime
    state: CoverState
    current: tuple[CoverWindow, ...]
    upcoming: tuple[CoverWindow, ...]
    until: datetime | None
    next_start: datetime | None


def cover_status(windows: Iterable[CoverWindow], object_ref: str, at: datetime) -> CoverStatus:
    """Covered / scheduled / not covered for ``object_ref`` at ``at``, with the windows."""
    moment = ensure_utc(at, field="at")
    mine = sorted(
        (w for w in windows if w.object_ref == object_ref and w.live),
        key=lambda w: (w.start, w.end, w.id),
    )
    current = tuple(w for w in mine if w.start <= moment < w.end)
    upcoming = tuple(w for w in mine if w.start > moment)
    until = None
    if current:
        until = next(p.end for p in union(w.window for w in mine) if p.start <= moment < p.end)
    next_start = upcoming[0].start if upcoming else None
    state = (
        CoverState.COVERED
        if current
        else CoverState.SCHEDULED
        if upcoming
        else CoverState.NOT_COVERED
    )
    return CoverStatus(object_ref, moment, state, current, upcoming, until, next_start)
