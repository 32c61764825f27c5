from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from polis.kernel import (
    PARIS,
    InvalidInput,
    Window,
    add_months,
    day_count,
    local_midnight,
    parse_instant,
    prorata,
    to_local,
)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        Window(datetime(2025, 1, 1), datetime(2025, 1, 2))
    assert info.value.field == "start"


def test_windows_are_half_open() -> None:
    start = datetime(2025, 6, 1, 8, tzinfo=UTC)
    window = Window(start, start + timedelta(hours=2))
    assert window.contains(start)
    assert window.contains(start + timedelta(hours=2) - timedelta(microseconds=1))
    assert not window.contains(start + timedelta(hours=2))


def test_end_before_start_names_the_end() -> None:
    start = datetime(2025, 6, 1, 8, tzinfo=UTC)
    with pytest.raises(InvalidInput) as info:
        Window(start, start)
    assert info.value.field == "end"


def test_a_paris_night_across_the_march_change_lasts_one_hour_less() -> None:
    # 29→30 March 2025: clocks jump from 02:00 to 03:00 in Europe/Paris
    night = Window.local(datetime(2025, 3, 29, 22), datetime(2025, 3, 30, 6))
    assert night.hours() == Decimal(7)


def test_a_paris_night_across_the_october_change_lasts_one_hour_more() -> None:
    night = Window.local(datetime(2025, 10, 25, 22), datetime(2025, 10, 26, 6))
    assert night.hours() == Decimal(9)


def test_a_wall_time_in_the_spring_gap_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        Window.local(datetime(2025, 3, 30, 2, 30), datetime(2025, 3, 30, 5))
    assert info.value.field == "start"


def test_utc_instants_display_in_paris_time() -> None:
    assert to_local(datetime(2025, 7, 1, 12, tzinfo=UTC)).hour == 14
    assert to_local(datetime(2025, 1, 1, 12, tzinfo=UTC)).hour == 13
    assert local_midnight(date(2025, 7, 1)) == datetime(2025, 6, 30, 22, tzinfo=UTC)
    assert to_local(local_midnight(date(2025, 7, 1))).tzinfo == PARIS


def test_instants_parse_with_offsets_into_utc() -> None:
    assert parse_instant("2025-03-30T03:30:00+02:00") == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert parse_instant("2025-03-30T01:30:00Z").tzinfo == UTC
    with pytest.raises(InvalidInput):
        parse_instant("2025-03-30T01:30:00")
    with pytest.raises(InvalidInput):
        parse_instant("tomorrow", field="start")


def test_month_arithmetic_clips_to_the_last_day() -> None:
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 15), -14) == date(2023, 11, 15)


def test_day_counts_and_prorata_over_a_leap_year() -> None:
    assert day_count(date(2024, 1, 1), date(2025, 1, 1)) == 366
    assert prorata(date(2025, 1, 1), date(2025, 7, 1)) == Decimal(181) / Decimal(365)
    assert prorata(date(2025, 1, 1), date(2026, 1, 1)) == Decimal(1)
    with pytest.raises(InvalidInput):
        day_count(date(2025, 2, 1), date(2025, 1, 1))


def test_window_overlap_and_intersection() -> None:
    base = datetime(2025, 6, 1, tzinfo=UTC)
    a = Window(base, base + timedelta(hours=4))
    b = Window(base + timedelta(hours=2), base + timedelta(hours=6))
    c = Window(base + timedelta(hours=4), base + timedelta(hours=5))
    assert a.overlaps(b)
    assert not a.overlaps(c)  # touching at the end instant is not an overlap
    assert a.intersection(b) == Window(base + timedelta(hours=2), base + timedelta(hours=4))
    assert a.intersection(c) is None
