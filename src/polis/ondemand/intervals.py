"""Sets of half-open UTC windows: union, difference, length, and cuts at Europe/Paris boundaries.

A *set* is a tuple of kernel :class:`~polis.kernel.time.Window` sorted by start, pairwise disjoint
and not touching (``[8, 10) ∪ [10, 12)`` is kept as ``[8, 12)``). Lengths are real elapsed time.
Cutting at local midnights gives the Europe/Paris calendar days a window touches: 24 hours
normally, 23 on the last Sunday of March, 25 on the last Sunday of October.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from polis.kernel.time import Window, local_midnight, to_local

__all__ = [
    "WindowSet",
    "by_local_day",
    "by_local_month",
    "difference",
    "hours_of",
    "intersect",
    "length",
    "local_day_window",
    "local_days",
    "month_window",
    "union",
]

WindowSet = tuple[Window, ...]


def union(windows: Iterable[Window]) -> WindowSet:
    """The union, merged (touching windows join)."""
    ordered = sorted(windows, key=lambda w: (w.start, w.end))
    merged: list[Window] = []
    for window in ordered:
        if merged and window.start <= merged[-1].end:
            if window.end > merged[-1].end:
                merged[-1] = Window(merged[-1].start, window.end)
        else:
            merged.append(window)
    return tuple(merged)


def difference(windows: Iterable[Window], remove: Iterable[Window]) -> WindowSet:
    """``windows \\ remove``: the parts of ``windows`` outside every window of ``remove``."""
    holes = union(remove)
    result: list[Window] = []
    for piece in union(windows):
        start = piece.start
        for hole in holes:
            if hole.end <= start or hole.start >= piece.end:
                continue
            if hole.start > start:
                result.append(Window(start, hole.start))
            start = max(start, hole.end)
            if start >= piece.end:
                break
        if start < piece.end:
            result.append(Window(start, piece.end))
    return tuple(result)


def intersect(windows: Iterable[Window], keep: Iterable[Window]) -> WindowSet:
    """``windows ∩ keep``."""
    kept = union(keep)
    return union(
        part for piece in union(windows) for other in kept if (part := piece.intersection(other))
    )


def length(windows: Iterable[Window]) -> timedelta:
    """Total real elapsed time of the union."""
    return sum((w.duration for w in union(windows)), timedelta(0))


def hours_of(duration: timedelta) -> Decimal:
    """Exact hours of a duration (microseconds kept)."""
    micros = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
    return Decimal(micros) / Decimal(3_600_000_000)


def local_day_window(day: date) -> Window:
    """``[local midnight of day, local midnight of the next day)`` in Europe/Paris (23, 24 or 25 h)."""
    return Window(local_midnight(day), local_midnight(day + timedelta(days=1)))


def local_days(window: Window) -> tuple[date, ...]:
    """The Europe/Paris calendar days ``window`` touches (its end instant excluded)."""
    first = to_local(window.start).date()
    last = to_local(window.end - timedelta(microseconds=1)).date()
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


def by_local_day(windows: Iterable[Window]) -> tuple[tuple[date, WindowSet], ...]:
    """The set cut at Europe/Paris midnights: ``(day, the parts inside that day)``, by day."""
    days: dict[date, list[Window]] = {}
    for piece in union(windows):
        for day in local_days(piece):
            part = piece.intersection(local_day_window(day))
            if part is not None:
                days.setdefault(day, []).append(part)
    return tuple((day, union(parts)) for day, parts in sorted(days.items()))


def month_window(year: int, month: int) -> Window:
    """``[local midnight of the 1st, local midnight of the 1st of the next month)``, Europe/Paris."""
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Window(local_midnight(date(year, month, 1)), local_midnight(following))


def by_local_month(windows: Iterable[Window]) -> tuple[tuple[tuple[int, int], WindowSet], ...]:
    """The set cut at local midnight of each 1st: ``((year, month), parts)``, by month."""
    months: dict[tuple[int, int], list[Window]] = {}
    for day, parts in by_local_day(windows):
        months.setdefault((day.year, day.month), []).extend(parts)
    return tuple((key, union(parts)) for key, parts in sorted(months.items()))
