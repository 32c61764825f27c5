"""Geofence inputs: a device's location :class:`Ping` and the trigger's :class:`GeofenceRules`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from polis.kernel.errors import InvalidInput
from polis.kernel.time import ensure_utc, parse_instant
from polis.ondemand.geofence_fence import _number, _position

__all__ = ["GeofenceRules", "Ping"]


@dataclass(frozen=True, slots=True)
class Ping:
    """A position of the device at an instant; ``accuracy_m`` is the reported radius, if any."""

    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", ensure_utc(self.at, field="at"))
        lon, lat = _position([self.lon, self.lat], "position")
        object.__setattr__(self, "lat", lat)
        object.__setattr__(self, "lon", lon)
        if self.accuracy_m is not None:
            accuracy = _number(self.accuracy_m, "accuracy_m")
            if accuracy < 0:
                raise InvalidInput("the accuracy is a radius in metres, ≥ 0", field="accuracy_m")
            object.__setattr__(self, "accuracy_m", accuracy)

    @property
    def identity(self) -> tuple[datetime, float, float]:
        """Two pings with the same time and position are the same ping (accuracy aside)."""
        return (self.at, self.lat, self.lon)

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "lat": self.lat,
            "lon": self.lon,
            "accuracy_m": self.accuracy_m,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Ping:
        at = data.get("at")
        if not isinstance(at, str):
            raise InvalidInput("expected an ISO 8601 instant", field="at")
        accuracy = data.get("accuracy_m")
        return cls(
            parse_instant(at, field="at"),
            _number(data.get("lat"), "lat"),
            _number(data.get("lon"), "lon"),
            None if accuracy is None else _number(accuracy, "accuracy_m"),
        )


@dataclass(frozen=True, slots=True)
class GeofenceRules:
    """Hysteresis and tolerance settings of one policy's geofence trigger."""

    dwell: timedelta = timedelta(minutes=2)
    gap: timedelta = timedelta(minutes=5)
    lateness: timedelta = timedelta(minutes=2)
    max_silence: timedelta | None = timedelta(hours=1)
    max_accuracy_m: float | None = None

    def __post_init__(self) -> None:
        for name in ("dwell", "gap", "lateness"):
            if getattr(self, name) < timedelta(0):
                raise InvalidInput("a duration cannot be negative", field=name)
        if self.max_silence is not None and self.max_silence <= max(self.gap, timedelta(0)):
            raise InvalidInput("max_silence must be longer than the gap", field="max_silence")
        if self.max_accuracy_m is not None and self.max_accuracy_m <= 0:
            raise InvalidInput("max_accuracy_m must be positive", field="max_accuracy_m")
