"""Triggers that open and close cover on their own — calendars, geofences, partner events — and
the reminders for missions still uncovered (``docs/triggers.md``).

The decisions are the pure domain's (``polis.ondemand.triggers_*``, ``reminders``); these modules
persist their state and apply them through the window steps of
:mod:`polis.services.ondemand_windows` — each call one transaction (or, for reminders, one per
reminder: claim, then send).

| module | what |
|---|---|
| :mod:`.calendar` | ICS documents (uploaded or fetched) and API lists of missions → windows |
| :mod:`.calendar_apply` | the store side of a sync: mission rows, covers, moving a mission's windows |
| :mod:`.calendar_fetch` | fetching an ICS URL (http(s), timeout, size, no private addresses) |
| :mod:`.geofence` | a subscription's polygons and hysteresis rules |
| :mod:`.pings` | location pings and ticks of a device → windows opened and closed |
| :mod:`.partner` | a partner's start/stop calls; orphan stops flagged |
| :mod:`.reminders` | reminders by e-mail and webhook, at most once each |
| :mod:`.common` | shared: strict models, the clock, the backdating limit, closing a window |

Trigger instants may lie in the recent past (the window is dated by the ping or by the partner's
time): at most ``max_backdate`` (24 hours by default) before now, else ``trigger.too_late``.
"""

from polis.services.triggers.calendar import (
    CalendarIn,
    CalendarUrlIn,
    MissionsIn,
    SyncView,
    import_ics,
    sync_calendar_url,
    sync_missions,
)
from polis.services.triggers.calendar_fetch import FetchLimits, fetch_ics
from polis.services.triggers.common import DEFAULT_MAX_BACKDATE, MailSender
from polis.services.triggers.geofence import GeofenceIn, GeofenceView, set_geofence
from polis.services.triggers.partner import (
    PartnerEventIn,
    PartnerEventView,
    flag_orphan_stop,
    handle_partner_event,
)
from polis.services.triggers.pings import (
    PingIn,
    PingsIn,
    PingsView,
    receive_device_pings,
    tick_device,
)
from polis.services.triggers.reminders import ReminderReport, run_reminders

__all__ = [
    "DEFAULT_MAX_BACKDATE",
    "CalendarIn",
    "CalendarUrlIn",
    "FetchLimits",
    "GeofenceIn",
    "GeofenceView",
    "MailSender",
    "MissionsIn",
    "PartnerEventIn",
    "PartnerEventView",
    "PingIn",
    "PingsIn",
    "PingsView",
    "ReminderReport",
    "SyncView",
    "fetch_ics",
    "flag_orphan_stop",
    "handle_partner_event",
    "import_ics",
    "receive_device_pings",
    "run_reminders",
    "set_geofence",
    "sync_calendar_url",
    "sync_missions",
    "tick_device",
]
