"""Calendar trigger, the data it reads: missions, their keys and statuses, and a deduplicated feed.

A mission's stable key (:class:`MissionKey`) is ``UID`` plus, for one occurrence of a recurring
event, its ``RECURRENCE-ID`` (the occurrence's *original* start, as a UTC instant). The same key
twice in a feed: the highest ``SEQUENCE``, then the latest ``LAST-MODIFIED``, wins (then,
deterministically, a cancellation; then the content), so order and duplicates do not matter
(:meth:`CalendarFeed.of`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from polis.kernel.errors import InvalidInput
from polis.kernel.time import Window, ensure_utc

__all__ = [
    "CalendarFeed",
    "FeedIssue",
    "Mission",
    "MissionAcceptance",
    "MissionKey",
    "MissionStatus",
]

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
