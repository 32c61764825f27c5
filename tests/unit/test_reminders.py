"""Reminders: missions starting soon without cover, once per lead time and recipient."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.kernel import PARIS, InvalidInput, Window
from polis.ondemand.reminders import (
    MESSAGE_PARTLY_UNCOVERED,
    MESSAGE_UNCOVERED,
    Channel,
    Recipient,
    ReminderKey,
    ReminderPlan,
    ReminderRule,
    plan_reminders,
)
from polis.ondemand.triggers_calendar import Mission, MissionKey, MissionStatus

EMAIL = Recipient(Channel.EMAIL, "camille@example.fr")
HOOK = Recipient(Channel.WEBHOOK, "https://partenaire.example/hooks/polis")
DAY, HOUR = timedelta(hours=24), timedelta(hours=1)
SHOOT = Mission(
    MissionKey("tournage@polis.test"),
    Window(datetime(2025, 6, 14, 7, 0, tzinfo=UTC), datetime(2025, 6, 14, 17, 0, tzinfo=UTC)),
    summary="Tournage mariage",
    location="Vincennes",
)


def plan(
    now: datetime,
    missions: list[Mission] | None = None,
    covers: list[Window] | None = None,
    sent: list[ReminderKey] | None = None,
    recipients: list[Recipient] | None = None,
    rule: ReminderRule | None = None,
) -> ReminderPlan:
    return plan_reminders(
        [SHOOT] if missions is None else missions,
        covers or [],
        recipients=recipients or [EMAIL],
        now=now,
        already_sent=sent or [],
        rule=rule or ReminderRule(),
    )


def test_a_mission_without_cover_is_reminded_24_hours_before() -> None:
    now = SHOOT.window.start - DAY + timedelta(minutes=5)
    (reminder,) = plan(now).due
    assert reminder.key == ReminderKey(SHOOT.key, SHOOT.window.start, DAY, EMAIL)
    assert reminder.message_key == MESSAGE_UNCOVERED
    assert reminder.send_at == SHOOT.window.start - DAY
    assert reminder.uncovered == (SHOOT.window,)
    assert reminder.recipient == EMAIL


def test_nothing_is_due_before_the_lead_time_and_the_next_check_is_given() -> None:
    now = SHOOT.window.start - DAY - timedelta(minutes=5)
    result = plan(now)
    assert result.due == ()
    assert result.next_check_at == SHOOT.window.start - DAY


def test_every_recipient_gets_one_on_its_channel() -> None:
    now = SHOOT.window.start - HOUR
    result = plan(now, recipients=[HOOK, EMAIL, EMAIL])
    assert [r.recipient for r in result.due] == [EMAIL, HOOK]


def test_a_covered_mission_is_not_reminded() -> None:
    now = SHOOT.window.start - HOUR
    margins = Window(SHOOT.window.start - HOUR, SHOOT.window.end + HOUR)
    assert plan(now, covers=[margins]).due == ()
    halves = [
        Window(SHOOT.window.start, SHOOT.window.start + 5 * HOUR),
        Window(SHOOT.window.start + 5 * HOUR, SHOOT.window.end),
    ]
    assert plan(now, covers=halves).due == ()


def test_a_partly_covered_mission_is_reminded_with_the_uncovered_part() -> None:
    now = SHOOT.window.start - HOUR
    morning = Window(SHOOT.window.start, SHOOT.window.start + 4 * HOUR)
    (reminder,) = plan(now, covers=[morning]).due
    assert reminder.message_key == MESSAGE_PARTLY_UNCOVERED
    assert reminder.uncovered == (Window(morning.end, SHOOT.window.end),)


def test_cancelled_missions_are_not_reminded_and_tentative_ones_are_unless_excluded() -> None:
    now = SHOOT.window.start - HOUR
    cancelled = Mission(MissionKey("c"), SHOOT.window, MissionStatus.CANCELLED)
    tentative = Mission(MissionKey("t"), SHOOT.window, MissionStatus.TENTATIVE)
    assert plan(now, missions=[cancelled]).due == ()
    assert len(plan(now, missions=[tentative]).due) == 1
    assert plan(now, missions=[tentative], rule=ReminderRule(include_tentative=False)).due == ()


def test_a_mission_that_has_started_is_not_reminded() -> None:
    assert plan(SHOOT.window.start).due == ()
    assert plan(SHOOT.window.start + HOUR).next_check_at is None


def test_a_reminder_already_sent_is_not_sent_again() -> None:
    now = SHOOT.window.start - DAY
    (first,) = plan(now).due
    assert plan(now + timedelta(minutes=30), sent=[first.key]).due == ()


def test_when_both_reminders_are_due_only_the_most_urgent_goes_and_the_other_is_superseded() -> (
    None
):
    now = SHOOT.window.start - timedelta(minutes=30)  # the service was down for a day
    result = plan(now)
    assert [r.key.lead for r in result.due] == [HOUR]
    assert result.superseded == (ReminderKey(SHOOT.key, SHOOT.window.start, DAY, EMAIL),)
    after = plan(now + timedelta(minutes=1), sent=[result.due[0].key, *result.superseded])
    assert after.due == ()
    assert after.superseded == ()


def test_the_one_hour_reminder_follows_the_24_hour_one() -> None:
    day_before = plan(SHOOT.window.start - DAY)
    hour_before = plan(SHOOT.window.start - HOUR, sent=[r.key for r in day_before.due])
    assert [r.key.lead for r in hour_before.due] == [HOUR]
    assert hour_before.superseded == ()


def test_a_mission_that_moves_gets_fresh_reminders_for_its_new_time() -> None:
    (sent,) = plan(SHOOT.window.start - DAY).due
    moved = Mission(SHOOT.key, Window(SHOOT.window.start + 2 * HOUR, SHOOT.window.end + 2 * HOUR))
    (again,) = plan(moved.window.start - DAY, missions=[moved], sent=[sent.key]).due
    assert again.key.mission_start == moved.window.start


def test_lead_times_are_real_hours_across_the_march_change() -> None:
    # a mission at 10:00 on Sunday 30 March 2025 (CEST); 24 real hours before is Saturday 09:00 CET
    sunday = Mission(
        MissionKey("dimanche"),
        Window(datetime(2025, 3, 30, 8, 0, tzinfo=UTC), datetime(2025, 3, 30, 12, 0, tzinfo=UTC)),
    )
    (reminder,) = plan(datetime(2025, 3, 29, 8, 0, tzinfo=UTC), missions=[sunday]).due
    local = reminder.send_at.astimezone(PARIS)
    assert (local.day, local.hour) == (29, 9)
    assert sunday.window.start.astimezone(PARIS).hour == 10


def test_message_parameters_are_in_the_insureds_zone() -> None:
    (reminder,) = plan(SHOOT.window.start - HOUR).due
    params = reminder.params()
    assert params["mission"] == "Tournage mariage"
    assert params["location"] == "Vincennes"
    assert params["starts_at"] == "2025-06-14T09:00:00+02:00"
    assert params["time_zone"] == "Europe/Paris"
    assert params["lead_hours"] == "1"
    assert params["uncovered_from"] == "2025-06-14T09:00:00+02:00"


def test_the_next_check_is_the_earliest_future_lead() -> None:
    later = Mission(MissionKey("later"), Window(SHOOT.window.start + DAY, SHOOT.window.end + DAY))
    now = SHOOT.window.start - 2 * HOUR
    assert plan(now, missions=[SHOOT, later]).next_check_at == SHOOT.window.start - HOUR


def test_reminders_come_in_a_deterministic_order() -> None:
    other = Mission(MissionKey("autre"), SHOOT.window)
    now = SHOOT.window.start - HOUR
    forward = plan(now, missions=[SHOOT, other], recipients=[EMAIL, HOOK])
    backward = plan(now, missions=[other, SHOOT], recipients=[HOOK, EMAIL])
    assert forward == backward
    assert [r.key.mission.uid for r in forward.due] == [
        "autre",
        "autre",
        "tournage@polis.test",
        "tournage@polis.test",
    ]


def test_a_mission_given_twice_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        plan(SHOOT.window.start - HOUR, missions=[SHOOT, SHOOT])
    assert info.value.field == "missions"


@pytest.mark.parametrize(
    "leads",
    [(), (timedelta(0),), (HOUR, HOUR), (-HOUR,)],
    ids=["none", "zero", "twice", "negative"],
)
def test_lead_times_are_validated(leads: tuple[timedelta, ...]) -> None:
    with pytest.raises(InvalidInput) as info:
        ReminderRule(leads=leads)
    assert info.value.field == "leads"


def test_recipients_need_an_address() -> None:
    with pytest.raises(InvalidInput) as info:
        Recipient(Channel.EMAIL, " ")
    assert info.value.field == "address"


def test_reminder_keys_survive_json() -> None:
    key = ReminderKey(
        MissionKey("tournee", datetime(2025, 4, 12, 6, tzinfo=UTC)), SHOOT.window.start, DAY, HOOK
    )
    assert ReminderKey.from_json(json.loads(json.dumps(key.to_json()))) == key
    assert key.text == (
        "tournee/20250412T060000Z|20250614T070000Z|86400s|webhook:https://partenaire.example/hooks/polis"
    )
    with pytest.raises(InvalidInput) as info:
        ReminderKey.from_json({**key.to_json(), "channel": "sms"})
    assert info.value.field == "channel"
    with pytest.raises(InvalidInput):
        ReminderKey.from_json({"mission": "x"})


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

BASE = datetime(2025, 10, 24, 0, 0, tzinfo=UTC)  # the weekend of the October change
QUARTER = timedelta(minutes=15)


@st.composite
def agendas(draw: st.DrawFn) -> list[Mission]:
    missions = []
    for index in range(draw(st.integers(0, 5))):
        start = BASE + QUARTER * draw(st.integers(0, 400))
        missions.append(
            Mission(
                MissionKey(f"m{index}"),
                Window(start, start + QUARTER * draw(st.integers(1, 40))),
                draw(st.sampled_from(list(MissionStatus))),
            )
        )
    return missions


covers = st.lists(
    st.tuples(st.integers(0, 400), st.integers(1, 40)).map(
        lambda t: Window(BASE + QUARTER * t[0], BASE + QUARTER * (t[0] + t[1]))
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    agenda=agendas(), windows=covers, checks=st.lists(st.integers(0, 40), min_size=1, max_size=30)
)
def test_each_reminder_is_sent_or_superseded_at_most_once_and_only_before_the_mission(
    agenda: list[Mission], windows: list[Window], checks: list[int]
) -> None:
    # a scheduler that checks at irregular instants, recording what it sends and supersedes
    done: list[ReminderKey] = []
    now = BASE - DAY
    for gap in checks:
        now += QUARTER * gap
        result = plan_reminders(
            agenda, windows, recipients=[EMAIL, HOOK], now=now, already_sent=done
        )
        for reminder in result.due:
            assert reminder.send_at <= now < reminder.mission.window.start
            assert reminder.uncovered
        done.extend(r.key for r in result.due)
        done.extend(result.superseded)
        assert (
            plan_reminders(
                agenda, windows, recipients=[EMAIL, HOOK], now=now, already_sent=done
            ).due
            == ()
        )
    assert len(done) == len(set(done))
