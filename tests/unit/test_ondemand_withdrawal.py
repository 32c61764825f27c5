"""The right of withdrawal of an on-demand subscription (pure): the 14-day deadline in Europe/Paris
calendar days (weekends, holidays, DST, month ends), who has the right, the short-term exclusion,
and what a withdrawal does to each window."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from polis.kernel.time import local_midnight
from polis.ondemand.windows import CoverWindow, WindowState
from polis.ondemand.withdrawal import (
    SaleChannel,
    WindowFate,
    WithdrawalRefused,
    check_withdrawal,
    is_short_term,
    plan_windows,
    withdrawal_right,
)
from tests.ondemand_fixtures import paris, utc

DISTANCE, DOORSTEP = SaleChannel.DISTANCE, SaleChannel.DOORSTEP


def test_the_period_ends_at_the_end_of_the_fourteenth_day_not_counting_the_first() -> None:
    right = withdrawal_right(DISTANCE, paris(2026, 6, 1, 10))  # Monday 1 June
    assert right.from_day == date(2026, 6, 1)
    assert right.last_day == date(2026, 6, 15)  # a Monday
    assert not right.extended
    assert right.deadline == local_midnight(date(2026, 6, 16)) == utc(2026, 6, 15, 22)
    assert right.open_at(right.deadline - timedelta(microseconds=1))
    assert not right.open_at(right.deadline)


def test_a_fourteenth_day_on_a_sunday_is_extended_to_the_monday() -> None:
    right = withdrawal_right(DISTANCE, paris(2026, 3, 1, 10))  # Sunday 1 March
    assert right.last_day == date(2026, 3, 15)
    assert right.deadline_day == date(2026, 3, 16)
    assert right.extended
    assert right.deadline == utc(2026, 3, 16, 23)  # midnight in winter time (+01:00)


def test_a_weekend_followed_by_easter_monday_is_extended_to_the_tuesday() -> None:
    # 00:30 in Paris on Saturday 21 March is still Friday 20 March in UTC: the local day counts
    right = withdrawal_right(DISTANCE, utc(2026, 3, 20, 23, 30))
    assert right.from_day == date(2026, 3, 21)
    assert right.last_day == date(2026, 4, 4)  # Saturday; 5 Sunday (Easter), 6 Easter Monday
    assert right.deadline_day == date(2026, 4, 7)
    assert right.deadline == utc(2026, 4, 7, 22)  # midnight in summer time (+02:00)


def test_a_public_holiday_on_the_fourteenth_day_is_skipped() -> None:
    right = withdrawal_right(DOORSTEP, paris(2026, 4, 17, 9))
    assert right.last_day == date(2026, 5, 1)  # Labour Day, a Friday
    assert right.deadline_day == date(2026, 5, 4)


@pytest.mark.parametrize(
    ("concluded", "deadline"),
    [
        (paris(2026, 3, 20, 12), utc(2026, 4, 3, 22)),  # over the spring change: +02:00 at the end
        (paris(2026, 10, 20, 12), utc(2026, 11, 3, 23)),  # over the autumn change: +01:00
        (paris(2026, 1, 20, 12), utc(2026, 2, 3, 23)),  # over a month end
        (paris(2025, 12, 22, 12), utc(2026, 1, 5, 23)),  # over a year end
    ],
)
def test_the_deadline_is_local_midnight_whatever_the_offset(
    concluded: datetime, deadline: datetime
) -> None:
    assert withdrawal_right(DISTANCE, concluded).deadline == deadline


def test_a_fourteenth_day_in_february_from_the_last_day_of_january() -> None:
    right = withdrawal_right(DISTANCE, paris(2026, 1, 31, 18))
    assert right.last_day == date(2026, 2, 14)  # Saturday
    assert right.deadline_day == date(2026, 2, 16)


def test_distance_selling_runs_from_the_later_receipt_of_the_terms() -> None:
    right = withdrawal_right(DISTANCE, paris(2026, 6, 1, 10), paris(2026, 6, 5, 10))
    assert right.from_day == date(2026, 6, 5)
    assert right.last_day == date(2026, 6, 19)
    earlier = withdrawal_right(DISTANCE, paris(2026, 6, 1, 10), paris(2026, 5, 30, 10))
    assert earlier.from_day == date(2026, 6, 1)


def test_doorstep_selling_runs_from_the_conclusion_only() -> None:
    right = withdrawal_right(DOORSTEP, paris(2026, 6, 1, 10), paris(2026, 6, 5, 10))
    assert right.from_day == date(2026, 6, 1)
    assert right.channel.article == "L112-9"
    assert DISTANCE.article == "L112-2-1"


def test_the_explanation_names_the_article_and_the_extension() -> None:
    right = withdrawal_right(DISTANCE, paris(2026, 3, 1, 10))
    text = " ".join(f"{e.step} {e.formula}" for e in right.explanation)
    assert "L112-2-1" in text
    assert "extended to 2026-03-16" in text


# --- who may withdraw ---------------------------------------------------------------------------


def _refusal(**kwargs: object) -> WithdrawalRefused:
    right = withdrawal_right(
        kwargs.pop("channel", DISTANCE),  # type: ignore[arg-type]
        paris(2026, 6, 1, 10),
    )
    with pytest.raises(WithdrawalRefused) as error:
        check_withdrawal(right, **kwargs)  # type: ignore[arg-type]
    return error.value


def test_a_person_withdraws_within_the_period() -> None:
    right = withdrawal_right(DISTANCE, paris(2026, 6, 1, 10))
    check_withdrawal(right, at=paris(2026, 6, 15, 23, 59), consumer=True)


def test_a_withdrawal_after_the_deadline_is_out_of_time_and_says_when_it_ended() -> None:
    error = _refusal(at=paris(2026, 6, 16, 0, 0), consumer=True)
    assert (error.code, error.field) == ("withdrawal.out_of_time", "at")
    assert error.data["deadline"] == "2026-06-15T22:00:00+00:00"


def test_a_business_has_no_right_of_withdrawal() -> None:
    error = _refusal(at=paris(2026, 6, 2), consumer=False)
    assert (error.code, error.field) == ("withdrawal.not_consumer", "customer")


def test_one_withdraws_only_once() -> None:
    error = _refusal(at=paris(2026, 6, 3), consumer=True, withdrawn_at=paris(2026, 6, 2))
    assert (error.code, error.field) == ("withdrawal.already_withdrawn", "subscription")


def test_a_known_claim_ends_the_right_under_doorstep_selling_only() -> None:
    error = _refusal(channel=DOORSTEP, at=paris(2026, 6, 3), consumer=True, claim_known=True)
    assert (error.code, error.field) == ("withdrawal.claim_known", "claims")
    right = withdrawal_right(DISTANCE, paris(2026, 6, 1, 10))
    check_withdrawal(right, at=paris(2026, 6, 3), consumer=True, claim_known=True)


def test_a_contract_of_less_than_one_month_cannot_be_withdrawn() -> None:
    error = _refusal(at=paris(2026, 6, 2), consumer=True, contract_end=paris(2026, 6, 8, 10))
    assert (error.code, error.field) == ("withdrawal.short_term", "subscription")


def test_one_month_is_the_same_local_date_a_month_later_cut_to_the_month_end() -> None:
    concluded = paris(2026, 1, 31, 10)
    assert is_short_term(concluded, paris(2026, 2, 28, 10))  # a month from 31 January
    assert not is_short_term(concluded, paris(2026, 2, 28, 10, 1))
    assert is_short_term(paris(2026, 3, 10, 9), paris(2026, 4, 10, 9))  # across the DST change
    assert not is_short_term(paris(2026, 3, 10, 9), paris(2026, 4, 10, 10))


def test_a_subscription_without_end_is_never_short_term() -> None:
    assert not is_short_term(paris(2026, 6, 1), None)


# --- what happens to the windows ------------------------------------------------------------------


def _window(wid: str, start: datetime, end: datetime, state: WindowState) -> CoverWindow:
    return CoverWindow(wid, "SUB-1", "camera-1", start, end, state, start, end)


def test_windows_not_started_are_cancelled_running_stopped_and_ended_kept() -> None:
    at = paris(2026, 6, 5, 12)
    windows = [
        _window("W1", paris(2026, 6, 2, 9), paris(2026, 6, 2, 11), WindowState.BOOKED),
        _window("W2", paris(2026, 6, 5, 11), paris(2026, 6, 5, 15), WindowState.BOOKED),
        _window("W3", paris(2026, 6, 6, 9), paris(2026, 6, 6, 11), WindowState.BOOKED),
        _window("W4", paris(2026, 6, 7, 9), paris(2026, 6, 7, 11), WindowState.CANCELLED),
        _window("W5", paris(2026, 6, 5, 10), paris(2026, 6, 5, 13), WindowState.STOPPED),
        _window("W6", at, paris(2026, 6, 5, 14), WindowState.BOOKED),
    ]
    fates = {p.window_id: p.fate for p in plan_windows(windows, at)}
    assert fates == {
        "W1": WindowFate.PERFORMED,
        "W2": WindowFate.STOP,
        "W3": WindowFate.CANCEL,
        "W4": WindowFate.NONE,
        "W5": WindowFate.PERFORMED,  # stopped already: the domain does not stop twice
        "W6": WindowFate.CANCEL,  # starts at the very instant: no cover given yet
    }
