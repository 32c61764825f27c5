"""Calendar trigger: missions from an ICS feed or an API list, and the pure sync plan of their covers.

Pure domain code: the ICS *content* is passed in (fetching a URL is the service layer's job); the
result is data (missions, then a :class:`SyncPlan` of operations) that the service applies. See
``docs/triggers.md``.

This module is the trigger's public face; each concept lives in its own module, whose docstring
states its rules:

- :mod:`~polis.ondemand.calendar_missions` — :class:`Mission`, its :class:`MissionKey` (``UID``
  plus, for one occurrence, its ``RECURRENCE-ID``) and status, and the deduplicated
  :class:`CalendarFeed` (highest ``SEQUENCE``, then latest ``LAST-MODIFIED`` wins);
- :mod:`~polis.ondemand.calendar_wall_time` — :func:`resolve_wall_time`, wall-clock times in a
  zone as RFC 5545 §3.3.5 reads them (spring gap, autumn fold);
- :mod:`~polis.ondemand.calendar_ics` — :func:`parse_ics`: events, zones, ``RRULE``/``RDATE``/
  ``EXDATE`` expanded within a horizon, overridden occurrences (property values read by
  :mod:`~polis.ondemand.calendar_ics_values`);
- :mod:`~polis.ondemand.calendar_api` — :func:`missions_from_api`: the API's JSON list;
- :mod:`~polis.ondemand.calendar_sync` — :class:`CalendarRule`, :class:`MissionCover` and
  :func:`plan_calendar_sync`: cover is never opened in the past, a cover not yet started follows
  its mission, a started one keeps its start, an ended one is history; :func:`apply_sync_plan`
  is the reference for what a plan leaves persisted (syncing again then plans nothing).
"""

from __future__ import annotations

from polis.ondemand.calendar_api import missions_from_api
from polis.ondemand.calendar_ics import DEFAULT_MAX_OCCURRENCES, parse_ics
from polis.ondemand.calendar_missions import (
    CalendarFeed,
    FeedIssue,
    Mission,
    MissionAcceptance,
    MissionKey,
    MissionStatus,
)
from polis.ondemand.calendar_sync import (
    CalendarRule,
    MissionCover,
    MissionCoverStatus,
    SyncAction,
    SyncOperation,
    SyncPlan,
    apply_sync_plan,
    plan_calendar_sync,
)
from polis.ondemand.calendar_wall_time import resolve_wall_time

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
