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

The code lives in sibling modules, one concept each, re-exported here:
:mod:`~polis.ondemand.geofence_fence` (zones and metres), :mod:`~polis.ondemand.geofence_pings`
(pings and rules), :mod:`~polis.ondemand.geofence_state` (phases, decisions, stored state) and
:mod:`~polis.ondemand.geofence_tracker` (the state machine).
"""

from __future__ import annotations

from polis.ondemand.geofence_fence import EARTH_RADIUS_M, MAX_FENCE_EXTENT_M, Geofence
from polis.ondemand.geofence_pings import GeofenceRules, Ping
from polis.ondemand.geofence_state import (
    GeofenceAction,
    GeofenceDecision,
    GeofenceStep,
    PingOutcome,
    TrackerPhase,
    TrackerState,
)
from polis.ondemand.geofence_tracker import advance_tracker, receive_pings, tick_tracker

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
