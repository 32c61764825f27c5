"""Geofence trigger: polygons per policy, location pings, and a state machine that opens and closes cover.

Pure domain code: pings come in, :class:`GeofenceDecision` values (open at *t*, close at *t*) come
out; the service persists :class:`TrackerState` (JSON) between calls. See ``docs/triggers.md``.

- **Fence**: one or more GeoJSON-like polygons (``[lon, lat]`` positions, closed rings, holes
  allowed), validated (closed, at least 4 positions, inside the lon/lat ranges, a valid polygon
  — ``shapely.is_valid_reason`` says why not — and at most :data:`MAX_FENCE_EXTENT_M` across).
  A point on the boundary is inside. An optional buffer in metres widens "inside".
- **Metres**: an equirectangular projection around the centre of the fence's bounding box,
  ``x = R·Δλ·cos φ0``, ``y = R·Δφ`` (``R`` = 6 371 008.8 m). It is an affine map of lon/lat, so
  without a buffer the inside test is exactly the lon/lat one (GeoJSON edges are straight in
  lon/lat); only buffer distances are approximate. Two terms: the projection's east-west scale
  error ``tan φ0 · d / R`` at ``d`` from the centre (0.45 % at 25 km at Paris' latitude, 0.005 % at
  250 m), and the sphere against WGS 84 (up to 0.3 % east-west in France). In metropolitan France,
  for a fence at most 50 km across, under 0.8 % of the distance; about 1 % at 60° of latitude. On
  a 100 m buffer around a warehouse: 0.3 m, far below a phone's GPS accuracy.
- **Hysteresis**: a window opens after ``dwell`` of consecutive inside pings and is dated at the
  *first* inside ping; it closes after ``gap`` outside and is dated at the *first* outside ping
  (the exit happened between the last inside and the first outside ping: cover errs in the
  insured's favour); a flap shorter than ``dwell`` opens nothing, an excursion shorter than ``gap``
  closes nothing. Silence (no ping for ``max_silence``) closes an open window at
  ``last inside ping + max_silence`` and abandons an arrival in progress.
- **Order**: pings are held in a reorder buffer and processed in time order once the watermark
  ``latest ping time − lateness`` has passed them; so any arrival order within ``lateness`` gives the
  same decisions as the sorted stream, and decisions are final (never taken back). A ping at or
  before the watermark already processed is *late* and ignored (it cannot reopen or move a decided
  window); a ping equal to one already buffered (same time and position) is a *duplicate* and
  ignored; a ping less accurate than ``max_accuracy_m`` is ignored. Equal instants: outside before
  inside.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import shapely  # type: ignore[import-untyped]

from polis.kernel.errors import InvalidInput
from polis.kernel.time import Window, ensure_utc, parse_instant

__all__ = [
    "EARTH_RADIUS_M",
    "MAX_FENCE_EXTENT_M",
    "Geofence",
    "GeofenceAction",
    "GeofenceDecision",
    "GeofenceRules",
    "GeofenceStep",
    "Ping",
    "PingOutcome",
    "TrackerPhase",
    "TrackerState",
    "advance_tracker",
    "receive_pings",
    "tick_tracker",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean radius of the Earth (IUGG), metres."""

MAX_FENCE_EXTENT_M = 50_000.0
"""Largest fence (bounding box diagonal, metres): beyond it the projection error grows; use several fences."""

Position = tuple[float, float]  # (lon, lat)


# --------------------------------------------------------------------------------------------
# Fence
# --------------------------------------------------------------------------------------------


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("expected a number", field=field)
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput("expected a finite number", field=field)
    return number


def _position(value: object, field: str) -> Position:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) not in (2, 3):
        raise InvalidInput("a position is [lon, lat] (altitude optional)", field=field)
    lon, lat = _number(value[0], f"{field}[0]"), _number(value[1], f"{field}[1]")
    if not -180.0 <= lon <= 180.0:
        raise InvalidInput(
            f"longitude {lon} is outside [-180, 180] (positions are [lon, lat])", field=field
        )
    if not -90.0 <= lat <= 90.0:
        raise InvalidInput(
            f"latitude {lat} is outside [-90, 90] (positions are [lon, lat])", field=field
        )
    return (lon, lat)


def _ring(value: object, field: str) -> tuple[Position, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidInput("a ring is a list of [lon, lat] positions", field=field)
    ring = tuple(_position(p, f"{field}[{i}]") for i, p in enumerate(value))
    if len(ring) < 4:
        raise InvalidInput("a ring needs at least 4 positions (a triangle, closed)", field=field)
    if ring[0] != ring[-1]:
        raise InvalidInput(
            "the ring is not closed: its last position must repeat the first", field=field
        )
    return ring


def _polygon(value: object, field: str) -> tuple[tuple[Position, ...], ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise InvalidInput("a polygon is a list of rings: the outline, then holes", field=field)
    return tuple(_ring(r, f"{field}[{i}]") for i, r in enumerate(value))


class Geofence:
    """A zone made of one or more polygons (lon/lat), optionally widened by ``buffer_m`` metres."""

    __slots__ = ("_projected", "buffer_m", "lat0", "lon0", "polygons")

    def __init__(
        self,
        polygons: Sequence[object],
        *,
        buffer_m: float = 0.0,
        field: str = "geofence",
    ) -> None:
        if not polygons:
            raise InvalidInput("a geofence needs at least one polygon", field=field)
        buffer = _number(buffer_m, "buffer_m")
        if buffer < 0 or buffer > 5_000:
            raise InvalidInput("the buffer is between 0 and 5 000 metres", field="buffer_m")
        self.buffer_m = buffer
        self.polygons = tuple(
            _polygon(p, f"{field}.coordinates[{i}]") for i, p in enumerate(polygons)
        )
        lons = [lon for poly in self.polygons for ring in poly for lon, _ in ring]
        lats = [lat for poly in self.polygons for ring in poly for _, lat in ring]
        self.lon0 = (min(lons) + max(lons)) / 2
        self.lat0 = (min(lats) + max(lats)) / 2
        shapes = []
        for i, poly in enumerate(self.polygons):
            shape = shapely.Polygon(poly[0], list(poly[1:]))
            reason = str(shapely.is_valid_reason(shape))
            if reason != "Valid Geometry":
                raise InvalidInput(
                    f"the polygon is not valid: {_explain(reason)}",
                    field=f"{field}.coordinates[{i}]",
                )
            if float(shape.area) <= 0.0:
                raise InvalidInput("the polygon has no area", field=f"{field}.coordinates[{i}]")
            shapes.append(shapely.Polygon(*self._project_polygon(poly)))
        projected = shapely.union_all(shapes)
        minx, miny, maxx, maxy = (float(v) for v in projected.bounds)
        extent = math.hypot(maxx - minx, maxy - miny)
        if extent > MAX_FENCE_EXTENT_M:
            raise InvalidInput(
                f"the geofence is {extent / 1000:.0f} km across, more than "
                f"{MAX_FENCE_EXTENT_M / 1000:.0f} km: split it into smaller zones",
                field=field,
            )
        shapely.prepare(projected)
        self._projected: Any = projected

    @classmethod
    def from_geojson(
        cls, geometry: Mapping[str, object], *, buffer_m: float = 0.0, field: str = "geofence"
    ) -> Geofence:
        """From a GeoJSON ``Polygon`` or ``MultiPolygon`` geometry (a ``Feature``'s geometry works too)."""
        if geometry.get("type") == "Feature":
            inner = geometry.get("geometry")
            if not isinstance(inner, Mapping):
                raise InvalidInput("a Feature needs a geometry", field=f"{field}.geometry")
            return cls.from_geojson(inner, buffer_m=buffer_m, field=f"{field}.geometry")
        kind, coordinates = geometry.get("type"), geometry.get("coordinates")
        if not isinstance(coordinates, Sequence) or isinstance(coordinates, str):
            raise InvalidInput("coordinates are required", field=f"{field}.coordinates")
        if kind == "Polygon":
            return cls([coordinates], buffer_m=buffer_m, field=field)
        if kind == "MultiPolygon":
            return cls(coordinates, buffer_m=buffer_m, field=field)
        raise InvalidInput(
            "the geometry type must be Polygon or MultiPolygon", field=f"{field}.type"
        )

    def _project(self, lon: float, lat: float) -> tuple[float, float]:
        scale = EARTH_RADIUS_M * math.pi / 180
        return (
            (lon - self.lon0) * scale * math.cos(math.radians(self.lat0)),
            (lat - self.lat0) * scale,
        )

    def _project_polygon(
        self, poly: tuple[tuple[Position, ...], ...]
    ) -> tuple[list[tuple[float, float]], list[list[tuple[float, float]]]]:
        rings = [[self._project(lon, lat) for lon, lat in ring] for ring in poly]
        return rings[0], rings[1:]

    def distance_m(self, lat: float, lon: float) -> float:
        """Approximate distance in metres from the point to the zone (0 inside)."""
        x, y = self._project(lon, lat)
        return float(shapely.distance(self._projected, shapely.Point(x, y)))

    def contains(self, lat: float, lon: float) -> bool:
        """Inside the zone or within ``buffer_m`` of it (the boundary counts as inside)."""
        x, y = self._project(lon, lat)
        if self.buffer_m == 0:
            return bool(shapely.intersects_xy(self._projected, x, y))
        return bool(shapely.dwithin(self._projected, shapely.Point(x, y), self.buffer_m))


def _explain(reason: str) -> str:
    """``Self-intersection[2.35 48.85]`` → ``self-intersection at lon 2.35, lat 48.85``."""
    name, _, rest = reason.partition("[")
    words = name.strip().lower().replace("_", " ")
    numbers = rest.rstrip("]").split()
    if len(numbers) >= 2:
        return f"{words} at lon {numbers[0]}, lat {numbers[1]}"
    return words


# --------------------------------------------------------------------------------------------
# Pings and rules
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# State machine
# --------------------------------------------------------------------------------------------


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


class _Machine:
    """Mutable working copy of a :class:`TrackerState` while one call runs."""

    def __init__(self, state: TrackerState, rules: GeofenceRules) -> None:
        self.state = state
        self.rules = rules
        self.decisions: list[GeofenceDecision] = []

    def _decide(self, action: GeofenceAction, at: datetime, reason: str) -> None:
        s = self.state
        window = None
        if action is GeofenceAction.CLOSE:
            assert s.run_start is not None
            window = Window(s.run_start, at)
        self.decisions.append(
            GeofenceDecision(action, s.policy_ref, s.device_ref, at, reason, window)
        )

    def expire(self, now: datetime) -> None:
        """Fire the timers due at ``now`` (nothing was seen between the last ping and ``now``)."""
        s, rules = self.state, self.rules
        if s.phase is TrackerPhase.LEAVING:
            assert s.outside_since is not None
            if now >= s.outside_since + rules.gap:
                self._decide(GeofenceAction.CLOSE, s.outside_since, "exit")
                self.state = replace(
                    s, phase=TrackerPhase.OUTSIDE, run_start=None, outside_since=None
                )
            return
        if rules.max_silence is None or s.last_ping is None:
            return
        if s.phase is TrackerPhase.INSIDE and now >= s.last_ping + rules.max_silence:
            assert s.last_inside is not None
            self._decide(GeofenceAction.CLOSE, s.last_inside + rules.max_silence, "silence")
            self.state = replace(s, phase=TrackerPhase.OUTSIDE, run_start=None)
        elif s.phase is TrackerPhase.ARRIVING and now >= s.last_ping + rules.max_silence:
            self.state = replace(s, phase=TrackerPhase.OUTSIDE, run_start=None)

    def observe(self, at: datetime, inside: bool) -> None:
        self.expire(at)
        s, rules = self.state, self.rules
        if inside:
            if s.phase is TrackerPhase.OUTSIDE:
                s = replace(s, phase=TrackerPhase.ARRIVING, run_start=at)
            s = replace(s, last_inside=at, outside_since=None, last_ping=at)
            if s.phase is TrackerPhase.LEAVING:
                s = replace(s, phase=TrackerPhase.INSIDE)
            self.state = s
            if s.phase is TrackerPhase.ARRIVING:
                assert s.run_start is not None
                if at - s.run_start >= rules.dwell:
                    self._decide(GeofenceAction.OPEN, s.run_start, "entry")
                    self.state = replace(s, phase=TrackerPhase.INSIDE)
            return
        s = replace(s, last_ping=at)
        if s.phase is TrackerPhase.ARRIVING:
            s = replace(s, phase=TrackerPhase.OUTSIDE, run_start=None)
        elif s.phase is TrackerPhase.INSIDE:
            s = replace(s, phase=TrackerPhase.LEAVING, outside_since=at)
        self.state = s
        if s.phase is TrackerPhase.LEAVING:
            self.expire(at)  # a zero gap closes at once


def _key(ping: Ping, fence: Geofence) -> tuple[datetime, bool, float, float]:
    return (ping.at, fence.contains(ping.lat, ping.lon), ping.lat, ping.lon)


def advance_tracker(
    state: TrackerState, until: datetime, fence: Geofence, rules: GeofenceRules
) -> GeofenceStep:
    """Process the buffered pings up to ``until`` (inclusive) and fire the timers due at ``until``.

    From then on, pings at or before ``until`` are late. ``until`` never moves backwards.
    """
    limit = ensure_utc(until, field="until")
    if state.processed_until is not None and limit <= state.processed_until:
        return GeofenceStep(state)
    machine = _Machine(state, rules)
    due = sorted((p for p in state.pending if p.at <= limit), key=lambda p: _key(p, fence))
    for ping in due:
        machine.observe(ping.at, fence.contains(ping.lat, ping.lon))
    machine.expire(limit)
    remaining = tuple(p for p in state.pending if p.at > limit)
    new_state = replace(machine.state, pending=remaining, processed_until=limit)
    return GeofenceStep(new_state, tuple(machine.decisions))


def receive_pings(
    state: TrackerState, pings: Iterable[Ping], fence: Geofence, rules: GeofenceRules
) -> GeofenceStep:
    """Take a delivery of pings (any order, duplicates allowed), then advance to the watermark."""
    pending = {p.identity: p for p in state.pending}
    latest = state.latest_seen
    outcomes: list[PingOutcome] = []
    for ping in pings:
        if (
            rules.max_accuracy_m is not None
            and ping.accuracy_m is not None
            and ping.accuracy_m > rules.max_accuracy_m
        ):
            outcomes.append(PingOutcome.INACCURATE)
        elif ping.identity in pending:
            outcomes.append(PingOutcome.DUPLICATE)
        elif state.processed_until is not None and ping.at <= state.processed_until:
            outcomes.append(PingOutcome.LATE)
        else:
            pending[ping.identity] = ping
            latest = ping.at if latest is None else max(latest, ping.at)
            outcomes.append(PingOutcome.ACCEPTED)
    buffered = replace(
        state, pending=tuple(sorted(pending.values(), key=lambda p: p.identity)), latest_seen=latest
    )
    if latest is None:
        return GeofenceStep(buffered, (), tuple(outcomes))
    step = advance_tracker(buffered, latest - rules.lateness, fence, rules)
    return GeofenceStep(step.state, step.decisions, tuple(outcomes))


def tick_tracker(
    state: TrackerState, now: datetime, fence: Geofence, rules: GeofenceRules
) -> GeofenceStep:
    """Time passes without pings (a scheduler calls this): advance to ``now − lateness``."""
    return advance_tracker(state, ensure_utc(now, field="now") - rules.lateness, fence, rules)
