"""Calendar triggers over HTTP (API key, tenant-scoped): an ICS document (upload, or a URL that
Polis fetches) or a complete API list of missions. Both require an ``Idempotency-Key``."""

from __future__ import annotations

import json
from typing import Annotated

import anyio.from_thread
from fastapi import APIRouter, Query, Request, Response

from polis.api.deps import CurrentPrincipal, new_uow
from polis.api.idempotency import IdempotencyKey, idempotent
from polis.api.routers.ondemand import Issuer, Now
from polis.api.routers.triggers_common import once, responses, settings_of
from polis.kernel.errors import InvalidInput
from polis.ondemand.triggers_calendar import MissionAcceptance
from polis.services import triggers
from polis.services.triggers import CalendarIn, CalendarUrlIn, FetchLimits, MissionsIn, SyncView

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["on-demand triggers"])

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
    responses=responses(_SYNC_OUT),
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
    settings = settings_of(request)
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
            return 200, triggers.sync_calendar_url(
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
        return 200, triggers.import_ics(
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
    responses=responses({**_SYNC_OUT, "source": "api"}),
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
    return once(
        request,
        principal,
        lambda uow: triggers.sync_missions(
            uow, principal.tenant_id, subscription_id, body, principal.actor, issuer=issuer, now=now
        ),
    )
