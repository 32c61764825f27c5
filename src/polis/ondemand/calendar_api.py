"""Calendar trigger: missions from the API's JSON list (:func:`missions_from_api`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from polis.kernel.errors import InvalidInput
from polis.kernel.time import PARIS, Window, parse_instant
from polis.ondemand.calendar_missions import CalendarFeed, Mission, MissionKey, MissionStatus
from polis.ondemand.calendar_wall_time import resolve_wall_time

__all__ = ["missions_from_api"]


def _api_bound(value: object, field: str, default_tz: ZoneInfo) -> tuple[datetime, bool]:
    if not isinstance(value, str):
        raise InvalidInput("expected an ISO 8601 date-time with an offset, or a date", field=field)
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError as e:
            raise InvalidInput(f"not an ISO 8601 date: {value!r}", field=field) from e
        return resolve_wall_time(datetime.combine(day, time(0)), default_tz), True
    return parse_instant(value, field=field), False


def missions_from_api(
    items: Sequence[Mapping[str, object]], *, default_tz: ZoneInfo = PARIS
) -> CalendarFeed:
    """Missions from the API's JSON list (the whole list: every absent mission is removed).

    Each item: ``uid`` (required), ``start`` and ``end`` (ISO 8601 with an offset; or both dates
    ``YYYY-MM-DD`` for an all-day mission, ``end`` exclusive, local midnights in ``default_tz``),
    optional ``recurrence_id`` (ISO 8601 instant), ``status`` (``confirmed``/``tentative``/
    ``cancelled``, default ``confirmed``), ``summary``, ``location``, ``sequence`` (integer ≥ 0),
    ``last_modified`` (ISO 8601 instant). Errors name the field: ``missions[3].end``.
    """
    missions: list[Mission] = []
    for index, item in enumerate(items):
        path = f"missions[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidInput("expected an object", field=path)
        uid = item.get("uid")
        if not isinstance(uid, str) or not uid.strip():
            raise InvalidInput("a non-empty uid is required", field=f"{path}.uid")
        begin, start_is_day = _api_bound(item.get("start"), f"{path}.start", default_tz)
        end, end_is_day = _api_bound(item.get("end"), f"{path}.end", default_tz)
        if start_is_day != end_is_day:
            raise InvalidInput(
                "start and end must both be dates or both date-times", field=f"{path}.end"
            )
        if end <= begin:
            raise InvalidInput("end must be after start", field=f"{path}.end")
        rid_text = item.get("recurrence_id")
        recurrence_id = None
        if rid_text is not None:
            if not isinstance(rid_text, str):
                raise InvalidInput("expected an ISO 8601 instant", field=f"{path}.recurrence_id")
            recurrence_id = parse_instant(rid_text, field=f"{path}.recurrence_id")
        status_text = item.get("status", "confirmed")
        try:
            status = MissionStatus(str(status_text).lower())
        except ValueError as e:
            raise InvalidInput(
                "status must be confirmed, tentative or cancelled", field=f"{path}.status"
            ) from e
        sequence = item.get("sequence", 0)
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
            raise InvalidInput("sequence must be an integer ≥ 0", field=f"{path}.sequence")
        modified_text = item.get("last_modified")
        modified = None
        if modified_text is not None:
            if not isinstance(modified_text, str):
                raise InvalidInput("expected an ISO 8601 instant", field=f"{path}.last_modified")
            modified = parse_instant(modified_text, field=f"{path}.last_modified")
        summary, location = item.get("summary", ""), item.get("location", "")
        if not isinstance(summary, str) or not isinstance(location, str):
            raise InvalidInput("summary and location must be text", field=f"{path}.summary")
        missions.append(
            Mission(
                key=MissionKey(uid.strip(), recurrence_id),
                window=Window(begin, end),
                status=status,
                summary=summary,
                location=location,
                sequence=sequence,
                last_modified=modified,
                all_day=start_is_day,
                tzid=default_tz.key if start_is_day else None,
            )
        )
    return CalendarFeed.of(missions)
