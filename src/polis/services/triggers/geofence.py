"""Geofence triggers: the subscription's polygons (GeoJSON) and hysteresis rules
(:func:`set_geofence`). The pings that open and close cover are taken by :mod:`.pings`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from polis.calc._base import parse_request
from polis.kernel.errors import NotFound
from polis.ondemand.triggers_geofence import Geofence, GeofenceRules
from polis.services import audit
from polis.services.ondemand_subscriptions import SubscriptionContext, load_context
from polis.services.triggers.common import Strict, moment_of
from polis.store.tables_ondemand import OnDemandGeofenceRow
from polis.store.uow import UnitOfWork

__all__ = ["GeofenceIn", "GeofenceView", "fence_of", "set_geofence"]


class GeofenceIn(Strict):
    """``PUT /v1/subscriptions/{id}/geofence`` body: a GeoJSON Polygon or MultiPolygon
    (``[lon, lat]`` positions) and the hysteresis rules."""

    geometry: dict[str, Any] = Field(
        examples=[
            {
                "type": "Polygon",
                "coordinates": [
                    [[2.35, 48.75], [2.353, 48.75], [2.353, 48.752], [2.35, 48.752], [2.35, 48.75]]
                ],
            }
        ]
    )
    buffer_m: float = Field(default=0.0, ge=0, le=5000)
    object_ref: str | None = Field(default=None, max_length=100)
    dwell_seconds: int = Field(default=120, ge=0, le=86400)
    gap_seconds: int = Field(default=300, ge=0, le=86400)
    lateness_seconds: int = Field(default=120, ge=0, le=86400)
    max_silence_seconds: int | None = Field(default=3600, ge=1, le=7 * 86400)
    max_accuracy_m: float | None = Field(default=None, gt=0)

    def rules(self) -> GeofenceRules:
        return GeofenceRules(
            dwell=timedelta(seconds=self.dwell_seconds),
            gap=timedelta(seconds=self.gap_seconds),
            lateness=timedelta(seconds=self.lateness_seconds),
            max_silence=(
                None
                if self.max_silence_seconds is None
                else timedelta(seconds=self.max_silence_seconds)
            ),
            max_accuracy_m=self.max_accuracy_m,
        )


class GeofenceView(Strict):
    subscription_id: str
    object_ref: str
    geometry: dict[str, Any]
    settings: dict[str, Any]
    updated_at: datetime


def set_geofence(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    payload: GeofenceIn | dict[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
) -> GeofenceView:
    """Set (or replace) the polygons and rules of a subscription's geofence."""
    given = parse_request(GeofenceIn, payload)
    Geofence.from_geojson(given.geometry, buffer_m=given.buffer_m, field="geometry")
    given.rules()
    moment = moment_of(now)
    with uow:
        ctx = load_context(uow, tenant_id, subscription_id, for_update=True)
        object_ref = ctx.subscription.item(given.object_ref).ref
        settings = given.model_dump(exclude={"geometry", "object_ref"})
        row = uow.ondemand.geofence(ctx.subscription.id)
        geometry = json.dumps(given.geometry, sort_keys=True)
        if row is None:
            row = OnDemandGeofenceRow(
                subscription_id=ctx.subscription.id,
                tenant_id=tenant_id,
                object_ref=object_ref,
                geometry=geometry,
                settings=json.dumps(settings, sort_keys=True),
                updated_at=moment,
            )
            uow.ondemand.add(row)
        row.object_ref = object_ref
        row.geometry = geometry
        row.settings = json.dumps(settings, sort_keys=True)
        row.updated_at = moment
        audit.record(
            uow,
            tenant_id=tenant_id,
            actor=actor,
            action="geofence.set",
            entity_type="subscription",
            entity_id=ctx.subscription.id,
            data={"object_ref": object_ref, "settings": settings},
            at=moment,
        )
        view = GeofenceView(
            subscription_id=ctx.subscription.id,
            object_ref=object_ref,
            geometry=given.geometry,
            settings=settings,
            updated_at=moment,
        )
        uow.commit()
    return view


def fence_of(
    uow: UnitOfWork, ctx: SubscriptionContext
) -> tuple[OnDemandGeofenceRow, Geofence, GeofenceRules]:
    """The subscription's stored geofence: its row, polygons and rules (``geofence.not_found``)."""
    fence_row = uow.ondemand.geofence(ctx.subscription.id)
    if fence_row is None:
        raise NotFound(
            f"subscription {ctx.subscription.id} has no geofence: PUT it first",
            field="geofence",
            code="geofence.not_found",
        )
    settings = GeofenceIn.model_validate(
        {"geometry": json.loads(fence_row.geometry), **json.loads(fence_row.settings)}
    )
    fence = Geofence.from_geojson(settings.geometry, buffer_m=settings.buffer_m)
    return fence_row, fence, settings.rules()
