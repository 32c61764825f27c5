"""Triggers of on-demand cover over HTTP (API key, tenant-scoped): calendars (an ICS upload or
URL, or a complete API list of missions), geofences and location pings, partner start/stop
events. Every call that can open cover requires an ``Idempotency-Key``."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, Depends, Query, Request, Response, status

from polis.api.deps import CurrentPrincipal, new_uow
from polis.api.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotent
from polis.api.routers.ondemand import Issuer, Now
from polis.config import Settings
from polis.kernel.errors import InvalidInput
from polis.ondemand.triggers_calendar import MissionAcceptance
from polis.services import ondemand_triggers
from polis.services.ondemand_triggers import (
    CalendarIn,
    CalendarUrlIn,
    FetchLimits,
    GeofenceIn,
    GeofenceView,
    MissionsIn,
    PartnerEventIn,
    PartnerEventView,
    PingsIn,
    PingsView,
    SyncView,
)
from polis.store import SqlUnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["on-demand triggers"])

Uow = Annotated[SqlUnitOfWork, Depends(new_uow)]

_ICS_EXAMPLE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Missions//FR\r\nBEGIN:VEVENT\r\n"
    "UID:mariage-dupont@example.org\r\nDTSTAMP:20260601T080000Z\r\n"
    "DTSTART;TZID=Europe/Paris:20260613T090000\r\nDTEND;TZID=Europe/Paris:20260613T190000\r\n"
    "SUMMARY:Mariage Dupont\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
_SYNC_OUT = {
    "subscription_id": "SUB-2026-000001",
    "object_ref": "camera-1",
    "source": "ics",
    "missions": 1,
    "operations": [
        {
            "action": "open",
            "mission": "mariage-dupont@example.org",
            "reason": "mission_confirmed",
            "start": "2026-06-13T07:00:00Z",
            "end": "2026-06-13T17:00:00Z",
            "applied": True,
            "windows": ["WIN-2026-000007"],
        }
    ],
    "unchanged": 0,
    "issues": [],
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _backdate(request: Request) -> timedelta:
    return timedelta(hours=_settings(request).trigger_max_backdate_hours)


def _responses(example: Any, code: int = 200) -> dict[int | str, dict[str, Any]]:
    return {**IDEMPOTENCY_RESPONSES, code: {"content": {"application/json": {"example": example}}}}


@router.post(
    "/subscriptions/{subscription_id}/calendar",
    response_model=SyncView,
    summary="Sync cover with a calendar: an ICS document (upload) or an ICS URL to fetch",
    description="Requires `Idempotency-Key`. Send the ICS as the body (`Content-Type: "
    "text/calendar`) or as `file` in a multipart form, with the settings as query parameters; "
    'or send JSON `{"url": …, settings}` to have Polis fetch it (http(s), with a timeout and a '
    "size limit). Each confirmed mission opens cover for its time (plus margins); a moved mission "
    "moves it; a cancelled one cancels it (not billed). Syncing the same feed again changes "
    "nothing.",
    responses=_responses(_SYNC_OUT),
    openapi_extra={
        "requestBody": {
            "content": {
                "text/calendar": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": _ICS_EXAMPLE,
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
                "application/json": {
                    "schema": CalendarUrlIn.model_json_schema(),
                    "example": {
                        "url": "https://calendar.example.org/studio/missions.ics",
                        "margin_before_minutes": 30,
                    },
                },
            }
        }
    },
)
def calendar(
    subscription_id: str,
    principal: CurrentPrincipal,
    request: Request,
    issuer: Issuer,
    now: Now,
    object_ref: Annotated[str | None, Query(max_length=100)] = None,
    margin_before_minutes: Annotated[int, Query(ge=0, le=1440)] = 0,
    margin_after_minutes: Annotated[int, Query(ge=0, le=1440)] = 0,
    acceptance: Annotated[MissionAcceptance, Query()] = MissionAcceptance.CONFIRMED_ONLY,
    allow_empty: Annotated[bool, Query()] = False,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    settings = _settings(request)
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.calendar_max_bytes + 64 * 1024:
        raise InvalidInput(
            f"the calendar is larger than {settings.calendar_max_bytes} bytes",
            field="ics",
            code="calendar.too_large",
        )
    raw: bytes = anyio.from_thread.run(request.body)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limits = FetchLimits(
        settings.calendar_fetch_timeout_seconds,
        settings.calendar_max_bytes,
        settings.calendar_fetch_allow_private,
    )
    query = CalendarIn(
        object_ref=object_ref,
        margin_before_minutes=margin_before_minutes,
        margin_after_minutes=margin_after_minutes,
        acceptance=acceptance,
        allow_empty=allow_empty,
    )

    def operation() -> tuple[int, SyncView]:
        uow = new_uow(request)
        if content_type == "application/json":
            try:
                payload = json.loads(raw or b"{}")
            except json.JSONDecodeError as e:
                raise InvalidInput("the body is not valid JSON", field="request") from e
            return 200, ondemand_triggers.sync_calendar_url(
                uow,
                principal.tenant_id,
                subscription_id,
                payload,
                principal.actor,
                issuer=issuer,
                limits=limits,
                now=now,
            )
        data = raw
        if content_type == "multipart/form-data":

            async def read_form() -> bytes | None:
                form = await request.form()
                try:
                    upload = form.get("file")
                    if upload is None or isinstance(upload, str):
                        return None
                    return await upload.read()
                finally:
                    await form.close()

            uploaded = anyio.from_thread.run(read_form)
            if uploaded is None:
                raise InvalidInput("send the ICS file as `file`", field="file")
            data = uploaded
        if not data:
            raise InvalidInput("send an ICS document or a JSON body with a url", field="ics")
        return 200, ondemand_triggers.import_ics(
            uow,
            principal.tenant_id,
            subscription_id,
            data,
            query,
            principal.actor,
            issuer=issuer,
            now=now,
            max_bytes=settings.calendar_max_bytes,
        )

    return idempotent(request, principal, operation)


@router.put(
    "/subscriptions/{subscription_id}/missions",
    response_model=SyncView,
    summary="Sync cover with the complete list of missions (API calendar)",
    description="Requires `Idempotency-Key`. The list is complete: a mission absent from it is "
    "removed (its cover cancelled if not started, stopped now if running). Instants carry an "
    "offset; two dates make an all-day mission.",
    responses=_responses({**_SYNC_OUT, "source": "api"}),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "margin_before_minutes": 30,
                        "missions": [
                            {
                                "uid": "mission-42",
                                "start": "2026-06-13T09:00:00+02:00",
                                "end": "2026-06-13T19:00:00+02:00",
                                "status": "confirmed",
                                "summary": "Mariage Dupont",
                            }
                        ],
                    }
                }
            }
        }
    },
)
def missions(
    subscription_id: str,
    body: MissionsIn,
    principal: CurrentPrincipal,
    request: Request,
    issuer: Issuer,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return idempotent(
        request,
        principal,
        lambda: (
            200,
            ondemand_triggers.sync_missions(
                new_uow(request),
                principal.tenant_id,
                subscription_id,
                body,
                principal.actor,
                issuer=issuer,
                now=now,
            ),
        ),
    )


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
    return ondemand_triggers.set_geofence(
        uow, principal.tenant_id, subscription_id, body, principal.actor, now=now
    )


@router.post(
    "/subscriptions/{subscription_id}/pings",
    response_model=PingsView,
    summary="Location pings of a device (a batch, any order, duplicates ignored)",
    description="Requires `Idempotency-Key`. An entry (after the dwell) opens a window dated at "
    "the first inside ping; an exit (after the gap) closes it at the first outside ping.",
    responses=_responses(
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
    return idempotent(
        request,
        principal,
        lambda: (
            200,
            ondemand_triggers.receive_device_pings(
                new_uow(request),
                principal.tenant_id,
                subscription_id,
                body,
                principal.actor,
                issuer=issuer,
                now=now,
                max_backdate=_backdate(request),
            ),
        ),
    )


@router.post(
    "/partner-events",
    response_model=PartnerEventView,
    summary="A partner's start/stop call (a rental handed over, returned)",
    description="Requires `Idempotency-Key`. `start` opens cover at `at` until `expected_end` "
    "(else 24 hours within the product's rules); `stop` closes it (re-priced to the started "
    "units, no fee). A stop before its start is held until the start arrives. The same call "
    "delivered again (any key) replays the first answer. A refused call answers 409 with the "
    "decision (`already_started`, `already_stopped`, `stop_before_start`, `ref_already_used`).",
    responses=_responses(
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
        view = ondemand_triggers.handle_partner_event(
            new_uow(request),
            principal.tenant_id,
            body,
            idempotency_key,
            principal.actor,
            issuer=issuer,
            now=now,
            max_backdate=_backdate(request),
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
