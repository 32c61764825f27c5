"""Reminders: an expected mission starting soon without cover → a notification to send.

Pure domain code: given the missions (from the calendar trigger), the windows in force or
scheduled, the recipients and the reminders already sent, :func:`plan_reminders` says which
reminders are due *now* and when to look again. Sending (e-mail backend, signed webhook) is the
service's job. See ``docs/triggers.md``.

- A mission needs a reminder when it is not cancelled (tentative ones count, unless the rule says
  otherwise: they are exactly those the calendar does not cover by itself), it has not started, and
  some of its time is outside every cover window.
- Lead times (24 h and 1 h by default) are real elapsed time: 24 h before a mission at 10:00 on
  the Sunday of the March change is 09:00 on the Saturday (wall clock), 24 real hours earlier.
- A reminder is sent once per (mission, mission start, lead time, recipient): a mission that moves
  gets fresh reminders for its new time; a reminder that could not be sent on time (the service was
  down) is sent late only if it is the most urgent one due: when the 24 h and 1 h reminders are both
  due, only the 1 h one goes out, and the 24 h one is returned as *superseded* (to be recorded as
  done, so it is never sent afterwards).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from polis.kernel.errors import InvalidInput
from polis.kernel.time import PARIS, Window, ensure_utc, parse_instant
from polis.ondemand.intervals import difference
from polis.ondemand.triggers_calendar import Mission, MissionKey, MissionStatus

__all__ = [
    "DEFAULT_LEADS",
    "MESSAGE_PARTLY_UNCOVERED",
    "MESSAGE_UNCOVERED",
    "Channel",
    "Recipient",
    "Reminder",
    "ReminderKey",
    "ReminderPlan",
    "ReminderRule",
    "plan_reminders",
]

DEFAULT_LEADS = (timedelta(hours=24), timedelta(hours=1))
MESSAGE_UNCOVERED = "ondemand.reminder.mission_without_cover"
MESSAGE_PARTLY_UNCOVERED = "ondemand.reminder.mission_partly_covered"


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True, order=True)
class Recipient:
    """Where a reminder goes: an e-mail address or a webhook endpoint."""

    channel: Channel
    address: str

    def __post_init__(self) -> None:
        if not self.address.strip():
            raise InvalidInput("a recipient needs an address", field="address")


@dataclass(frozen=True, slots=True)
class ReminderKey:
    """What makes a reminder unique (the caller stores the ones sent, e.g. with :meth:`to_json`)."""

    mission: MissionKey
    mission_start: datetime
    lead: timedelta
    recipient: Recipient

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "mission_start", ensure_utc(self.mission_start, field="mission_start")
        )

    @property
    def text(self) -> str:
        """A readable unique text (for a unique index, logs)."""
        seconds = int(self.lead.total_seconds())
        return (
            f"{self.mission.text}|{self.mission_start:%Y%m%dT%H%M%SZ}|{seconds}s|"
            f"{self.recipient.channel.value}:{self.recipient.address}"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "mission": self.mission.text,
            "mission_start": self.mission_start.isoformat(),
            "lead_seconds": int(self.lead.total_seconds()),
            "channel": self.recipient.channel.value,
            "address": self.recipient.address,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ReminderKey:
        mission, start, lead = (
            data.get("mission"),
            data.get("mission_start"),
            data.get("lead_seconds"),
        )
        channel, address = data.get("channel"), data.get("address")
        if not isinstance(mission, str) or not isinstance(start, str) or not isinstance(lead, int):
            raise InvalidInput(
                "mission, mission_start and lead_seconds are required", field="mission"
            )
        if not isinstance(address, str):
            raise InvalidInput("an address is required", field="address")
        try:
            medium = Channel(str(channel))
        except ValueError as e:
            raise InvalidInput("channel must be email or webhook", field="channel") from e
        return cls(
            MissionKey.from_text(mission),
            parse_instant(start, field="mission_start"),
            timedelta(seconds=lead),
            Recipient(medium, address),
        )


@dataclass(frozen=True, slots=True)
class ReminderRule:
    """Lead times, and whether tentative missions are reminded too."""

    leads: tuple[timedelta, ...] = DEFAULT_LEADS
    include_tentative: bool = True

    def __post_init__(self) -> None:
        if not self.leads:
            raise InvalidInput("at least one lead time is needed", field="leads")
        if any(lead <= timedelta(0) for lead in self.leads):
            raise InvalidInput("lead times are positive", field="leads")
        if len(set(self.leads)) != len(self.leads):
            raise InvalidInput("lead times are distinct", field="leads")


@dataclass(frozen=True, slots=True)
class Reminder:
    """One notification to send now."""

    key: ReminderKey
    message_key: str
    mission: Mission
    send_at: datetime
    uncovered: tuple[Window, ...]

    @property
    def recipient(self) -> Recipient:
        return self.key.recipient

    def params(self, tz: ZoneInfo = PARIS) -> dict[str, str]:
        """Values for the message template (times in the insured's zone, with the offset)."""
        start = self.mission.window.start.astimezone(tz)
        return {
            "mission": self.mission.summary or self.mission.key.uid,
            "location": self.mission.location,
            "starts_at": start.isoformat(),
            "time_zone": tz.key,
            "lead_hours": f"{self.key.lead.total_seconds() / 3600:g}",
            "uncovered_from": self.uncovered[0].start.astimezone(tz).isoformat(),
        }


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    """Reminders due now; superseded ones (record them as done); when to look again."""

    due: tuple[Reminder, ...]
    superseded: tuple[ReminderKey, ...] = ()
    next_check_at: datetime | None = None


def plan_reminders(
    missions: Iterable[Mission],
    covers: Iterable[Window],
    *,
    recipients: Sequence[Recipient],
    now: datetime,
    already_sent: Collection[ReminderKey] = (),
    rule: ReminderRule = ReminderRule(),
) -> ReminderPlan:
    """The reminders to send at ``now`` (see the module docstring); deterministic order.

    ``covers`` are the windows in force or scheduled for the insured object (cancelled ones left
    out), whatever created them; a mission counts as covered when they cover all of its time.
    """
    moment = ensure_utc(now, field="now")
    cover_windows = tuple(covers)
    sent = set(already_sent)
    leads = sorted(rule.leads)
    due: list[Reminder] = []
    superseded: list[ReminderKey] = []
    upcoming: list[datetime] = []
    seen: set[MissionKey] = set()
    for mission in sorted(missions, key=lambda m: (m.window.start, m.key)):
        if mission.key in seen:
            raise InvalidInput(f"mission {mission.key.text} given twice", field="missions")
        seen.add(mission.key)
        if mission.status is MissionStatus.CANCELLED:
            continue
        if mission.status is MissionStatus.TENTATIVE and not rule.include_tentative:
            continue
        start = mission.window.start
        if start <= moment:
            continue
        upcoming.extend(start - lead for lead in leads if start - lead > moment)
        uncovered = difference([mission.window], cover_windows)
        if not uncovered:
            continue
        message = MESSAGE_UNCOVERED if uncovered == (mission.window,) else MESSAGE_PARTLY_UNCOVERED
        passed = [lead for lead in leads if start - lead <= moment]
        if not passed:
            continue
        urgent = passed[0]
        for recipient in sorted(set(recipients)):
            keys = {lead: ReminderKey(mission.key, start, lead, recipient) for lead in passed}
            if keys[urgent] not in sent:
                due.append(Reminder(keys[urgent], message, mission, start - urgent, uncovered))
            superseded.extend(keys[lead] for lead in passed[1:] if keys[lead] not in sent)
    due.sort(key=lambda r: (r.send_at, r.key.mission, r.key.recipient))
    return ReminderPlan(tuple(due), tuple(superseded), min(upcoming, default=None))
