"""Triggers of on-demand cover over HTTP (API key, tenant-scoped): geofences and location pings,
partner start/stop events (the calendars are :mod:`.ondemand_calendar`). Every call that can open
cover requires an ``Idempotency-Key``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from polis.api.deps import CurrentPrincipal, new_uow
from polis.api.idempotency import IdempotencyKey, idempotent
from polis.api.routers.ondemand import Issuer, Now
from polis.api.routers.triggers_common import max_backdate, once, responses
from polis.services import triggers
from polis.services.triggers import (
    GeofenceIn,
    GeofenceView,
    PartnerEventIn,
    PartnerEventView,
    PingsIn,
    PingsView,
)
from polis.store import SqlUnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["on-demand triggers"])

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]


@router.put(
    "/subscriptions/{subscription_id}/geofence",
    response_model=GeofenceView,
    summary="Set the geofence of a subscription (GeoJSON polygons) and its hysteresis rules",
    description="Positions are GeoJSON `[lon, lat]`; rings closed; at most 50 km across. "
    "`dwell_seconds` confirms an entry, `gap_seconds` an exit; a device silent for "
    "`max_silence_seconds` closes its window.",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"subscription_id": "SUB-2026-000003", "object_ref": "warehouse"}
                }
            }
        }
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [2.35, 48.75],
                                    [2.353, 48.75],
                                    [2.353, 48.752],
                                    [2.35, 48.752],
                                    [2.35, 48.75],
                                ]
                            ],
                        },
                        "buffer_m": 25,
                    }
                }
            }
        }
    },
)
def geofence(
    subscription_id: str, body: GeofenceIn, principal: CurrentPrincipal, uow: Uow, now: Now
) -> GeofenceView:
    return triggers.set_geofence(
        uow, principal.tenant_id, subscription_id, body, principal.actor, now=now
    )


@router.post(
    "/subscriptions/{subscription_id}/pings",
    response_model=PingsView,
    summary="Location pings of a device (a batch, any order, duplicates ignored)",
    description="Requires `Idempotency-Key`. An entry (after the dwell) opens a window dated at "
    "the first inside ping; an exit (after the gap) closes it at the first outside ping.",
    responses=responses(
        {
            "device_ref": "tracker-7",
            "accepted": 3,
            "duplicate": 1,
            "late": 0,
            "phase": "inside",
            "decisions": [{"action": "open", "at": "2026-06-13T07:00:00Z", "applied": True}],
        }
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "device_ref": "tracker-7",
                        "pings": [
                            {"at": "2026-06-13T09:00:00+02:00", "lat": 48.751, "lon": 2.3515},
                            {"at": "2026-06-13T09:03:00+02:00", "lat": 48.751, "lon": 2.3516},
                        ],
                    }
                }
            }
        }
    },
)
def pings(
    subscription_id: str,
    body: PingsIn,
    principal: CurrentPrincipal,
    request: Request,
    issuer: Issuer,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def call(uow: SqlUnitOfWork) -> PingsView:
        return triggers.receive_device_pings(
            uow, principal.tenant_id, subscription_id, body, principal.actor, issuer=issuer,
            now=now, max_backdate=max_backdate(request),
        )  # fmt: skip

    return once(request, principal, call)


@router.post(
    "/partner-events",
    response_model=PartnerEventView,
    summary="A partner's start/stop call (a rental handed over, returned)",
    description="Requires `Idempotency-Key`. `start` opens cover at `at` until `expected_end` "
    "(else 24 hours within the product's rules); `stop` closes it (re-priced to the started "
    "units, no fee). A stop before its start is held until the start arrives. The same call "
    "delivered again (any key) replays the first answer. A refused call answers 409 with the "
    "decision (`already_started`, `already_stopped`, `stop_before_start`, `ref_already_used`).",
    responses=responses(
        {
            "partner_ref": "rental-88412",
            "subscription_id": "SUB-2026-000002",
            "kind": "start",
            "action": "open",
            "reason": "",
            "replayed": False,
            "status": "open",
            "certificate": "ATT-2026-000011",
        }
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "subscription_id": "SUB-2026-000002",
                        "partner_ref": "rental-88412",
                        "kind": "start",
                        "at": "2026-06-13T09:00:00+02:00",
                        "expected_end": "2026-06-13T18:00:00+02:00",
                    }
                }
            }
        }
    },
)
def partner_event(
    body: PartnerEventIn,
    principal: CurrentPrincipal,
    request: Request,
    issuer: Issuer,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def operation() -> tuple[int, Any]:
        view = triggers.handle_partner_event(
            new_uow(request),
            principal.tenant_id,
            body,
            idempotency_key,
            principal.actor,
            issuer=issuer,
            now=now,
            max_backdate=max_backdate(request),
        )
        if view.action == "refuse":
            return status.HTTP_409_CONFLICT, {
                "error": {
                    "code": f"partner.{view.reason}",
                    "message": f"call refused: {view.reason.replace('_', ' ')}",
                    "field": "kind",
                },
                "decision": view.model_dump(mode="json"),
                "request_id": getattr(request.state, "request_id", None),
            }
        return 200, view

    return idempotent(request, principal, operation)
