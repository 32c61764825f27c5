"""Time: UTC instants, Europe/Paris wall-clock conversion, half-open windows, day counts, prorata.

Rules:
- an *instant* is a timezone-aware ``datetime`` in UTC; naive datetimes are refused;
- local time (Europe/Paris by default) is for display and for rules stated in local time only;
- a window is half-open ``[start, end)``: an instant equal to ``end`` is outside;
- durations are real elapsed time (UTC arithmetic), so a night across the March change lasts one hour
  less on the wall clock and is priced as such;
- day counts and prorata use calendar days (``Actual/365`` by default).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from polis.kernel.errors import InvalidInput

__all__ = [
    "PARIS",
    "UTC",
    "Window",
    "add_months",
    "day_count",
    "ensure_utc",
    "local_midnight",
    "parse_instant",
    "prorata",
    "to_local",
    "utc_now",
]

PARIS = ZoneInfo("Europe/Paris")


def utc_now() -> datetime:
    """The current instant, UTC."""
    return datetime.now(UTC)


def ensure_utc(instant: datetime, *, field: str = "instant") -> datetime:
    """Return ``instant`` in UTC; refuse naive datetimes (their meaning is ambiguous)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInput("a time zone is required (e.g. 2025-03-30T01:30:00+01:00)", field=field)
    return instant.astimezone(UTC)


def parse_instant(text: str, *, field: str = "instant") -> datetime:
    """Parse an ISO 8601 instant with an offset (``Z`` accepted) into UTC."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise InvalidInput(f"not an ISO 8601 instant: {text!r}", field=field) from e
    return ensure_utc(parsed, field=field)


def to_local(instant: datetime, tz: ZoneInfo = PARIS) -> datetime:
    """The wall-clock time of a UTC instant in ``tz`` (Europe/Paris by default)."""
    return ensure_utc(instant).astimezone(tz)


def local_midnight(day: date, tz: ZoneInfo = PARIS) -> datetime:
    """The UTC instant at which ``day`` starts in ``tz``."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clipped to the month's last day (31 Mar − 1 → 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def day_count(start: date, end: date) -> int:
    """Calendar days in ``[start, end)``."""
    if end < start:
        raise InvalidInput(f"end {end} is before start {start}", field="end")
    return (end - start).days


def prorata(start: date, end: date, basis: int = 365) -> Decimal:
    """``days / basis`` for the period ``[start, end)`` (Actual/365 by default), exact ``Decimal``."""
    if basis <= 0:
        raise InvalidInput("the day-count basis must be positive", field="basis")
    return Decimal(day_count(start, end)) / Decimal(basis)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open window of time ``[start, end)`` between two UTC instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", ensure_utc(self.start, field="start"))
        object.__setattr__(self, "end", ensure_utc(self.end, field="end"))
        if self.end <= self.start:
            raise InvalidInput(
                f"end {self.end.isoformat()} must be after start {self.start.isoformat()}",
                field="end",
            )

    @classmethod
    def local(cls, start: datetime, end: datetime, tz: ZoneInfo = PARIS) -> Window:
        """A window from naive wall-clock times in ``tz``.

        Non-existent times (in the spring gap) are refused; ambiguous ones (the autumn hour that
        happens twice) take their first occurrence (``fold=0``).
        """
        return cls(_localize(start, tz, "start"), _localize(end, tz, "end"))

    @property
    def duration(self) -> timedelta:
        """Real elapsed time (DST changes included)."""
        return self.end - self.start

    def hours(self) -> Decimal:
        """Elapsed hours as an exact ``Decimal``."""
        return Decimal(int(self.duration.total_seconds())) / Decimal(3600)

    def contains(self, instant: datetime) -> bool:
        """``start <= instant < end``."""
        moment = ensure_utc(instant)
        return self.start <= moment < self.end

    def overlaps(self, other: Window) -> bool:
        return self.start < other.end and other.start < self.end

    def intersection(self, other: Window) -> Window | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Window(start, end) if start < end else None


def _localize(wall: datetime, tz: ZoneInfo, field: str) -> datetime:
    if wall.tzinfo is not None:
        return wall
    aware = wall.replace(tzinfo=tz, fold=0)
    # a wall time that does not exist maps to a different wall time after a round trip through UTC
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise InvalidInput(f"{wall.isoformat()} does not exist in {tz.key} (DST gap)", field=field)
    return aware
