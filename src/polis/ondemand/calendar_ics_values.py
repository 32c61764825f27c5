"""Calendar trigger: reading the property values of one ICS event (instants, lengths, texts).

- ``DTSTART``/``DTEND`` with a ``TZID`` (IANA names, or a ``VTIMEZONE`` shipped in the feed), in UTC,
  or *floating* (no zone: read in ``default_tz``, Europe/Paris by default); all-day events run
  from local midnight to local midnight in ``default_tz`` (23 h / 25 h on the days of the DST
  changes);
- ``DURATION``: whole days are nominal (same wall-clock time N days later), the rest is exact
  elapsed time; without ``DTEND`` or ``DURATION`` an all-day event lasts one day and a timed event
  has no length (:func:`_length` gives ``None``);
- ``STATUS`` ``CONFIRMED`` (also when absent), ``TENTATIVE`` or ``CANCELLED``; ``METHOD:CANCEL``
  cancels every event of the calendar.

Private to :mod:`polis.ondemand.calendar_ics`, which turns these values into missions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from polis.ondemand.calendar_missions import FeedIssue, MissionStatus
from polis.ondemand.calendar_wall_time import resolve_wall_time

__all__: list[str] = []


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
