"""Geofence zones: GeoJSON polygons validated, projected to metres around the fence, and tested.

Positions are ``[lon, lat]``; the inside test uses an equirectangular projection around the centre
of the fence's bounding box (see :mod:`polis.ondemand.triggers_geofence` for the error budget).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import shapely  # type: ignore[import-untyped]

from polis.kernel.errors import InvalidInput

__all__ = ["EARTH_RADIUS_M", "MAX_FENCE_EXTENT_M", "Geofence", "Position"]

EARTH_RADIUS_M = 6_371_008.8
"""Mean radius of the Earth (IUGG), metres."""

MAX_FENCE_EXTENT_M = 50_000.0
"""Largest fence (bounding box diagonal, metres): beyond it the projection error grows; use several fences."""

Position = tuple[float, float]  # (lon, lat)


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
