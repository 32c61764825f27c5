"""Calendar trigger: missions from an ICS document (:func:`parse_ics`) — see ``docs/triggers.md``.

Pure: the ICS *content* is passed in (fetching a URL is the service layer's job).

- a wall-clock time that does not exist (the spring gap) is read with the offset in force *before*
  the gap, as RFC 5545 §3.3.5 says: 02:30 on the last Sunday of March is 03:30 CEST; a wall-clock
  time that happens twice (autumn) is its first occurrence (CEST). An event whose start moves
  forward onto its end that way keeps its length on the clock instead of vanishing;
- a timed event without ``DTEND`` or ``DURATION`` is skipped (zero length, reported as an issue);
  how the other properties are read: :mod:`polis.ondemand.calendar_ics_values`;
- ``RRULE``/``RDATE`` expanded within the horizon, minus ``EXDATE``; an overriding ``VEVENT`` (same
  ``UID`` with a ``RECURRENCE-ID``) replaces its occurrence. Each occurrence lasts the master's
  wall-clock length when ``DTSTART`` and ``DTEND`` share one zone (what calendar applications show),
  its exact length otherwise;
- duplicates of one key are resolved by :meth:`CalendarFeed.of`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from icalendar.prop import vRecur

from polis.kernel.errors import InvalidInput
from polis.kernel.time import PARIS, Window
from polis.ondemand.calendar_ics_values import (
    _last_modified,
    _Length,
    _length,
    _Moment,
    _Reader,
    _sequence,
    _status,
    _text,
)
from polis.ondemand.calendar_missions import (
    CalendarFeed,
    FeedIssue,
    Mission,
    MissionKey,
    MissionStatus,
)
from polis.ondemand.calendar_wall_time import _wall_in, resolve_wall_time

__all__ = ["DEFAULT_MAX_OCCURRENCES", "parse_ics"]

DEFAULT_MAX_OCCURRENCES = 5000
"""Occurrences of one recurring event within the horizon above which the feed is refused."""


def _occurrences(
    event: Any,
    start: _Moment,
    reach: timedelta,
    horizon: Window,
    reader: _Reader,
    default_tz: ZoneInfo,
    max_occurrences: int,
) -> list[tuple[datetime, _Moment]]:
    """``(original start, occurrence)`` of a recurring event that may touch ``horizon``."""
    zone = start.reading_zone(default_tz)
    low = _wall_in(horizon.start - reach, zone) - timedelta(days=2)
    high = _wall_in(horizon.end, zone) + timedelta(days=2)
    walls: set[datetime] = set()
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else [] if rules is None else [rules]:
        recur = vRecur(dict(rule))
        if recur.get("COUNT") and recur.get("UNTIL"):
            reader.issues.append(FeedIssue(reader.uid, "RRULE with COUNT and UNTIL: UNTIL ignored"))
            del recur["UNTIL"]
        if recur.get("UNTIL"):
            until = recur["UNTIL"][0]
            if isinstance(until, datetime) and until.tzinfo is not None:
                until = _wall_in(until, zone)
            elif not isinstance(until, datetime) and isinstance(until, date):
                until = datetime.combine(until, time(23, 59, 59))
            recur["UNTIL"] = [until]
        try:
            text = cast(Any, recur).to_ical().decode("ascii")
            expanded = rrulestr(text, dtstart=start.local())
            walls.update(expanded.between(low, high, inc=True))
        except (ValueError, TypeError) as e:
            raise InvalidInput(f"event {reader.uid!r}: unreadable RRULE ({e})", field="ics") from e
        if len(walls) > max_occurrences:
            raise InvalidInput(
                f"event {reader.uid!r} recurs more than {max_occurrences} times within the horizon",
                field="ics",
            )
    for extra in reader.moments(event, "RDATE"):
        if extra.day is not None and start.day is None:
            assert start.wall is not None
            wall = datetime.combine(extra.day, start.wall.time())
        elif extra.zone is not None and start.day is None:
            wall = _wall_in(extra.instant(default_tz), zone)
        else:
            wall = extra.local()
        if low <= wall <= high:
            walls.add(wall)
    if low <= start.local() <= high:
        walls.add(start.local())  # DTSTART is always the first instance (RFC 5545 §3.8.5.3)
    excluded: set[datetime] = set()
    excluded_days: set[date] = set()
    for exdate in reader.moments(event, "EXDATE"):
        if exdate.day is not None and start.day is None:
            excluded_days.add(exdate.day)
        else:
            excluded.add(exdate.instant(default_tz))
    found: list[tuple[datetime, _Moment]] = []
    for wall in sorted(walls):
        original = resolve_wall_time(wall, zone)
        if original not in excluded and wall.date() not in excluded_days:
            found.append((original, start.at(wall)))
    return found


def _mission(
    event: Any,
    key: MissionKey,
    start: _Moment,
    length: _Length,
    status: MissionStatus,
    default_tz: ZoneInfo,
) -> Mission | None:
    begin = start.instant(default_tz)
    end = length.end(start, default_tz)
    if end <= begin and _wall_in(begin, start.reading_zone(default_tz)) != start.local():
        # the start was in the spring gap and moved forward onto (or past) its end: rather than
        # vanish, the event keeps its length on the clock (02:30-03:30 → 03:30-04:30 CEST)
        end = begin + timedelta(days=length.days) + length.wall + length.exact
    if end <= begin:
        return None
    return Mission(
        key=key,
        window=Window(begin, end),
        status=status,
        summary=_text(event, "SUMMARY"),
        location=_text(event, "LOCATION"),
        sequence=_sequence(event),
        last_modified=_last_modified(event),
        all_day=start.day is not None,
        tzid=start.tzid,
    )


def parse_ics(
    data: str | bytes,
    *,
    horizon: Window,
    default_tz: ZoneInfo = PARIS,
    max_occurrences: int = DEFAULT_MAX_OCCURRENCES,
) -> CalendarFeed:
    """The missions of an ICS document that overlap ``horizon`` (recurrences expanded inside it).

    ``data`` is the document itself, never a path (a ``str`` is encoded first, so icalendar never
    probes it as a file name). Events that cannot be read (no ``UID``, no ``DTSTART``, zero or
    negative length) are skipped and listed in :attr:`CalendarFeed.issues`; a document that is not
    iCalendar, or a recurrence with more than ``max_occurrences`` occurrences within the horizon,
    is refused (``InvalidInput`` on field ``ics``), so a broken feed never cancels anything.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        calendars = icalendar.Calendar.from_ical(raw, multiple=True)
    except ValueError as e:
        raise InvalidInput(f"not an iCalendar document ({e})", field="ics") from e
    if not calendars or any(c.name != "VCALENDAR" for c in calendars):
        raise InvalidInput("not an iCalendar document (no VCALENDAR)", field="ics")
    issues: list[FeedIssue] = []
    missions: list[Mission] = []
    overridden: set[MissionKey] = set()
    series: list[tuple[Any, _Moment, _Length, MissionStatus, _Reader]] = []
    for calendar in calendars:
        cancelled_calendar = _text(calendar, "METHOD").upper() == "CANCEL"
        for event in calendar.walk("VEVENT"):
            uid = _text(event, "UID")
            if not uid:
                issues.append(FeedIssue(None, "event without UID skipped"))
                continue
            reader = _Reader(uid, issues)
            try:
                broken = sorted({name for name, _ in getattr(event, "errors", [])})
                if broken:
                    raise ValueError(f"unreadable {', '.join(broken)}")
                start = reader.prop(event, "DTSTART")
                if start is None:
                    raise ValueError("no DTSTART")
                length = _length(event, start, reader, default_tz)
                if length is None:
                    raise ValueError("no DTEND or DURATION (zero length)")
                recurrence = reader.prop(event, "RECURRENCE-ID")
            except ValueError as e:
                issues.append(FeedIssue(uid, f"event skipped: {e}"))
                continue
            status = _status(event, cancelled_calendar, reader)
            if recurrence is not None:
                original = recurrence.instant(default_tz)
                key = MissionKey(uid, original)
                mission = _mission(event, key, start, length, status, default_tz)
                if mission is None:
                    issues.append(
                        FeedIssue(uid, "occurrence skipped: it does not end after it starts")
                    )
                    continue
                overridden.add(key)
                # an occurrence moved out of the horizon is still news for the cover at its old time
                if mission.window.overlaps(horizon) or horizon.contains(original):
                    missions.append(mission)
            elif event.get("RRULE") is not None or event.get("RDATE") is not None:
                series.append((event, start, length, status, reader))
            else:
                mission = _mission(event, MissionKey(uid), start, length, status, default_tz)
                if mission is None:
                    issues.append(FeedIssue(uid, "event skipped: it does not end after it starts"))
                elif mission.window.overlaps(horizon):
                    missions.append(mission)
    for event, start, length, status, reader in series:
        first = start.instant(default_tz)
        reach = max(length.end(start, default_tz) - first, timedelta(0)) + timedelta(days=1)
        for original, occurrence in _occurrences(
            event, start, reach, horizon, reader, default_tz, max_occurrences
        ):
            key = MissionKey(reader.uid, original)
            if key in overridden:
                continue
            mission = _mission(event, key, occurrence, length, status, default_tz)
            if mission is not None and mission.window.overlaps(horizon):
                missions.append(mission)
    return CalendarFeed.of(missions, horizon=horizon, issues=issues)
