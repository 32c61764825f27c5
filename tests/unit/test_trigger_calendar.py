"""Calendar trigger: reading ICS feeds and API lists into missions, and the pure sync plan."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.kernel import PARIS, InvalidInput, Window, parse_instant
from polis.ondemand.triggers_calendar import (
    CalendarFeed,
    CalendarRule,
    Mission,
    MissionAcceptance,
    MissionCover,
    MissionCoverStatus,
    MissionKey,
    MissionStatus,
    SyncAction,
    SyncPlan,
    apply_sync_plan,
    missions_from_api,
    parse_ics,
    plan_calendar_sync,
    resolve_wall_time,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ics"
YEAR_2025 = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
NEW_YORK = ZoneInfo("America/New_York")


def at(text: str) -> datetime:
    """A UTC instant from ISO text (``2025-06-14T07:00Z``)."""
    return parse_instant(text)


def paris(text: str) -> datetime:
    """A Europe/Paris wall-clock time (unambiguous ones only) as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def feed_of(name: str, horizon: Window = YEAR_2025) -> CalendarFeed:
    return parse_ics(read(name), horizon=horizon)


def by_uid(feed: CalendarFeed) -> dict[str, Mission]:
    return {m.key.text: m for m in feed.missions}


def mission(
    uid: str,
    start: datetime,
    end: datetime,
    status: MissionStatus = MissionStatus.CONFIRMED,
    *,
    sequence: int = 0,
) -> Mission:
    return Mission(MissionKey(uid), Window(start, end), status, sequence=sequence)


# --------------------------------------------------------------------------------------------
# Reading ICS
# --------------------------------------------------------------------------------------------


def test_a_confirmed_mission_keeps_its_summary_location_zone_and_times() -> None:
    wedding = by_uid(feed_of("photographer.ics"))["tournage-mariage@polis.test"]
    assert wedding.summary == "Tournage mariage"
    assert wedding.location == "Château de Vincennes, 94300 Vincennes"
    assert wedding.status is MissionStatus.CONFIRMED
    assert wedding.tzid == "Europe/Paris"
    assert wedding.window == Window(at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"))
    assert not wedding.all_day


def test_statuses_are_read_and_a_missing_status_means_confirmed() -> None:
    missions = by_uid(feed_of("photographer.ics"))
    assert missions["reperage@polis.test"].status is MissionStatus.TENTATIVE
    assert missions["salon-annule@polis.test"].status is MissionStatus.CANCELLED
    assert missions["nuit-mars@polis.test"].status is MissionStatus.CONFIRMED


def test_a_night_across_the_march_change_lasts_seven_real_hours() -> None:
    night = by_uid(feed_of("photographer.ics"))["nuit-mars@polis.test"]
    assert night.window == Window(paris("2025-03-29T22:00"), paris("2025-03-30T06:00"))
    assert night.window.hours() == Decimal(7)


def test_a_night_across_the_october_change_lasts_nine_real_hours() -> None:
    night = by_uid(feed_of("photographer.ics"))["nuit-octobre@polis.test"]
    assert night.window.start == at("2025-10-25T20:00Z")
    assert night.window.end == at("2025-10-26T05:00Z")
    assert night.window.hours() == Decimal(9)


def test_an_all_day_event_on_the_march_change_lasts_23_hours_from_local_midnight() -> None:
    day = by_uid(feed_of("photographer.ics"))["journee-mars@polis.test"]
    assert day.all_day
    assert day.window == Window(at("2025-03-29T23:00Z"), at("2025-03-30T22:00Z"))
    assert day.window.hours() == Decimal(23)


def test_an_all_day_event_on_the_october_change_lasts_25_hours_even_without_dtend() -> None:
    day = by_uid(feed_of("photographer.ics"))["journee-octobre@polis.test"]
    assert day.window == Window(at("2025-10-25T22:00Z"), at("2025-10-26T23:00Z"))
    assert day.window.hours() == Decimal(25)


def test_a_start_in_the_spring_gap_is_shifted_forward_by_the_gap() -> None:
    # RFC 5545 §3.3.5: 02:30 does not exist on 30 March 2025; read with the offset before the gap
    # (+01:00) it is 01:30 UTC, i.e. 03:30 CEST. The end (04:30 CEST) is real: one hour of cover.
    gap = by_uid(feed_of("photographer.ics"))["trou-printemps@polis.test"]
    assert gap.window.start == at("2025-03-30T01:30Z")
    assert gap.window.start.astimezone(PARIS).hour == 3
    assert gap.window.hours() == Decimal(1)


def test_an_ambiguous_autumn_time_is_its_first_occurrence_and_durations_are_exact() -> None:
    twice = by_uid(feed_of("photographer.ics"))["heure-double@polis.test"]
    assert twice.window == Window(at("2025-10-26T00:30Z"), at("2025-10-26T01:30Z"))
    assert twice.window.start.astimezone(PARIS).utcoffset() == timedelta(hours=2)


def test_floating_times_are_read_in_the_default_zone() -> None:
    in_paris = by_uid(feed_of("photographer.ics"))["heure-flottante@polis.test"]
    assert in_paris.window == Window(at("2025-07-01T06:00Z"), at("2025-07-01T10:00Z"))
    assert in_paris.tzid is None
    elsewhere = parse_ics(read("photographer.ics"), horizon=YEAR_2025, default_tz=NEW_YORK)
    assert by_uid(elsewhere)["heure-flottante@polis.test"].window.start == at("2025-07-01T12:00Z")


def test_utc_times_and_other_zones_are_exact_instants() -> None:
    missions = by_uid(feed_of("photographer.ics"))
    assert missions["heure-utc@polis.test"].window == Window(
        at("2025-07-02T08:00Z"), at("2025-07-02T10:00Z")
    )
    new_york = missions["new-york@polis.test"]
    assert new_york.window == Window(at("2025-07-03T13:00Z"), at("2025-07-03T21:00Z"))
    assert new_york.tzid == "America/New_York"


def test_an_event_that_ends_in_another_zone_lasts_its_real_elapsed_time() -> None:
    flight = by_uid(feed_of("photographer.ics"))["vol-paris-new-york@polis.test"]
    assert flight.window == Window(at("2025-07-04T08:00Z"), at("2025-07-04T16:30Z"))


def test_a_duration_in_days_is_nominal_and_the_rest_exact() -> None:
    missions = by_uid(feed_of("photographer.ics"))
    one_day = missions["duree-un-jour@polis.test"]
    assert one_day.window.end == paris("2025-03-30T10:00")  # same wall-clock time next day
    assert one_day.window.hours() == Decimal(23)
    assert missions["duree-jour-et-heures@polis.test"].window.hours() == Decimal(25)


def test_single_events_outside_the_horizon_are_left_out() -> None:
    june = Window(at("2025-06-01T00:00Z"), at("2025-07-01T00:00Z"))
    keys = {m.key.uid for m in feed_of("photographer.ics", june).missions}
    assert keys == {"tournage-mariage@polis.test", "reperage@polis.test", "salon-annule@polis.test"}


def test_missions_are_sorted_by_start_then_key() -> None:
    missions = feed_of("photographer.ics").missions
    assert [m.window.start for m in missions] == sorted(m.window.start for m in missions)


def test_text_and_bytes_and_crlf_give_the_same_missions() -> None:
    raw = read("photographer.ics")
    crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    expected = parse_ics(raw, horizon=YEAR_2025).missions
    assert parse_ics(raw.decode("utf-8"), horizon=YEAR_2025).missions == expected
    assert parse_ics(crlf, horizon=YEAR_2025).missions == expected


def test_a_one_line_text_is_never_read_as_a_file_path(tmp_path: Path) -> None:
    path = tmp_path / "calendar.ics"
    path.write_bytes(read("photographer.ics"))
    with pytest.raises(InvalidInput) as info:
        parse_ics(str(path), horizon=YEAR_2025)
    assert info.value.field == "ics"


@pytest.mark.parametrize("document", [b"", b"hello", b"BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n"])
def test_a_document_that_is_not_icalendar_is_refused(document: bytes) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_ics(document, horizon=YEAR_2025)
    assert info.value.field == "ics"


def test_unreadable_events_are_skipped_and_reported_while_the_rest_is_read() -> None:
    feed = feed_of("broken_events.ics")
    assert {m.key.uid for m in feed.missions} == {
        "bien-forme@polis.test",
        "fuseau-inconnu@polis.test",
        "statut-inconnu@polis.test",
    }
    reported = {(issue.uid, issue.message.split(":")[0]) for issue in feed.issues}
    assert (None, "event without UID skipped") in reported
    assert ("sans-debut@polis.test", "event skipped") in reported
    assert ("date-illisible@polis.test", "event skipped") in reported
    assert ("fin-avant-debut@polis.test", "event skipped") in reported
    assert ("sans-fin@polis.test", "event skipped") in reported


def test_an_unknown_zone_is_read_as_floating_time_with_an_issue() -> None:
    feed = feed_of("broken_events.ics")
    unknown = by_uid(feed)["fuseau-inconnu@polis.test"]
    assert unknown.window.start == paris("2025-06-11T10:00")
    assert any("Mars/Olympus_Mons" in issue.message for issue in feed.issues)


def test_an_unknown_status_is_read_as_tentative_with_an_issue() -> None:
    feed = feed_of("broken_events.ics")
    assert by_uid(feed)["statut-inconnu@polis.test"].status is MissionStatus.TENTATIVE
    assert any("NEEDS-ACTION" in issue.message for issue in feed.issues)


def test_outlook_zones_shipped_as_vtimezone_follow_the_same_dst_rules() -> None:
    missions = by_uid(feed_of("outlook_vtimezone.ics"))
    gap = missions["outlook-gap@polis.test"]
    assert gap.tzid == "Romance Standard Time"
    assert gap.window == Window(at("2025-03-30T01:30Z"), at("2025-03-30T03:00Z"))
    twice = missions["outlook-double@polis.test"]
    assert twice.window == Window(at("2025-10-26T00:30Z"), at("2025-10-26T03:00Z"))
    assert missions["outlook-ete@polis.test"].window.start == at("2025-07-15T05:30Z")


def test_method_cancel_cancels_every_event() -> None:
    document = read("story_1_booked.ics").replace(b"VERSION:2.0", b"VERSION:2.0\r\nMETHOD:CANCEL")
    feed = parse_ics(document, horizon=YEAR_2025)
    assert {m.status for m in feed.missions} == {MissionStatus.CANCELLED}


# --------------------------------------------------------------------------------------------
# Recurrences
# --------------------------------------------------------------------------------------------


def rounds() -> list[Mission]:
    return [m for m in feed_of("weekend_rounds.ics").missions if m.key.uid.startswith("tournee")]


def test_a_weekly_series_keeps_its_wall_clock_time_across_the_march_change() -> None:
    starts = [m.window.start.astimezone(PARIS) for m in rounds()]
    assert {(s.hour, s.minute) for s in starts if s.month == 3} == {(8, 0)}
    keys = [m.key for m in rounds()]
    assert MissionKey("tournee-weekend@polis.test", at("2025-03-29T07:00Z")) in keys
    assert MissionKey("tournee-weekend@polis.test", at("2025-03-30T06:00Z")) in keys


def test_exdate_removes_an_occurrence() -> None:
    days = {m.key.recurrence_id for m in rounds()}
    assert at("2025-04-05T06:00Z") not in days
    assert at("2025-04-06T06:00Z") in days
    assert len(days) == 9  # 10 weekend days until 20 April, one excluded


def test_an_overriding_event_moves_one_occurrence_and_keeps_its_key() -> None:
    moved = next(m for m in rounds() if m.key.recurrence_id == at("2025-04-12T06:00Z"))
    assert moved.window == Window(paris("2025-04-12T14:00"), paris("2025-04-12T18:00"))
    assert moved.summary.endswith("(l'après-midi)")
    assert moved.sequence == 2


def test_a_cancelled_occurrence_of_a_series_is_cancelled_alone() -> None:
    statuses = {m.key.recurrence_id: m.status for m in rounds()}
    assert statuses[at("2025-04-13T06:00Z")] is MissionStatus.CANCELLED
    assert statuses[at("2025-04-19T06:00Z")] is MissionStatus.CONFIRMED


def test_a_nightly_series_keeps_the_wall_clock_length_shown_by_calendar_apps() -> None:
    nights = [m for m in feed_of("weekend_rounds.ics").missions if m.key.uid.startswith("garde")]
    assert [m.window.hours() for m in nights] == [Decimal(8), Decimal(9), Decimal(8)]
    assert all(m.window.end.astimezone(PARIS).hour == 6 for m in nights)


def test_an_all_day_series_has_a_23_hour_day_on_the_march_change() -> None:
    fair = [m for m in feed_of("weekend_rounds.ics").missions if m.key.uid.startswith("salon")]
    assert [m.window.hours() for m in fair] == [Decimal(24), Decimal(24), Decimal(23)]
    assert fair[0].all_day


def test_an_endless_series_is_expanded_inside_the_horizon_only() -> None:
    document = b"""BEGIN:VCALENDAR\r
BEGIN:VEVENT\r
UID:chaque-lundi@polis.test\r
DTSTART;TZID=Europe/Paris:20250106T090000\r
DTEND;TZID=Europe/Paris:20250106T100000\r
RRULE:FREQ=WEEKLY\r
END:VEVENT\r
END:VCALENDAR\r
"""
    april = Window(at("2025-04-01T00:00Z"), at("2025-05-01T00:00Z"))
    feed = parse_ics(document, horizon=april)
    assert [m.window.start.astimezone(PARIS).day for m in feed.missions] == [7, 14, 21, 28]
    assert feed.horizon == april


def test_an_occurrence_that_overlaps_the_horizon_start_is_kept() -> None:
    fair_day_two = Window(at("2025-03-29T12:00Z"), at("2025-03-29T13:00Z"))
    feed = parse_ics(read("weekend_rounds.ics"), horizon=fair_day_two)
    assert [m.key.text for m in feed.missions] == ["salon-trois-jours@polis.test/20250328T230000Z"]


def test_rdate_adds_occurrences_and_count_with_until_is_reported() -> None:
    document = b"""BEGIN:VCALENDAR\r
BEGIN:VEVENT\r
UID:rdate@polis.test\r
DTSTART:20250601T080000Z\r
DURATION:PT1H\r
RRULE:FREQ=DAILY;COUNT=2;UNTIL=20250610T000000Z\r
RDATE:20250615T080000Z\r
RDATE;VALUE=DATE:20250620\r
END:VEVENT\r
END:VCALENDAR\r
"""
    feed = parse_ics(document, horizon=YEAR_2025)
    assert [m.window.start for m in feed.missions] == [
        at("2025-06-01T08:00Z"),
        at("2025-06-02T08:00Z"),
        at("2025-06-15T08:00Z"),
        at("2025-06-20T08:00Z"),
    ]
    assert any("COUNT and UNTIL" in issue.message for issue in feed.issues)


def test_a_series_that_explodes_within_the_horizon_is_refused() -> None:
    document = b"""BEGIN:VCALENDAR\r
BEGIN:VEVENT\r
UID:chaque-minute@polis.test\r
DTSTART:20250601T080000Z\r
DURATION:PT1M\r
RRULE:FREQ=MINUTELY\r
END:VEVENT\r
END:VCALENDAR\r
"""
    with pytest.raises(InvalidInput) as info:
        parse_ics(document, horizon=YEAR_2025, max_occurrences=1000)
    assert info.value.field == "ics"
    assert "more than 1000" in info.value.message


def test_a_floating_series_in_the_spring_gap_moves_that_day_and_keeps_its_length() -> None:
    document = b"""BEGIN:VCALENDAR\r
BEGIN:VEVENT\r
UID:ronde@polis.test\r
DTSTART:20250329T023000\r
DTEND:20250329T033000\r
RRULE:FREQ=DAILY;COUNT=3\r
END:VEVENT\r
END:VCALENDAR\r
"""
    feed = parse_ics(document, horizon=YEAR_2025)
    walls = [m.window.start.astimezone(PARIS).strftime("%d %H:%M") for m in feed.missions]
    assert walls == ["29 02:30", "30 03:30", "31 02:30"]
    # on the 30th, 02:30 → 03:30 CEST would end where it starts: it keeps its hour on the clock
    assert [m.window.hours() for m in feed.missions] == [Decimal(1), Decimal(1), Decimal(1)]


def test_a_single_event_swallowed_by_the_gap_keeps_its_length_but_a_reversed_one_is_skipped() -> (
    None
):
    document = b"""BEGIN:VCALENDAR\r
BEGIN:VEVENT\r
UID:avale@polis.test\r
DTSTART;TZID=Europe/Paris:20250330T021500\r
DTEND;TZID=Europe/Paris:20250330T024500\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:inverse@polis.test\r
DTSTART;TZID=Europe/Paris:20250330T043000\r
DTEND;TZID=Europe/Paris:20250330T023000\r
END:VEVENT\r
END:VCALENDAR\r
"""
    feed = parse_ics(document, horizon=YEAR_2025)
    (swallowed,) = feed.missions
    assert swallowed.window == Window(at("2025-03-30T01:15Z"), at("2025-03-30T01:45Z"))
    assert [issue.uid for issue in feed.issues] == ["inverse@polis.test"]


# --------------------------------------------------------------------------------------------
# Duplicates in a feed
# --------------------------------------------------------------------------------------------


def test_the_highest_sequence_wins_whatever_the_order() -> None:
    early = mission("m", at("2025-06-16T06:00Z"), at("2025-06-16T15:00Z"), sequence=1)
    late = mission("m", at("2025-06-17T06:00Z"), at("2025-06-17T15:00Z"), sequence=2)
    assert CalendarFeed.of([early, late]).missions == (late,)
    assert CalendarFeed.of([late, early]).missions == (late,)


def test_at_equal_sequence_the_latest_modification_then_a_cancellation_wins() -> None:
    window = Window(at("2025-06-16T06:00Z"), at("2025-06-16T15:00Z"))
    old = Mission(MissionKey("m"), window, last_modified=at("2025-06-01T00:00Z"))
    new = Mission(MissionKey("m"), window, last_modified=at("2025-06-02T00:00Z"))
    assert CalendarFeed.of([new, old]).missions == (new,)
    confirmed = Mission(MissionKey("m"), window)
    cancelled = Mission(MissionKey("m"), window, MissionStatus.CANCELLED)
    assert CalendarFeed.of([cancelled, confirmed]).missions == (cancelled,)
    assert CalendarFeed.of([confirmed, cancelled]).missions == (cancelled,)


def test_two_calendars_in_one_document_are_both_read() -> None:
    document = read("story_1_booked.ics") + read("outlook_vtimezone.ics")
    feed = parse_ics(document, horizon=YEAR_2025)
    assert len(feed.missions) == 5


# --------------------------------------------------------------------------------------------
# Keys and wall-clock resolution
# --------------------------------------------------------------------------------------------


def test_a_key_text_names_the_occurrence_in_utc() -> None:
    key = MissionKey("tournee@polis.test", paris("2025-03-29T08:00"))
    assert key.text == "tournee@polis.test/20250329T070000Z"
    assert MissionKey.from_text(key.text) == key
    assert MissionKey.from_text("plain/uid") == MissionKey("plain/uid")


def test_a_key_needs_a_uid_and_an_aware_recurrence_id() -> None:
    with pytest.raises(InvalidInput):
        MissionKey("")
    with pytest.raises(InvalidInput):
        MissionKey("x", datetime(2025, 1, 1))


@given(
    uid=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""),
    rid=st.none() | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
)
def test_a_key_survives_its_text_form(uid: str, rid: datetime | None) -> None:
    key = MissionKey(uid, None if rid is None else rid.replace(tzinfo=UTC))
    assert MissionKey.from_text(key.text) == key


@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1)))
def test_a_wall_time_resolves_to_itself_or_to_one_hour_later_in_the_gap(wall: datetime) -> None:
    instant = resolve_wall_time(wall, PARIS)
    back = instant.astimezone(PARIS).replace(tzinfo=None)
    assert back in (wall, wall + timedelta(hours=1))
    if back != wall:  # only the spring gap: last Sunday of March, 02:00-03:00
        assert wall.month == 3
        assert wall.weekday() == 6
        assert wall.hour == 2


# --------------------------------------------------------------------------------------------
# API list
# --------------------------------------------------------------------------------------------


def test_an_api_list_gives_the_same_mission_model() -> None:
    feed = missions_from_api(
        [
            {
                "uid": "job-42",
                "start": "2025-06-14T09:00:00+02:00",
                "end": "2025-06-14T19:00:00+02:00",
                "summary": "Tournage",
                "location": "Vincennes",
                "sequence": 3,
                "last_modified": "2025-06-01T08:00:00Z",
            },
            {"uid": "salon", "start": "2025-03-30", "end": "2025-03-31", "status": "tentative"},
        ]
    )
    assert feed.horizon is None
    salon, job = feed.missions
    assert job.window == Window(at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"))
    assert (job.summary, job.location, job.sequence) == ("Tournage", "Vincennes", 3)
    assert salon.all_day
    assert salon.window.hours() == Decimal(23)
    assert salon.status is MissionStatus.TENTATIVE


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"start": "2025-06-14T09:00Z", "end": "2025-06-14T10:00Z"}, "missions[0].uid"),
        (
            {"uid": "a", "start": "2025-06-14T09:00", "end": "2025-06-14T10:00Z"},
            "missions[0].start",
        ),
        ({"uid": "a", "start": "2025-06-14T09:00Z", "end": "2025-06-14T08:00Z"}, "missions[0].end"),
        ({"uid": "a", "start": "2025-06-14", "end": "2025-06-14T10:00Z"}, "missions[0].end"),
        ({"uid": "a", "start": "2025-06-14", "end": "2025-06-31"}, "missions[0].end"),
        ({"uid": "a", "start": 3, "end": "2025-06-14T10:00Z"}, "missions[0].start"),
        (
            {
                "uid": "a",
                "start": "2025-06-14T09:00Z",
                "end": "2025-06-14T10:00Z",
                "status": "maybe",
            },
            "missions[0].status",
        ),
        (
            {"uid": "a", "start": "2025-06-14T09:00Z", "end": "2025-06-14T10:00Z", "sequence": -1},
            "missions[0].sequence",
        ),
        (
            {
                "uid": "a",
                "start": "2025-06-14T09:00Z",
                "end": "2025-06-14T10:00Z",
                "recurrence_id": 1,
            },
            "missions[0].recurrence_id",
        ),
    ],
)
def test_api_errors_name_the_field(item: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        missions_from_api([item])
    assert info.value.field == field


def test_api_duplicates_are_resolved_like_ics_ones() -> None:
    first = {"uid": "a", "start": "2025-06-14T09:00Z", "end": "2025-06-14T10:00Z", "sequence": 1}
    second = {"uid": "a", "start": "2025-06-15T09:00Z", "end": "2025-06-15T10:00Z", "sequence": 2}
    assert missions_from_api([second, first]) == missions_from_api([first, second, first])
    assert missions_from_api([first, second]).missions[0].window.start == at("2025-06-15T09:00Z")


# --------------------------------------------------------------------------------------------
# Sync
# --------------------------------------------------------------------------------------------

NOW = at("2025-06-10T08:00Z")
PLAIN = CalendarRule()
WITH_MARGINS = CalendarRule(margin_before=timedelta(minutes=30), margin_after=timedelta(hours=1))


def sync(
    covers: list[MissionCover],
    missions: list[Mission],
    now: datetime = NOW,
    rule: CalendarRule = PLAIN,
    horizon: Window | None = None,
) -> SyncPlan:
    return plan_calendar_sync(
        covers, CalendarFeed.of(missions, horizon=horizon), rule=rule, now=now
    )


def test_a_confirmed_mission_opens_its_cover_with_the_margins() -> None:
    job = mission("job", at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"))
    plan = sync([], [job], rule=WITH_MARGINS)
    (op,) = plan.operations
    assert op.action is SyncAction.OPEN
    assert op.window == Window(at("2025-06-14T06:30Z"), at("2025-06-14T18:00Z"))
    assert op.mission == job
    assert op.reason == "mission_confirmed"


def test_tentative_missions_open_cover_only_when_the_policy_says_so() -> None:
    maybe = mission(
        "maybe", at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"), MissionStatus.TENTATIVE
    )
    assert sync([], [maybe]).is_empty
    generous = CalendarRule(acceptance=MissionAcceptance.CONFIRMED_AND_TENTATIVE)
    assert [op.action for op in sync([], [maybe], rule=generous).operations] == [SyncAction.OPEN]


def test_cancelled_and_past_missions_open_nothing() -> None:
    cancelled = mission(
        "c", at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"), MissionStatus.CANCELLED
    )
    past = mission("p", at("2025-06-09T07:00Z"), at("2025-06-09T17:00Z"))
    assert sync([], [cancelled, past]).is_empty


def test_a_mission_already_running_is_covered_from_now_never_retroactively() -> None:
    running = mission("r", at("2025-06-10T07:00Z"), at("2025-06-10T12:00Z"))
    (op,) = sync([], [running]).operations
    assert op.window == Window(NOW, at("2025-06-10T12:00Z"))


def test_a_mission_that_moves_moves_its_cover_and_back() -> None:
    # the story fixtures: booked on the 16th, moved to the 17th, moved back to the 16th, cancelled
    covers: list[MissionCover] = []
    now = at("2025-06-05T08:00Z")
    seen: list[list[tuple[SyncAction, str]]] = []
    for name in ("story_1_booked", "story_2_moved", "story_3_moved_back", "story_4_cancelled"):
        feed = parse_ics(read(f"{name}.ics"), horizon=YEAR_2025)
        plan = plan_calendar_sync(covers, feed, rule=PLAIN, now=now)
        seen.append([(op.action, op.key.uid.split("@")[0]) for op in plan.operations])
        covers = apply_sync_plan(covers, plan)
        assert plan_calendar_sync(covers, feed, rule=PLAIN, now=now).is_empty
    assert seen == [
        [(SyncAction.OPEN, "chantier-dupont"), (SyncAction.OPEN, "chantier-martin")],
        [(SyncAction.MOVE, "chantier-dupont")],
        [(SyncAction.MOVE, "chantier-dupont")],
        [(SyncAction.CANCEL, "chantier-dupont")],
    ]
    dupont = next(c for c in covers if c.key.uid.startswith("chantier-dupont"))
    assert dupont.status is MissionCoverStatus.CANCELLED
    assert dupont.window == Window(paris("2025-06-16T08:00"), paris("2025-06-16T17:00"))


def test_moving_back_restores_exactly_the_first_window() -> None:
    original = mission("m", at("2025-06-16T06:00Z"), at("2025-06-16T15:00Z"))
    moved = mission("m", at("2025-06-17T07:00Z"), at("2025-06-17T16:00Z"), sequence=1)
    back = mission("m", at("2025-06-16T06:00Z"), at("2025-06-16T15:00Z"), sequence=2)
    covers = apply_sync_plan([], sync([], [original]))
    first = covers[0].window
    covers = apply_sync_plan(covers, sync(covers, [moved]))
    (op,) = sync(covers, [back]).operations
    assert op.action is SyncAction.MOVE
    assert op.previous == Window(at("2025-06-17T07:00Z"), at("2025-06-17T16:00Z"))
    assert op.window == first


def test_a_cancelled_mission_cancels_a_cover_that_has_not_started() -> None:
    window = Window(at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"))
    cover = MissionCover(MissionKey("job"), window)
    cancelled = mission("job", window.start, window.end, MissionStatus.CANCELLED)
    (op,) = sync([cover], [cancelled]).operations
    assert (op.action, op.window, op.reason) == (SyncAction.CANCEL, window, "mission_cancelled")


def test_a_mission_cancelled_while_running_stops_its_cover_at_now() -> None:
    window = Window(at("2025-06-10T07:00Z"), at("2025-06-10T17:00Z"))
    cover = MissionCover(MissionKey("job"), window)
    cancelled = mission("job", window.start, window.end, MissionStatus.CANCELLED)
    (op,) = sync([cover], [cancelled]).operations
    assert op.action is SyncAction.STOP
    assert op.window == Window(window.start, NOW)
    assert op.previous == window


def test_a_mission_removed_from_the_feed_is_cancelled() -> None:
    cover = MissionCover(
        MissionKey("gone"), Window(at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"))
    )
    (op,) = sync([cover], []).operations
    assert (op.action, op.reason) == (SyncAction.CANCEL, "mission_removed")


def test_a_cover_beyond_the_horizon_read_is_kept_when_its_mission_is_absent() -> None:
    far = MissionCover(MissionKey("far"), Window(at("2025-12-14T07:00Z"), at("2025-12-14T17:00Z")))
    near = MissionCover(
        MissionKey("near"), Window(at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"))
    )
    horizon = Window(at("2025-06-01T00:00Z"), at("2025-09-01T00:00Z"))
    plan = sync([far, near], [], horizon=horizon)
    assert [op.key.uid for op in plan.operations] == ["near"]
    assert plan.unchanged == (MissionKey("far"),)


def test_a_mission_that_is_no_longer_confirmed_loses_its_cover() -> None:
    window = Window(at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"))
    cover = MissionCover(MissionKey("job"), window)
    tentative = mission("job", window.start, window.end, MissionStatus.TENTATIVE)
    (op,) = sync([cover], [tentative]).operations
    assert (op.action, op.reason) == (SyncAction.CANCEL, "mission_not_confirmed")


def test_a_running_cover_keeps_its_start_and_follows_the_end() -> None:
    window = Window(at("2025-06-10T07:00Z"), at("2025-06-10T17:00Z"))
    cover = MissionCover(MissionKey("job"), window)
    later = mission("job", at("2025-06-10T07:30Z"), at("2025-06-10T19:00Z"), sequence=1)
    (op,) = sync([cover], [later]).operations
    assert op.action is SyncAction.MOVE
    assert op.window == Window(window.start, at("2025-06-10T19:00Z"))


def test_a_running_cover_whose_mission_now_ends_in_the_past_stops_at_now() -> None:
    cover = MissionCover(
        MissionKey("job"), Window(at("2025-06-10T07:00Z"), at("2025-06-10T17:00Z"))
    )
    shortened = mission("job", at("2025-06-10T06:00Z"), at("2025-06-10T07:30Z"))
    (op,) = sync([cover], [shortened]).operations
    assert (op.action, op.window, op.reason) == (
        SyncAction.STOP,
        Window(at("2025-06-10T07:00Z"), NOW),
        "mission_over",
    )


def test_a_running_cover_whose_mission_is_postponed_stops_and_a_new_one_opens() -> None:
    window = Window(at("2025-06-10T07:00Z"), at("2025-06-10T17:00Z"))
    cover = MissionCover(MissionKey("job"), window)
    postponed = mission("job", at("2025-06-12T07:00Z"), at("2025-06-12T17:00Z"), sequence=1)
    plan = sync([cover], [postponed])
    assert [(op.action, op.window) for op in plan.operations] == [
        (SyncAction.STOP, Window(window.start, NOW)),
        (SyncAction.OPEN, postponed.window),
    ]
    after = apply_sync_plan([cover], plan)
    assert after == [MissionCover(MissionKey("job"), postponed.window)]
    assert sync(after, [postponed]).is_empty


def test_an_ended_cover_is_history_whatever_the_feed_says() -> None:
    ended = MissionCover(
        MissionKey("job"), Window(at("2025-06-09T07:00Z"), at("2025-06-09T17:00Z"))
    )
    cancelled = mission(
        "job", at("2025-06-09T07:00Z"), at("2025-06-09T17:00Z"), MissionStatus.CANCELLED
    )
    assert sync([ended], [cancelled]).is_empty
    assert sync([ended], []).is_empty


def test_a_mission_extended_after_its_cover_ended_gets_a_new_cover_for_the_rest() -> None:
    ended = MissionCover(
        MissionKey("job"), Window(at("2025-06-10T05:00Z"), at("2025-06-10T07:00Z"))
    )
    extended = mission("job", at("2025-06-10T05:00Z"), at("2025-06-10T11:00Z"), sequence=1)
    (op,) = sync([ended], [extended]).operations
    assert (op.action, op.window, op.reason) == (
        SyncAction.OPEN,
        Window(NOW, at("2025-06-10T11:00Z")),
        "mission_extended",
    )


def test_a_stopped_cover_is_never_reopened_automatically() -> None:
    stopped = MissionCover(
        MissionKey("job"),
        Window(at("2025-06-10T07:00Z"), at("2025-06-10T07:45Z")),
        MissionCoverStatus.STOPPED,
    )
    again = mission("job", at("2025-06-10T07:00Z"), at("2025-06-10T17:00Z"), sequence=2)
    assert sync([stopped], [again]).is_empty


def test_a_cancelled_cover_reopens_when_its_mission_is_confirmed_again() -> None:
    window = Window(at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"))
    cancelled = MissionCover(MissionKey("job"), window, MissionCoverStatus.CANCELLED)
    (op,) = sync([cancelled], [mission("job", window.start, window.end, sequence=3)]).operations
    assert (op.action, op.window, op.reason) == (SyncAction.OPEN, window, "mission_reconfirmed")


def test_a_cancelled_occurrence_cancels_only_its_own_cover() -> None:
    april = Window(at("2025-04-01T00:00Z"), at("2025-05-01T00:00Z"))
    now = at("2025-04-02T00:00Z")
    current = [
        m for m in feed_of("weekend_rounds.ics", april).missions if m.key.uid.startswith("tournee")
    ]
    # the series as it was before the 12th moved and the 13th was cancelled: 08:00-12:00 each day
    before = []
    for m in current:
        assert m.key.recurrence_id is not None
        original = Window(m.key.recurrence_id, m.key.recurrence_id + timedelta(hours=4))
        before.append(Mission(m.key, original, MissionStatus.CONFIRMED, sequence=1))
    covers = apply_sync_plan([], sync([], before, now=now, horizon=april))
    assert len(covers) == 5  # 6, 12, 13, 19 and 20 April (the 5th is excluded)
    plan = plan_calendar_sync(covers, feed_of("weekend_rounds.ics", april), rule=PLAIN, now=now)
    assert [(op.action, op.key.recurrence_id) for op in plan.operations] == [
        (SyncAction.MOVE, at("2025-04-12T06:00Z")),
        (SyncAction.CANCEL, at("2025-04-13T06:00Z")),
    ]


def test_an_occurrence_excluded_later_by_exdate_has_its_cover_cancelled() -> None:
    horizon = Window(at("2025-03-01T00:00Z"), at("2025-05-01T00:00Z"))
    now = at("2025-03-01T00:00Z")
    document = read("weekend_rounds.ics")
    covers = apply_sync_plan(
        [], plan_calendar_sync([], parse_ics(document, horizon=horizon), rule=PLAIN, now=now)
    )
    excluded = document.replace(
        b"EXDATE;TZID=Europe/Paris:20250405T080000",
        b"EXDATE;TZID=Europe/Paris:20250405T080000,20250406T080000",
    )
    plan = plan_calendar_sync(covers, parse_ics(excluded, horizon=horizon), rule=PLAIN, now=now)
    assert [(op.action, op.key.recurrence_id, op.reason) for op in plan.operations] == [
        (SyncAction.CANCEL, at("2025-04-06T06:00Z"), "mission_removed")
    ]


def test_a_dst_night_mission_is_covered_for_its_real_length_plus_margins() -> None:
    night = by_uid(feed_of("photographer.ics"))["nuit-mars@polis.test"]
    (op,) = sync([], [night], now=at("2025-03-01T00:00Z"), rule=WITH_MARGINS).operations
    assert op.window.hours() == Decimal("8.5")


def test_two_covers_for_one_mission_are_refused() -> None:
    window = Window(at("2025-06-14T07:00Z"), at("2025-06-14T17:00Z"))
    cover = MissionCover(MissionKey("job"), window)
    with pytest.raises(InvalidInput) as info:
        sync([cover, cover], [])
    assert info.value.field == "current"


@pytest.mark.parametrize("margin", [timedelta(minutes=-1), timedelta(hours=25)])
def test_margins_are_between_zero_and_a_day(margin: timedelta) -> None:
    with pytest.raises(InvalidInput) as info:
        CalendarRule(margin_after=margin)
    assert info.value.field == "margin_after"


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        sync([], [], now=datetime(2025, 6, 10, 8))
    assert info.value.field == "now"


def test_covers_survive_their_json_form() -> None:
    cover = MissionCover(
        MissionKey("tournee/x", at("2025-04-12T06:00Z")),
        Window(at("2025-04-12T12:00Z"), at("2025-04-12T16:00Z")),
        MissionCoverStatus.STOPPED,
    )
    assert MissionCover.from_json(json.loads(json.dumps(cover.to_json()))) == cover
    with pytest.raises(InvalidInput):
        MissionCover.from_json({"key": "x", "start": "2025-01-01T00:00Z"})
    with pytest.raises(InvalidInput):
        MissionCover.from_json(
            {"key": "x", "start": "2025-01-01T00:00Z", "end": "2025-01-01T01:00Z", "status": "?"}
        )


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

BASE = at("2025-06-10T00:00Z")
QUARTER = timedelta(minutes=15)

keys = st.builds(
    MissionKey,
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.none() | st.sampled_from([BASE, BASE + timedelta(days=1)]),
)


@st.composite
def missions(draw: st.DrawFn) -> Mission:
    start = BASE + QUARTER * draw(st.integers(-96, 400))
    length = QUARTER * draw(st.integers(1, 60))
    return Mission(
        draw(keys),
        Window(start, start + length),
        draw(st.sampled_from(list(MissionStatus))),
        sequence=draw(st.integers(0, 3)),
        last_modified=draw(st.none() | st.just(BASE)),
    )


feeds = st.lists(missions(), max_size=8)


@st.composite
def evolving_feeds(draw: st.DrawFn) -> list[list[Mission]]:
    """Successive versions of one calendar: each mission is kept, moved, stretched, re-statused
    or dropped, and new ones appear (so covers get moved, stopped and cancelled)."""
    versions = [draw(feeds)]
    for _ in range(draw(st.integers(1, 4))):
        following: list[Mission] = []
        for m in versions[-1]:
            change = draw(st.sampled_from(["keep", "move", "stretch", "status", "drop"]))
            if change == "drop":
                continue
            window = m.window
            if change == "move":
                shift = QUARTER * draw(st.integers(-24, 24).filter(bool))
                window = Window(window.start + shift, window.end + shift)
            elif change == "stretch":
                end = max(window.end + QUARTER * draw(st.integers(-12, 12)), window.start + QUARTER)
                window = Window(window.start, end)
            status = draw(st.sampled_from(list(MissionStatus))) if change == "status" else m.status
            following.append(replace(m, window=window, status=status, sequence=m.sequence + 1))
        following.extend(draw(st.lists(missions(), max_size=2)))
        versions.append(following)
    return versions


rules = st.builds(
    CalendarRule,
    margin_before=st.sampled_from([timedelta(0), QUARTER, timedelta(hours=1)]),
    margin_after=st.sampled_from([timedelta(0), QUARTER, timedelta(hours=2)]),
    acceptance=st.sampled_from(list(MissionAcceptance)),
)
steps = st.lists(st.integers(0, 24), min_size=5, max_size=5)
horizons = st.none() | st.just(Window(BASE - timedelta(days=1), BASE + timedelta(days=3)))


def times_of(gaps: list[int]) -> list[datetime]:
    """Increasing sync instants from the start of the test period."""
    moments, now = [], BASE
    for gap in gaps:
        now += QUARTER * gap
        moments.append(now)
    return moments


def history(
    versions: list[list[Mission]], times: list[datetime], rule: CalendarRule
) -> list[MissionCover]:
    """The covers after syncing successive versions of the feed at successive instants."""
    covers: list[MissionCover] = []
    for feed, now in zip(versions, times, strict=False):
        covers = apply_sync_plan(
            covers, plan_calendar_sync(covers, CalendarFeed.of(feed), rule=rule, now=now)
        )
    return covers


@settings(max_examples=400, deadline=None)
@given(
    versions=evolving_feeds(), gaps=steps, later=st.integers(0, 200), rule=rules, horizon=horizons
)
def test_syncing_twice_changes_nothing_now_or_later(
    versions: list[list[Mission]],
    gaps: list[int],
    later: int,
    rule: CalendarRule,
    horizon: Window | None,
) -> None:
    times = times_of(gaps)
    covers = history(versions[:-1], times, rule)
    now = times[len(versions) - 1]
    calendar = CalendarFeed.of(versions[-1], horizon=horizon)
    plan = plan_calendar_sync(covers, calendar, rule=rule, now=now)
    after = apply_sync_plan(covers, plan)
    assert plan_calendar_sync(after, calendar, rule=rule, now=now).is_empty
    assert plan_calendar_sync(after, calendar, rule=rule, now=now + QUARTER * later).is_empty


@settings(max_examples=300, deadline=None)
@given(
    versions=evolving_feeds(),
    gaps=steps,
    extra=st.lists(st.integers(0, 9), max_size=6),
    seed=st.integers(0, 10_000),
    rule=rules,
)
def test_order_and_duplicates_in_the_feed_do_not_matter(
    versions: list[list[Mission]], gaps: list[int], extra: list[int], seed: int, rule: CalendarRule
) -> None:
    times = times_of(gaps)
    covers = history(versions[:-1], times, rule)
    now, feed = times[len(versions) - 1], versions[-1]
    noisy = feed + [feed[i] for i in extra if i < len(feed)]
    random.Random(seed).shuffle(noisy)
    shuffled_covers = list(covers)
    random.Random(seed + 1).shuffle(shuffled_covers)
    expected = plan_calendar_sync(covers, CalendarFeed.of(feed), rule=rule, now=now)
    assert (
        plan_calendar_sync(shuffled_covers, CalendarFeed.of(noisy), rule=rule, now=now) == expected
    )


@settings(max_examples=400, deadline=None)
@given(versions=evolving_feeds(), gaps=steps, rule=rules, horizon=horizons)
def test_cover_is_never_changed_in_the_past(
    versions: list[list[Mission]], gaps: list[int], rule: CalendarRule, horizon: Window | None
) -> None:
    times = times_of(gaps)
    covers = history(versions[:-1], times, rule)
    now = times[len(versions) - 1]
    plan = plan_calendar_sync(
        covers, CalendarFeed.of(versions[-1], horizon=horizon), rule=rule, now=now
    )
    for op in plan.operations:
        if op.action is SyncAction.OPEN:
            assert op.window.start >= now
        elif op.action is SyncAction.CANCEL:
            assert op.window.start >= now  # only covers that have not started are cancelled
        elif op.action is SyncAction.STOP:
            assert op.previous is not None
            assert op.window == Window(op.previous.start, now)
        else:
            assert op.previous is not None
            assert op.previous.end > now
            if op.previous.start < now:  # a running cover keeps its start
                assert op.window.start == op.previous.start
            else:
                assert op.window.start >= now


@settings(max_examples=200, deadline=None)
@given(versions=evolving_feeds(), gaps=steps, cut=st.integers(1, 4), rule=rules)
def test_resuming_from_persisted_covers_gives_the_same_plans(
    versions: list[list[Mission]], gaps: list[int], cut: int, rule: CalendarRule
) -> None:
    steady: list[MissionCover] = []
    resumed: list[MissionCover] = []
    for index, (feed, now) in enumerate(zip(versions, times_of(gaps), strict=False)):
        if index == cut:  # the process stops; the covers are read back from storage
            stored = json.dumps([c.to_json() for c in resumed])
            resumed = [MissionCover.from_json(item) for item in json.loads(stored)]
        calendar = CalendarFeed.of(feed)
        plan = plan_calendar_sync(steady, calendar, rule=rule, now=now)
        assert plan_calendar_sync(resumed, calendar, rule=rule, now=now) == plan
        steady, resumed = apply_sync_plan(steady, plan), apply_sync_plan(resumed, plan)
