"""The insurer's portfolio maths (pure): exposure, written and earned premium, claims, ratios,
credibility and drift alerts — hand-computed figures and invariants (Hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polis.kernel.errors import InvalidInput
from polis.kernel.time import UTC, Window
from polis.ondemand.drift import Direction, credibility, drift_check
from polis.ondemand.portfolio import ClaimFact, EntryFact, Portfolio, WindowFact, build_portfolio
from polis.services.ondemand_portfolio import parse_period

D = Decimal
PERIOD = Window(datetime(2026, 10, 31, 23, tzinfo=UTC), datetime(2026, 11, 30, 23, tzinfo=UTC))
AS_OF = datetime(2026, 11, 15, 12, tzinfo=UTC)
PRODUCT = "equipment-micro"


def t(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def window(
    wid: str, obj: str, start: datetime, end: datetime, *, cancelled: bool = False, si: str = "1000"
) -> WindowFact:
    return WindowFact(wid, "P1", PRODUCT, obj, start, end, cancelled, D(si))


def worked_example() -> Portfolio:
    """The example of docs/on-demand.md ("Insurer's side")."""
    windows = [
        window("W1", "A", t(31, 21, month=10), t(1, 1)),  # 2 of its 4 hours in the period
        window("W2", "A", t(10, 8), t(10, 12)),
        window("W3", "A", t(10, 10), t(10, 14)),  # overlaps W2: only 2 new hours billed
        window("W4", "B", t(15, 10), t(15, 16), si="3000"),  # in force at 12:00
        window("W5", "C", t(25, 10), t(25, 12), cancelled=True),
        window("W6", "B", t(20, 10), t(20, 12), si="3000"),  # scheduled: written, not earned
    ]
    entries = [
        EntryFact("W1", t(31, 20, month=10), D("10.00"), D("8")),
        EntryFact("W2", t(10, 7), D("8.00"), D("6")),
        EntryFact("W3", t(10, 9), D("4.00"), D("3")),
        EntryFact("W4", t(15, 9), D("12.00"), D("9")),
        EntryFact("W5", t(5, 9), D("5.00"), D("4")),
        EntryFact("W5", t(6, 9), D("-5.00"), D("-4")),
        EntryFact("W6", t(14, 9), D("3.00"), D("2")),
    ]
    claims = [
        ClaimFact("C1", "P1", PRODUCT, t(10, 9), True, D("100"), D("10"), D("50")),
        ClaimFact("C2", "P1", PRODUCT, t(11, 9), False, D(0), D(0), D(0)),  # refused
        ClaimFact("C3", "P1", PRODUCT, t(20, 9, month=10), True, D("999"), D(0), D(0)),
    ]
    return build_portfolio(PERIOD, AS_OF, windows, entries, claims)


def test_the_worked_example_gives_the_hand_computed_figures() -> None:
    portfolio = worked_example()
    (line,) = portfolio.products
    f = line.figures
    assert f.activations == 4  # W2, W3, W4, W6: W1 started before, W5 was cancelled
    assert f.hours == D(10)  # A: 2 h of W1 + 6 h of W2 ∪ W3; B: 2 h of W4 elapsed
    assert f.written == D("27.00")  # 8 + 4 + 12 + (5 − 5) + 3; W1 was written before
    assert f.earned == D("21.00")  # 10 × 2/4 + 8 + 4 + 12 × 2/6
    assert f.earned_pure == D("16.00")  # 8 × 2/4 + 6 + 3 + 9 × 2/6
    assert (f.in_force, f.sums_insured) == (1, D("3000.00"))
    assert (f.claims, f.incurred) == (1, D("140"))  # 100 − 10 + 50; refused not counted
    assert line.frequency == D("100.0000")  # 1 / 10 h × 1000
    assert line.cost_per_hour == D("14.0000")
    assert line.priced_per_hour == D("1.6000")
    assert line.loss_ratio == D("6.6667")  # 140 / 21
    assert line.drift is not None
    assert (line.drift.credibility, line.drift.suggested_per_hour) == (D("0.0304"), D("1.9770"))
    assert line.drift.drift == D("0.2356")  # 1.9770 / 1.6 − 1
    assert portfolio.alerts == (line.drift,)
    assert line.drift.direction is Direction.UNDER_PRICED


def test_every_figure_is_explained_with_its_formula() -> None:
    (line,) = worked_example().products
    steps = {s.step: s for s in line.explanation}
    assert steps["loss ratio"].formula == "incurred / earned premium = 140.00 / 21.00"
    assert steps["loss ratio"].amount == D("6.6667")
    assert steps["claims frequency per 1,000 h"].formula == "1 claims / 10 h × 1000"
    assert line.drift is not None
    formulas = [s.formula for s in line.drift.explanation]
    assert formulas[0] == "Z = min(1, √(n / n_full)) = min(1, √(1 / 1082)) = 0.0304"
    assert "0.0304 × 14 + 0.9696 × 1.6 = 1.977" in formulas[1]


def test_credibility_is_the_square_root_rule_capped_at_one() -> None:
    assert credibility(0) == D("0.0000")
    assert credibility(2) == D("0.0430")
    assert credibility(271) == D("0.5005")
    assert credibility(1082) == credibility(5000) == D("1.0000")
    with pytest.raises(InvalidInput):
        credibility(-1)


def test_two_claims_do_not_raise_an_alarm_by_themselves_but_a_full_book_does() -> None:
    few = drift_check(
        None, PRODUCT, claims=2, observed_per_hour=D("2.00"), priced_per_hour=D("1.00")
    )
    assert (few.alert, few.direction, few.drift) == (False, None, D("0.0430"))
    many = drift_check(
        None, PRODUCT, claims=1082, observed_per_hour=D("1.20"), priced_per_hour=D("1.00")
    )
    assert (many.alert, many.direction, many.suggested_per_hour) == (
        True,
        Direction.UNDER_PRICED,
        D("1.2000"),
    )
    cheap = drift_check(
        None, PRODUCT, claims=1082, observed_per_hour=D("0.50"), priced_per_hour=D("1.00")
    )
    assert cheap.direction is Direction.OVER_PRICED
    with pytest.raises(InvalidInput):
        drift_check(None, PRODUCT, claims=1, observed_per_hour=D(1), priced_per_hour=D(0))


def test_a_period_without_exposure_has_no_ratio_and_no_drift() -> None:
    portfolio = build_portfolio(PERIOD, AS_OF, [], [], [])
    assert portfolio.products == ()
    total = portfolio.total
    assert (total.frequency, total.cost_per_hour, total.loss_ratio, total.drift) == (
        None,
        None,
        None,
        None,
    )


def test_an_entry_of_an_unknown_window_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        build_portfolio(PERIOD, AS_OF, [], [EntryFact("W9", t(2, 9), D(1), D(1))], [])
    assert raised.value.field == "entries"


# --- invariants -----------------------------------------------------------------------------

START = PERIOD.start
windows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["P1", "P2"]),
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 3),  # object
        st.integers(-2000, 45_000),  # start, minutes after the period's start
        st.integers(1, 3000),  # duration, minutes
        st.booleans(),  # cancelled
        st.integers(0, 50_000),  # premium, cents
    ),
    max_size=25,
)


def _facts(
    drawn: list[tuple[str, str, int, int, int, bool, int]],
) -> tuple[list[WindowFact], list[EntryFact]]:
    windows, entries = [], []
    for i, (partner, product, obj, start, minutes, cancelled, cents) in enumerate(drawn):
        begin = START + timedelta(minutes=start)
        windows.append(
            WindowFact(
                f"W{i}",
                partner,
                product,
                f"{partner}/{product}/{obj}",
                begin,
                begin + timedelta(minutes=minutes),
                cancelled,
                D(1000),
            )
        )
        amount = D(cents) / 100
        entries.append(EntryFact(f"W{i}", START, amount, amount * D("0.7")))
    return windows, entries


@settings(max_examples=150, deadline=None)
@given(windows_strategy, st.integers(0, 50_000))
def test_lines_add_up_and_earned_never_exceeds_written(
    drawn: list[tuple[str, str, int, int, int, bool, int]], as_of_minutes: int
) -> None:
    windows, entries = _facts(drawn)
    as_of = START + timedelta(minutes=as_of_minutes)
    portfolio = build_portfolio(PERIOD, as_of, windows, entries, [])
    total = portfolio.total.figures
    for lines in (portfolio.products, portfolio.partners, portfolio.cells):
        assert sum((x.figures.exposure for x in lines), timedelta(0)) == total.exposure
        assert sum((x.figures.earned for x in lines), D(0)) == total.earned
        assert sum((x.figures.activations for x in lines), 0) == total.activations
    for line in portfolio.cells:
        assert line.figures.earned <= line.figures.written  # every entry is dated in the period
        assert line.figures.earned_pure <= line.figures.earned
    elapsed = Window(START, max(min(PERIOD.end, as_of), START + timedelta(microseconds=1)))
    clipped = sum(
        (
            part.duration
            for w in windows
            if not w.cancelled
            and (part := Window(w.start, w.end).intersection(elapsed)) is not None
        ),
        timedelta(0),
    )
    assert total.exposure <= clipped  # overlapping windows of an object count once


@settings(max_examples=100, deadline=None)
@given(windows_strategy)
def test_once_every_window_has_ended_inside_the_period_all_premium_is_earned(
    drawn: list[tuple[str, str, int, int, int, bool, int]],
) -> None:
    inside = [d for d in drawn if d[3] >= 0 and d[3] + d[4] <= 40_000]
    windows, entries = _facts(inside)
    portfolio = build_portfolio(PERIOD, PERIOD.end, windows, entries, [])
    for line in portfolio.cells:
        live = [w for w in windows if (w.partner, w.product) == (line.partner, line.product)]
        if all(w.cancelled for w in live):
            continue
        expected = sum(
            (
                e.premium
                for e in entries
                for w in live
                if e.window_id == w.window_id and not w.cancelled
            ),
            D(0),
        )
        assert line.figures.earned == expected


def test_a_period_of_paris_dates_lasts_what_the_clocks_say() -> None:
    autumn = parse_period("2026-10-25", "2026-10-26", now=AS_OF)
    assert autumn.duration == timedelta(hours=25)  # the hour lived twice counts twice
    assert autumn.start == datetime(2026, 10, 24, 22, tzinfo=UTC)
    spring = parse_period("2026-03-29", "2026-03-30T00:00", now=AS_OF)
    assert spring.duration == timedelta(hours=23)
    default = parse_period(None, None, now=AS_OF)
    assert (default.start, default.end) == (datetime(2025, 11, 14, 23, tzinfo=UTC), AS_OF)


def test_exposure_across_the_autumn_change_is_real_elapsed_time() -> None:
    night = window(
        "N", "A", datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 5, tzinfo=UTC)
    )
    # 00:00 → 06:00 on the wall clock of 25 October 2026 lasts 7 hours
    portfolio = build_portfolio(
        parse_period("2026-10-01", "2026-11-01", now=AS_OF), AS_OF, [night], [], []
    )
    assert portfolio.total.figures.hours == D(7)
