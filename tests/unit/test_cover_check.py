"""The cover check: windows to the instant (half-open, UTC), perils, exclusions, waiting periods;
and the declaration deadlines (late is flagged, never refused)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from polis.claims import (
    CoverRefusal,
    CoverTerms,
    DeclarationDeadline,
    Exclusion,
    WaitingFrom,
    add_working_days,
    check_cover,
    check_declaration,
    french_public_holidays,
    period_window,
)
from polis.kernel.errors import InvalidInput
from polis.kernel.time import PARIS, Window

UTC = dt.UTC
START = dt.datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
END = dt.datetime(2025, 6, 1, 18, 0, tzinfo=UTC)
WAR = Exclusion("war", "Loss caused by war or civil war")
DRUNK = Exclusion("drunk_driving", "Driver over the legal alcohol limit", frozenset({"collision"}))


def terms(**changes: Any) -> CoverTerms:
    """A one-day on-demand drone cover, 08:00–18:00 UTC, fire and theft."""
    base = CoverTerms(
        policy_id="POL-1",
        cover_id="drone",
        perils=frozenset({"fire", "theft", "collision"}),
        exclusions=(WAR, DRUNK),
        windows=(Window(START, END),),
    )
    return replace(base, **changes)


def test_a_loss_at_the_exact_start_of_the_window_is_covered() -> None:
    decision = check_cover(terms(), START, "fire")
    assert (decision.covered, decision.reason) == (True, None)
    assert decision.window == Window(START, END)


def test_a_loss_at_the_exact_end_of_the_window_is_not_covered() -> None:
    decision = check_cover(terms(), END, "fire")
    assert (decision.covered, decision.reason) == (False, "outside_window")
    assert decision.refusal is CoverRefusal.OUTSIDE_WINDOW


def test_the_instant_is_compared_in_utc_whatever_its_offset() -> None:
    # 19:59 in Paris summer time (UTC+2) is 17:59 UTC: inside; 20:00 is the end
    assert check_cover(terms(), dt.datetime(2025, 6, 1, 19, 59, tzinfo=PARIS), "fire").covered
    assert not check_cover(terms(), dt.datetime(2025, 6, 1, 20, 0, tzinfo=PARIS), "fire").covered


def test_a_naive_loss_instant_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        check_cover(terms(), dt.datetime(2025, 6, 1, 10, 0), "fire")
    assert error.value.field == "cover.loss_at"


def test_a_loss_between_two_on_demand_windows_is_outside() -> None:
    second = Window(dt.datetime(2025, 6, 3, 8, tzinfo=UTC), dt.datetime(2025, 6, 3, 18, tzinfo=UTC))
    cover = terms(windows=(Window(START, END), second))
    assert check_cover(cover, dt.datetime(2025, 6, 2, 12, tzinfo=UTC), "fire").reason == (
        "outside_window"
    )
    assert check_cover(cover, dt.datetime(2025, 6, 3, 12, tzinfo=UTC), "fire").window == second


def test_a_peril_not_covered_is_refused() -> None:
    decision = check_cover(terms(), START, "flood")
    assert decision.reason == "peril_not_covered"


def test_the_window_is_checked_before_the_peril() -> None:
    assert check_cover(terms(), END, "flood").reason == "outside_window"


def test_an_exclusion_applies_when_its_circumstance_is_present() -> None:
    decision = check_cover(terms(), START, "fire", ["war"])
    assert (decision.covered, decision.reason) == (False, "excluded:war")
    assert decision.exclusion == WAR
    assert "civil war" in decision.label


def test_an_exclusion_limited_to_some_perils_does_not_touch_the_others() -> None:
    assert check_cover(terms(), START, "collision", ["drunk_driving"]).reason == (
        "excluded:drunk_driving"
    )
    assert check_cover(terms(), START, "fire", ["drunk_driving"]).covered


def test_a_loss_during_the_waiting_period_is_refused() -> None:
    cover = terms(waiting_period=dt.timedelta(hours=2))
    decision = check_cover(cover, START + dt.timedelta(hours=1, minutes=59), "theft")
    assert decision.reason == "waiting_period"
    assert decision.waiting_until == START + dt.timedelta(hours=2)


def test_a_loss_at_the_exact_end_of_the_waiting_period_is_covered() -> None:
    cover = terms(waiting_period=dt.timedelta(hours=2))
    assert check_cover(cover, START + dt.timedelta(hours=2), "theft").covered


def test_a_waiting_period_from_the_policy_start_is_over_in_later_windows() -> None:
    later = Window(dt.datetime(2025, 7, 1, 8, tzinfo=UTC), dt.datetime(2025, 7, 1, 18, tzinfo=UTC))
    cover = terms(
        windows=(Window(START, END), later),
        waiting_period=dt.timedelta(days=30),
        waiting_from=WaitingFrom.POLICY_START,
    )
    assert check_cover(cover, START + dt.timedelta(hours=1), "theft").reason == "waiting_period"
    # 2025-06-01 08:00 + 30 days = 2025-07-01 08:00: the later window starts exactly then
    assert check_cover(cover, later.start, "theft").covered


def test_a_waiting_period_for_theft_only_does_not_delay_fire() -> None:
    cover = terms(waiting_period=dt.timedelta(days=1), waiting_perils=frozenset({"theft"}))
    assert check_cover(cover, START, "fire").covered
    assert check_cover(cover, START, "theft").reason == "waiting_period"


def test_an_annual_period_runs_from_local_midnight_to_local_midnight() -> None:
    window = period_window(dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    assert window.start == dt.datetime(2024, 12, 31, 23, 0, tzinfo=UTC)
    cover = terms(windows=(window,))
    assert not check_cover(cover, dt.datetime(2026, 1, 1, 0, 0, tzinfo=PARIS), "fire").covered
    assert check_cover(cover, dt.datetime(2025, 12, 31, 23, 59, tzinfo=PARIS), "fire").covered


# --- declaration deadlines --------------------------------------------------------------------


def test_french_public_holidays_include_the_moving_feasts() -> None:
    # Easter 2025 is 20 April: Easter Monday 21 April, Ascension 29 May, Whit Monday 9 June
    holidays = french_public_holidays(2025)
    assert {dt.date(2025, 4, 21), dt.date(2025, 5, 29), dt.date(2025, 6, 9)} <= holidays
    assert dt.date(2024, 4, 1) in french_public_holidays(2024)
    assert len(holidays) == 11


def test_working_days_skip_weekends_and_public_holidays() -> None:
    # Wednesday 30 April 2025 + 2 working days: 1 May is a holiday → Friday 2, Monday 5 May
    assert add_working_days(dt.date(2025, 4, 30), 2) == dt.date(2025, 5, 5)


def test_a_theft_declared_after_two_working_days_is_flagged_late_not_refused() -> None:
    known = dt.datetime(2025, 6, 6, 22, 0, tzinfo=PARIS)  # Friday
    in_time = check_declaration({}, "theft", known, dt.datetime(2025, 6, 11, 9, tzinfo=PARIS))
    # Friday + 2 working days: Monday 9 June is Whit Monday → Tuesday 10, Wednesday 11
    assert (in_time.due, in_time.late) == (dt.date(2025, 6, 11), False)
    late = check_declaration({}, "theft", known, dt.datetime(2025, 6, 12, 9, tzinfo=PARIS))
    assert late.late
    assert "LATE" in late.explanation


def test_the_contract_deadline_of_the_peril_replaces_the_default() -> None:
    deadlines = {"*": DeclarationDeadline(10, working_days=False)}
    known = dt.datetime(2025, 6, 1, 12, tzinfo=UTC)
    result = check_declaration(deadlines, "fire", known, dt.datetime(2025, 6, 12, 12, tzinfo=UTC))
    assert (result.due, result.late) == (dt.date(2025, 6, 11), True)


def test_a_declaration_before_the_loss_was_known_is_refused() -> None:
    known = dt.datetime(2025, 6, 5, 12, tzinfo=UTC)
    with pytest.raises(InvalidInput) as error:
        check_declaration({}, "fire", known, dt.datetime(2025, 6, 1, 12, tzinfo=UTC))
    assert error.value.field == "cover.declared_at"
