"""Calendar trigger: wall-clock times read in a zone, as RFC 5545 says (spring gap, autumn fold)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["resolve_wall_time"]


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
