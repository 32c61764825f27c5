"""Calendar trigger: missions from an ICS feed or an API list, and the pure sync plan of their covers.

Pure domain code: the ICS *content* is passed in (fetching a URL is the service layer's job); the
result is data (missions, then a :class:`SyncPlan` of operations) that the service applies.

Reading a feed (:func:`parse_ics`, :func:`missions_from_api`) — see ``docs/triggers.md``:

- a mission's stable key is ``UID`` plus, for one occurrence of a recurring event, its
  ``RECURRENCE-ID`` (the occurrence's *original* start, as a UTC instant);
- ``DTSTART``/``DTEND`` with a ``TZID`` (IANA names, or a ``VTIMEZONE`` shipped in the feed), in UTC,
  or *floating* (no zone: read in ``default_tz``, Europe/Paris by default); all-day events run from
  local midnight to local midnight in ``default_tz`` (23 h / 25 h on the days of the DST changes);
- a wall-clock time that does not exist (the spring gap) is read with the offset in force *before*
  the gap, as RFC 5545 §3.3.5 says: 02:30 on the last Sunday of March is 03:30 CEST; a wall-clock
  time that happens twice (autumn) is its first occurrence (CEST). An event whose start moves
  forward onto its end that way keeps its length on the clock instead of vanishing;
- ``DURATION``: whole days are nominal (same wall-clock time N days later), the rest is exact
  elapsed time; without ``DTEND`` or ``DURATION`` an all-day event lasts one day and a timed event is
  skipped (zero length, reported as an issue);
- ``STATUS`` ``CONFIRMED`` (also when absent), ``TENTATIVE`` or ``CANCELLED``; ``METHOD:CANCEL``
  cancels every event of the calendar;
- ``RRULE``/``RDATE`` expanded within the horizon, minus ``EXDATE``; an overriding ``VEVENT`` (same
  ``UID`` with a ``RECURRENCE-ID``) replaces its occurrence. Each occurrence lasts the master's
  wall-clock length when ``DTSTART`` and ``DTEND`` share one zone (what calendar applications show),
  its exact length otherwise;
- the same key twice in a feed: the highest ``SEQUENCE``, then the latest ``LAST-MODIFIED``, wins
  (then, deterministically, a cancellation; then the content), so order and duplicates do not matter.

Syncing (:func:`plan_calendar_sync`), with ``now`` the instant of the sync, ``D`` the mission's time
plus the policy's margins and ``C`` the latest cover of that mission:

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

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from icalendar.prop import vRecur

from polis.kernel.errors import InvalidInput
from polis.kernel.time import PARIS, Window, ensure_utc, parse_instant

__all__ = [
    "DEFAULT_MAX_OCCURRENCES",
    "CalendarFeed",
    "CalendarRule",
    "FeedIssue",
    "Mission",
    "MissionAcceptance",
    "MissionCover",
    "MissionCoverStatus",
    "MissionKey",
    "MissionStatus",
    "SyncAction",
    "SyncOperation",
    "SyncPlan",
    "apply_sync_plan",
    "missions_from_api",
    "parse_ics",
    "plan_calendar_sync",
    "resolve_wall_time",
]

DEFAULT_MAX_OCCURRENCES = 5000
"""Occurrences of one recurring event within the horizon above which the feed is refused."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RECURRENCE_SUFFIX = re.compile(r"^(?P<uid>.+)/(?P<rid>\d{8}T\d{6}Z)$", re.DOTALL)


class MissionStatus(StrEnum):
    """``STATUS`` of a mission. Values are stored: never rename one."""

    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"


class MissionAcceptance(StrEnum):
    """Which missions open cover, per policy."""

    CONFIRMED_ONLY = "confirmed_only"
    CONFIRMED_AND_TENTATIVE = "confirmed_and_tentative"

    def accepts(self, status: MissionStatus) -> bool:
        if status is MissionStatus.CONFIRMED:
            return True
        return (
            status is MissionStatus.TENTATIVE and self is MissionAcceptance.CONFIRMED_AND_TENTATIVE
        )


@dataclass(frozen=True, slots=True)
class MissionKey:
    """The stable identity of a mission: ``UID``, plus the original start of one occurrence."""

    uid: str
    recurrence_id: datetime | None = None

    def __post_init__(self) -> None:
        if not self.uid:
            raise InvalidInput("a mission needs a non-empty uid", field="uid")
        if self.recurrence_id is not None:
            rid = ensure_utc(self.recurrence_id, field="recurrence_id").replace(microsecond=0)
            object.__setattr__(self, "recurrence_id", rid)

    @property
    def text(self) -> str:
        """``uid`` or ``uid/YYYYMMDDTHHMMSSZ`` (one occurrence): the form to persist."""
        if self.recurrence_id is None:
            return self.uid
        return f"{self.uid}/{self.recurrence_id:%Y%m%dT%H%M%SZ}"

    @classmethod
    def from_text(cls, text: str) -> MissionKey:
        """The inverse of :attr:`text`."""
        match = _RECURRENCE_SUFFIX.match(text)
        if match is None:
            return cls(text)
        rid = datetime.strptime(match["rid"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return cls(match["uid"], rid)

    def __str__(self) -> str:
        return self.text

    def __lt__(self, other: MissionKey) -> bool:
        return self._order() < other._order()

    def _order(self) -> tuple[str, bool, datetime]:
        return (self.uid, self.recurrence_id is not None, self.recurrence_id or _EPOCH)


@dataclass(frozen=True, slots=True)
class Mission:
    """One expected mission (an event, or one occurrence of a recurring event)."""

    key: MissionKey
    window: Window
    status: MissionStatus = MissionStatus.CONFIRMED
    summary: str = ""
    location: str = ""
    sequence: int = 0
    last_modified: datetime | None = None
    all_day: bool = False
    tzid: str | None = None
    """The zone the mission was written in (for display); ``None`` for UTC and floating times."""

    def revision(self) -> tuple[Any, ...]:
        """The order in which duplicates of one key are resolved (the greatest wins)."""
        return (
            self.sequence,
            self.last_modified or _EPOCH,
            self.status is MissionStatus.CANCELLED,
            self.window.start,
            self.window.end,
            self.status.value,
            self.summary,
            self.location,
            self.all_day,
            self.tzid or "",
        )


@dataclass(frozen=True, slots=True)
class FeedIssue:
    """Something in the feed that was skipped or read with a fallback (shown to the insured)."""

    uid: str | None
    message: str


@dataclass(frozen=True, slots=True)
class CalendarFeed:
    """Missions read from one source, deduplicated, in a deterministic order.

    ``horizon`` is the span the feed is complete for (recurring events are expanded inside it);
    ``None`` means the feed lists every mission (an API list).
    """

    missions: tuple[Mission, ...]
    horizon: Window | None = None
    issues: tuple[FeedIssue, ...] = ()

    @classmethod
    def of(
        cls,
        missions: Iterable[Mission],
        *,
        horizon: Window | None = None,
        issues: Iterable[FeedIssue] = (),
    ) -> CalendarFeed:
        """A feed from missions in any order, duplicates resolved by :meth:`Mission.revision`."""
        best: dict[MissionKey, Mission] = {}
        for mission in missions:
            known = best.get(mission.key)
            if known is None or mission.revision() > known.revision():
                best[mission.key] = mission
        ordered = sorted(best.values(), key=lambda m: (m.window.start, m.key.text))
        return cls(tuple(ordered), horizon, tuple(dict.fromkeys(issues)))


# --------------------------------------------------------------------------------------------
# Wall-clock times
# --------------------------------------------------------------------------------------------


def resolve_wall_time(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a naive wall-clock time in ``zone`` (RFC 5545 §3.3.5).

    A time in the spring gap is read with the offset in force before the gap (so it lands as many
    minutes after the gap as it was inside it: 02:30 → 03:30 CEST); an ambiguous autumn time is
    its first occurrence. Works for ``zoneinfo`` zones and for ``VTIMEZONE``-built ones alike
    (the latter do not all follow PEP 495 in the gap, hence the explicit check).
    """
    naive = wall.replace(tzinfo=None, fold=0)
    instant = naive.replace(tzinfo=zone).astimezone(UTC)
    if _wall_in(instant, zone) == naive:
        return instant
    before = (naive - timedelta(days=1)).replace(tzinfo=zone).utcoffset()
    assert before is not None  # an aware zone always has an offset
    return (naive - before).replace(tzinfo=UTC)


def _wall_in(instant: datetime, zone: tzinfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


# --------------------------------------------------------------------------------------------
# ICS
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Moment:
    """A DTSTART-like value: a date (all day), or a wall-clock time in a zone (``None``: floating)."""

    day: date | None = None
    wall: datetime | None = None
    zone: tzinfo | None = None
    tzid: str | None = None

    def reading_zone(self, default_tz: ZoneInfo) -> tzinfo:
        return default_tz if self.day is not None or self.zone is None else self.zone

    def local(self) -> datetime:
        if self.day is not None:
            return datetime.combine(self.day, time(0))
        assert self.wall is not None
        return self.wall

    def instant(self, default_tz: ZoneInfo) -> datetime:
        return resolve_wall_time(self.local(), self.reading_zone(default_tz))

    def at(self, wall: datetime) -> _Moment:
        """The same kind of moment at another wall-clock time (an occurrence)."""
        if self.day is not None:
            return _Moment(day=wall.date())
        return _Moment(wall=wall, zone=self.zone, tzid=self.tzid)


class _Reader:
    """Reads the properties of one event, collecting issues."""

    def __init__(self, uid: str, issues: list[FeedIssue]) -> None:
        self.uid = uid
        self.issues = issues

    def moment(self, raw: object, params: Mapping[str, Any], name: str) -> _Moment:
        if isinstance(raw, tuple) and raw:  # an RDATE period (start, end | duration): its start
            raw = raw[0]
        if isinstance(raw, datetime):
            tzid = params.get("TZID")
            zone = raw.tzinfo
            if zone is None and tzid:
                self.issues.append(
                    FeedIssue(
                        self.uid,
                        f"unknown time zone {tzid!s} in {name}: read as floating local time",
                    )
                )
            if zone is not None and not tzid:
                zone = UTC
            named = str(tzid) if tzid and zone is not None else None
            return _Moment(wall=raw.replace(tzinfo=None, fold=0), zone=zone, tzid=named)
        if isinstance(raw, date):
            return _Moment(day=raw)
        raise ValueError(f"{name} is not a date or a date-time")

    def prop(self, component: Any, name: str) -> _Moment | None:
        value = component.get(name)
        if value is None:
            return None
        return self.moment(getattr(value, "dt", None), getattr(value, "params", {}), name)

    def moments(self, component: Any, name: str) -> list[_Moment]:
        values = component.get(name)
        groups = values if isinstance(values, list) else [] if values is None else [values]
        return [
            self.moment(getattr(item, "dt", None), getattr(item, "params", {}), name)
            for group in groups
            for item in getattr(group, "dts", [])
        ]


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    return "" if value is None else str(value).strip()


def _status(component: Any, cancelled_calendar: bool, reader: _Reader) -> MissionStatus:
    if cancelled_calendar:
        return MissionStatus.CANCELLED
    raw = _text(component, "STATUS").upper()
    if raw in ("", "CONFIRMED"):
        return MissionStatus.CONFIRMED
    if raw == "CANCELLED":
        return MissionStatus.CANCELLED
    if raw != "TENTATIVE":
        reader.issues.append(FeedIssue(reader.uid, f"unknown STATUS {raw!r}: read as TENTATIVE"))
    return MissionStatus.TENTATIVE


def _last_modified(component: Any) -> datetime | None:
    raw = getattr(component.get("LAST-MODIFIED"), "dt", None)
    if isinstance(raw, datetime):
        return resolve_wall_time(raw, raw.tzinfo or UTC)
    return None


def _sequence(component: Any) -> int:
    try:
        return max(int(component.get("SEQUENCE", 0)), 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True, slots=True)
class _Length:
    """How the end follows from the start: ``resolve(local start + days + wall) + exact``."""

    days: int = 0
    wall: timedelta = timedelta(0)
    exact: timedelta = timedelta(0)

    def end(self, start: _Moment, default_tz: ZoneInfo) -> datetime:
        local_end = start.local() + timedelta(days=self.days) + self.wall
        return resolve_wall_time(local_end, start.reading_zone(default_tz)) + self.exact


def _length(event: Any, start: _Moment, reader: _Reader, default_tz: ZoneInfo) -> _Length | None:
    end = reader.prop(event, "DTEND")
    if end is not None:
        if start.day is not None:
            if end.day is None:
                raise ValueError("DTEND is a date-time but DTSTART is a date")
            return _Length(days=(end.day - start.day).days)
        if end.day is not None:
            raise ValueError("DTEND is a date but DTSTART is a date-time")
        if end.tzid == start.tzid and (end.zone is None) == (start.zone is None):
            return _Length(wall=end.local() - start.local())  # same zone: wall-clock length
        return _Length(exact=end.instant(default_tz) - start.instant(default_tz))
    duration = event.get("DURATION")
    if duration is not None:
        value = getattr(duration, "dt", None)
        if not isinstance(value, timedelta):
            raise ValueError("DURATION is not a duration")
        # whole days are nominal (same wall-clock time), the rest exact (RFC 5545 §3.3.6)
        return _Length(days=value.days, exact=timedelta(seconds=value.seconds))
    if start.day is not None:
        return _Length(days=1)
    return None


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


# --------------------------------------------------------------------------------------------
# API list
# --------------------------------------------------------------------------------------------


def _api_bound(value: object, field: str, default_tz: ZoneInfo) -> tuple[datetime, bool]:
    if not isinstance(value, str):
        raise InvalidInput("expected an ISO 8601 date-time with an offset, or a date", field=field)
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError as e:
            raise InvalidInput(f"not an ISO 8601 date: {value!r}", field=field) from e
        return resolve_wall_time(datetime.combine(day, time(0)), default_tz), True
    return parse_instant(value, field=field), False


def missions_from_api(
    items: Sequence[Mapping[str, object]], *, default_tz: ZoneInfo = PARIS
) -> CalendarFeed:
    """Missions from the API's JSON list (the whole list: every absent mission is removed).

    Each item: ``uid`` (required), ``start`` and ``end`` (ISO 8601 with an offset; or both dates
    ``YYYY-MM-DD`` for an all-day mission, ``end`` exclusive, local midnights in ``default_tz``),
    optional ``recurrence_id`` (ISO 8601 instant), ``status`` (``confirmed``/``tentative``/
    ``cancelled``, default ``confirmed``), ``summary``, ``location``, ``sequence`` (integer ≥ 0),
    ``last_modified`` (ISO 8601 instant). Errors name the field: ``missions[3].end``.
    """
    missions: list[Mission] = []
    for index, item in enumerate(items):
        path = f"missions[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidInput("expected an object", field=path)
        uid = item.get("uid")
        if not isinstance(uid, str) or not uid.strip():
            raise InvalidInput("a non-empty uid is required", field=f"{path}.uid")
        begin, start_is_day = _api_bound(item.get("start"), f"{path}.start", default_tz)
        end, end_is_day = _api_bound(item.get("end"), f"{path}.end", default_tz)
        if start_is_day != end_is_day:
            raise InvalidInput(
                "start and end must both be dates or both date-times", field=f"{path}.end"
            )
        if end <= begin:
            raise InvalidInput("end must be after start", field=f"{path}.end")
        rid_text = item.get("recurrence_id")
        recurrence_id = None
        if rid_text is not None:
            if not isinstance(rid_text, str):
                raise InvalidInput("expected an ISO 8601 instant", field=f"{path}.recurrence_id")
            recurrence_id = parse_instant(rid_text, field=f"{path}.recurrence_id")
        status_text = item.get("status", "confirmed")
        try:
            status = MissionStatus(str(status_text).lower())
        except ValueError as e:
            raise InvalidInput(
                "status must be confirmed, tentative or cancelled", field=f"{path}.status"
            ) from e
        sequence = item.get("sequence", 0)
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
            raise InvalidInput("sequence must be an integer ≥ 0", field=f"{path}.sequence")
        modified_text = item.get("last_modified")
        modified = None
        if modified_text is not None:
            if not isinstance(modified_text, str):
                raise InvalidInput("expected an ISO 8601 instant", field=f"{path}.last_modified")
            modified = parse_instant(modified_text, field=f"{path}.last_modified")
        summary, location = item.get("summary", ""), item.get("location", "")
        if not isinstance(summary, str) or not isinstance(location, str):
            raise InvalidInput("summary and location must be text", field=f"{path}.summary")
        missions.append(
            Mission(
                key=MissionKey(uid.strip(), recurrence_id),
                window=Window(begin, end),
                status=status,
                summary=summary,
                location=location,
                sequence=sequence,
                last_modified=modified,
                all_day=start_is_day,
                tzid=default_tz.key if start_is_day else None,
            )
        )
    return CalendarFeed.of(missions)


# --------------------------------------------------------------------------------------------
# Sync
# --------------------------------------------------------------------------------------------


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
