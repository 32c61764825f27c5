"""Geofence tracker state: phases, decisions, ping outcomes and the serialisable :class:`TrackerState`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.time import Window, parse_instant
from polis.ondemand.geofence_pings import Ping

__all__ = [
    "GeofenceAction",
    "GeofenceDecision",
    "GeofenceStep",
    "PingOutcome",
    "TrackerPhase",
    "TrackerState",
]


class TrackerPhase(StrEnum):
    """Where the device stands for the trigger. Values are stored: never rename one."""

    OUTSIDE = "outside"
    ARRIVING = "arriving"  # inside, dwell not reached yet: no window
    INSIDE = "inside"  # window open
    LEAVING = "leaving"  # window open, outside for less than the gap


class GeofenceAction(StrEnum):
    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class GeofenceDecision:
    """Open a window at ``at``, or close it at ``at`` (``window`` is then the whole window)."""

    action: GeofenceAction
    policy_ref: str
    device_ref: str
    at: datetime
    reason: str  # "entry" | "exit" | "silence"
    window: Window | None = None


class PingOutcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    LATE = "late"
    INACCURATE = "inaccurate"


@dataclass(frozen=True, slots=True)
class TrackerState:
    """The trigger's memory for one (policy, device): serialisable with :meth:`to_json`."""

    policy_ref: str
    device_ref: str
    phase: TrackerPhase = TrackerPhase.OUTSIDE
    run_start: datetime | None = None
    last_inside: datetime | None = None
    outside_since: datetime | None = None
    last_ping: datetime | None = None
    processed_until: datetime | None = None
    latest_seen: datetime | None = None
    pending: tuple[Ping, ...] = ()

    def to_json(self) -> dict[str, object]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "policy_ref": self.policy_ref,
            "device_ref": self.device_ref,
            "phase": self.phase.value,
            "run_start": iso(self.run_start),
            "last_inside": iso(self.last_inside),
            "outside_since": iso(self.outside_since),
            "last_ping": iso(self.last_ping),
            "processed_until": iso(self.processed_until),
            "latest_seen": iso(self.latest_seen),
            "pending": [p.to_json() for p in self.pending],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> TrackerState:
        def instant(name: str) -> datetime | None:
            value = data.get(name)
            if value is None:
                return None
            if not isinstance(value, str):
                raise InvalidInput("expected an ISO 8601 instant", field=name)
            return parse_instant(value, field=name)

        policy_ref, device_ref = data.get("policy_ref"), data.get("device_ref")
        if not isinstance(policy_ref, str) or not isinstance(device_ref, str):
            raise InvalidInput("policy_ref and device_ref are required", field="policy_ref")
        pending = data.get("pending", [])
        if not isinstance(pending, list):
            raise InvalidInput("expected a list of pings", field="pending")
        try:
            phase = TrackerPhase(str(data.get("phase", "outside")))
        except ValueError as e:
            raise InvalidInput("unknown phase", field="phase") from e
        return cls(
            policy_ref=policy_ref,
            device_ref=device_ref,
            phase=phase,
            run_start=instant("run_start"),
            last_inside=instant("last_inside"),
            outside_since=instant("outside_since"),
            last_ping=instant("last_ping"),
            processed_until=instant("processed_until"),
            latest_seen=instant("latest_seen"),
            pending=tuple(Ping.from_json(p) for p in pending),
        )


@dataclass(frozen=True, slots=True)
class GeofenceStep:
    """The new state, the decisions taken (in time order) and what happened to each ping given."""

    state: TrackerState
    decisions: tuple[GeofenceDecision, ...] = ()
    outcomes: tuple[PingOutcome, ...] = ()
