"""Refunds (early stop, cancellation), ledger entries and monthly statements of on-demand cover."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polis.kernel.errors import InvalidInput
from polis.kernel.time import Window
from polis.ondemand import (
    ChargeKind,
    EntryKind,
    LineKind,
    RefundRule,
    UsageBook,
    WindowState,
    book_of,
    cancel,
    charge_entry,
    charge_from_json,
    charge_to_json,
    extend,
    kept_until,
    month_lines,
    monthly_statement,
    open_window,
    price_time,
    refund_from_json,
    refund_to_json,
    statement_json,
    stop,
)
from polis.ondemand.lines import total_of
from polis.rating.pure import Unit
from tests.unit.test_ondemand_pricing import EQUIPMENT, risk_quote_total, seller
from tests.unit.test_ondemand_windows import paris, utc

D = Decimal


# ---------------------------------------------------------------------------------- early stop


def test_stopping_early_refunds_the_unused_hours_minus_the_fee() -> None:
    sold = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 16))
    stopped = stop(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        sold.window,
        [sold.charge],
        now=paris(2025, 9, 3, 11, 20),
    )
    assert stopped.window.state is WindowState.STOPPED
    assert stopped.window.end == paris(2025, 9, 3, 11, 20)
    # started hours are due: 2 h kept (priced at the 1.50 minimum), 4 h given back, minus 0.50
    kept = risk_quote_total(2, paris(2025, 9, 3, 9, 59))
    sold_total = risk_quote_total(6, paris(2025, 9, 3, 9, 59))
    assert (sold_total, kept) == (D("6.36"), D("3.74"))
    assert stopped.refund.total == -(sold_total - kept - D("0.50")) == D("-2.12")
    fee = [line for line in stopped.refund.lines if line.kind is LineKind.REFUND_FEE]
    assert [line.amount for line in fee] == [D("0.50")]
    assert all(
        line.amount < 0 for line in stopped.refund.lines if line.kind is not LineKind.REFUND_FEE
    )
    assert stopped.entry.kind is EntryKind.REFUND
    assert stopped.entry.total == stopped.refund.total
    assert [(d.day.isoformat(), d.hours) for d in stopped.refund.days] == [("2025-09-03", D(4))]


def test_a_refund_never_goes_below_the_minimum_charge() -> None:
    sold = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 14))  # 1.82 pure
    stopped = stop(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        sold.window,
        [sold.charge],
        now=paris(2025, 9, 3, 10, 5),
    )
    # 1 hour kept would be 0.455 but the minimum 1.50 stays due: pure 1.82 → 1.50
    assert stopped.refund.total == -(
        risk_quote_total(4, paris(2025, 9, 3, 9, 59))
        - risk_quote_total(1, paris(2025, 9, 3, 9, 59))
        - D("0.50")
    )


def test_no_refund_when_it_would_not_exceed_the_fee() -> None:
    sold = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 16))
    stopped = stop(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        sold.window,
        [sold.charge],
        now=paris(2025, 9, 3, 15, 30),
    )
    assert stopped.refund.lines == ()
    assert stopped.refund.total == 0
    assert "does not exceed the refund fee" in stopped.refund.explanation[-1].formula


def test_a_product_without_refund_keeps_the_price_after_the_start() -> None:
    event = seller("event-liability-day", Unit.DAY, items=("gala",))
    sold = event.activate(paris(2025, 9, 3, 8), paris(2025, 9, 6))
    stopped = stop(
        event.subscription,
        event.card,
        event.terms,
        sold.window,
        [sold.charge],
        now=paris(2025, 9, 3, 12),
    )
    assert stopped.window.end == paris(2025, 9, 3, 12)
    assert stopped.refund.total == 0
    assert "no refund after the start" in stopped.refund.explanation[-1].formula


def test_a_day_product_keeps_the_started_local_day_and_refunds_the_next_ones() -> None:
    warehouse = seller("warehouse-goods-day", Unit.DAY, items=("hall-b",), geofence_ref="GEO-7")
    sold = warehouse.activate(paris(2025, 9, 3), paris(2025, 9, 6))
    assert sold.charge.pure == 3 * D("1.53")
    stopped = stop(
        warehouse.subscription,
        warehouse.card,
        warehouse.terms,
        sold.window,
        [sold.charge],
        now=paris(2025, 9, 3, 15),
    )
    assert [d.day.day for d in stopped.refund.days] == [4, 5]
    assert sum((d.amount for d in stopped.refund.days), D(0)) == 2 * D("1.53")
    assert D("-2.00") > stopped.refund.total
    assert any(
        line.kind is LineKind.REFUND_FEE and line.amount == D("2.00")
        for line in stopped.refund.lines
    )


def test_kept_until_follows_the_product_rule() -> None:
    window = open_window(
        "W", "S", "o", Window(paris(2025, 10, 25, 22), paris(2025, 10, 27)), now=utc(2025, 10, 25)
    )
    assert kept_until(RefundRule.NONE, window, paris(2025, 10, 25, 23)) == paris(2025, 10, 27)
    assert kept_until(RefundRule.UNUSED_HOURS, window, paris(2025, 10, 25, 22, 1)) == paris(
        2025, 10, 25, 23
    )
    # the next local midnight after a stop on the 25-hour day
    assert kept_until(RefundRule.UNUSED_DAYS, window, paris(2025, 10, 26, 12)) == paris(
        2025, 10, 27
    )


def test_time_another_window_covers_stays_paid_after_a_stop() -> None:
    a = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 16), wid="A")
    b = EQUIPMENT.activate(paris(2025, 9, 3, 15), paris(2025, 9, 3, 18), book=a.book, wid="B")
    assert b.charge.hours == 2  # 16:00–18:00 only
    stopped = stop(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        a.window,
        [a.charge],
        now=paris(2025, 9, 3, 11, 20),
        others=[b.window],
    )
    # kept: 10–12 (started hours) and 15–16 (covered by B, which did not pay for it): 3 h;
    # given back: 12–15, 3 h
    assert stopped.refund.days[0].hours == 3


def test_a_stop_after_an_extension_re_prices_both_charges() -> None:
    sold = EQUIPMENT.activate(paris(2025, 9, 3, 8), paris(2025, 9, 3, 10))
    longer = extend(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        sold.window,
        paris(2025, 9, 3, 12),
        now=paris(2025, 9, 3, 9),
        book=sold.book,
    )
    stopped = stop(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        longer.window,
        [sold.charge, longer.charge],
        now=paris(2025, 9, 3, 9, 30),
    )
    assert [e.step for e in stopped.refund.explanation[1:3]] == [
        "activation re-priced",
        "extension re-priced",
    ]
    assert stopped.refund.days[0].hours == 2  # the extension's hours 10–12 given back


# -------------------------------------------------------------------------------- cancellation


def test_cancelling_before_the_start_refunds_everything_with_the_fee() -> None:
    sold = EQUIPMENT.activate(paris(2025, 9, 10, 10), paris(2025, 9, 10, 12))
    cancelled = cancel(
        EQUIPMENT.subscription, sold.window, [sold.charge], now=paris(2025, 9, 9, 12)
    )
    assert cancelled.window.state is WindowState.CANCELLED
    assert cancelled.refund.total == -sold.charge.total
    assert any(line.kind is LineKind.FEE for line in cancelled.refund.lines)
    book = book_of("camera-kit", [cancelled.window], [sold.charge], [cancelled.refund])
    assert book == UsageBook()
    again = EQUIPMENT.activate(paris(2025, 9, 10, 10), paris(2025, 9, 10, 12), book=book)
    assert again.charge.total == sold.charge.total


def test_the_book_is_rebuilt_from_stored_windows_charges_and_refunds() -> None:
    a = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 16), wid="A")
    stopped = stop(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        a.window,
        [a.charge],
        now=paris(2025, 9, 3, 11),
    )
    book = book_of("camera-kit", [stopped.window], [a.charge], [stopped.refund])
    assert book.covered == (Window(paris(2025, 9, 3, 10), paris(2025, 9, 3, 11)),)
    day = a.charge.days[0].day
    assert book.charged[day] == D("1.50")  # the minimum stays charged
    assert book.fee_days == frozenset({day})


# ------------------------------------------------------------------------------------- ledger


def test_charges_and_refunds_survive_a_json_round_trip() -> None:
    a = EQUIPMENT.activate(paris(2025, 10, 25, 20), paris(2025, 10, 26, 9), wid="A")
    stopped = stop(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        a.window,
        [a.charge],
        now=paris(2025, 10, 25, 21),
    )
    stored = json.loads(json.dumps(charge_to_json(a.charge)))
    assert charge_from_json(stored) == a.charge
    assert (
        refund_from_json(json.loads(json.dumps(refund_to_json(stopped.refund)))) == stopped.refund
    )
    # a stop priced from the stored charge gives the same refund
    again = stop(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        a.window,
        [charge_from_json(stored)],
        now=paris(2025, 10, 25, 21),
    )
    assert again.refund == stopped.refund


def test_a_ledger_entry_is_json_ready() -> None:
    sold = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 14))
    data = sold.entry.as_dict()
    assert data["kind"] == "charge"
    assert data["total"] == f"{sold.charge.total:.2f}"
    assert data["days"] == [{"day": "2025-09-03", "amount": "1.82", "hours": "4"}]
    assert sum((D(line["amount"]) for line in data["lines"]), D(0)) == sold.charge.total
    assert data["fee_day"] == "2025-09-03"


# --------------------------------------------------------------------------------- statements


def test_a_window_across_the_1st_is_split_at_local_midnight() -> None:
    sold = EQUIPMENT.activate(paris(2025, 8, 31, 22), paris(2025, 9, 1, 2))
    entries = [sold.entry]
    august = monthly_statement("CUS-1", 2025, 8, [sold.window], entries)
    september = monthly_statement("CUS-1", 2025, 9, [sold.window], entries)
    (a,) = august.rows
    (s,) = september.rows
    assert (str(a.start), str(a.end)) == ("2025-08-31 22:00:00+02:00", "2025-09-01 00:00:00+02:00")
    assert (str(s.start), str(s.end)) == ("2025-09-01 00:00:00+02:00", "2025-09-01 02:00:00+02:00")
    assert (a.hours, s.hours) == (D(2), D(2))
    assert a.total + s.total == sold.charge.total
    assert a.taxes + s.taxes == sum(
        (line.amount for line in sold.charge.lines if line.kind is LineKind.TAX), D(0)
    )
    # the fee (and its tax) go to the month of the day that paid it
    assert any(line.kind is LineKind.FEE for line in a.lines)
    assert not any(line.kind is LineKind.FEE for line in s.lines)


def test_a_quiet_month_costs_nothing() -> None:
    sold = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 12))
    quiet = monthly_statement("CUS-1", 2025, 10, [sold.window], [sold.entry])
    assert quiet.rows == ()
    assert quiet.total == 0
    data = statement_json(quiet)
    assert data["windows"] == []
    assert data["totals"] == {
        "windows": 0,
        "hours": "0",
        "price": "0.00",
        "taxes": "0.00",
        "refunds": "0.00",
        "total": "0.00",
    }
    assert data["period"] == {
        "start": "2025-10-01T00:00:00+02:00",
        "end": "2025-11-01T00:00:00+01:00",
    }


def test_a_statement_lists_windows_prices_taxes_refunds_and_totals() -> None:
    a = EQUIPMENT.activate(paris(2025, 9, 3, 10), paris(2025, 9, 3, 16), wid="A")
    b = EQUIPMENT.activate(paris(2025, 9, 12, 20), paris(2025, 9, 13, 1), book=a.book, wid="B")
    stopped = stop(
        EQUIPMENT.subscription,
        EQUIPMENT.card,
        EQUIPMENT.terms,
        a.window,
        [a.charge],
        now=paris(2025, 9, 3, 11),
    )
    windows = [stopped.window, b.window]
    entries = [a.entry, b.entry, stopped.entry]
    statement = monthly_statement("CUS-1", 2025, 9, windows, entries)
    assert [r.window_id for r in statement.rows] == ["A", "B"]
    first = statement.rows[0]
    assert first.state == "stopped"
    assert first.hours == 1
    assert first.refunds == stopped.refund.total
    assert first.price + first.taxes == a.charge.total
    assert statement.total == sum((e.total for e in entries), D(0))
    data = statement_json(statement)
    assert data["month"] == "2025-09"
    assert data["time_zone"] == "Europe/Paris"
    assert data["windows"][1]["duration_hours"] == "5"
    assert data["windows"][1]["start"] == "2025-09-12T20:00:00+02:00"
    assert D(data["totals"]["total"]) == statement.total
    assert sum((D(w["total"]) for w in data["windows"]), D(0)) == statement.total


def test_a_cancelled_window_shows_its_charge_and_its_refund() -> None:
    sold = EQUIPMENT.activate(paris(2025, 9, 10, 10), paris(2025, 9, 10, 12))
    cancelled = cancel(
        EQUIPMENT.subscription, sold.window, [sold.charge], now=paris(2025, 9, 9, 12)
    )
    statement = monthly_statement(
        "CUS-1", 2025, 9, [cancelled.window], [sold.entry, cancelled.entry]
    )
    (row,) = statement.rows
    assert row.state == "cancelled"
    assert row.start is None
    assert row.hours == 0
    assert row.total == 0


def test_a_statement_month_is_checked() -> None:
    with pytest.raises(InvalidInput) as error:
        monthly_statement("CUS-1", 2025, 13, [], [])
    assert error.value.field == "month"


origin = utc(2025, 9, 28)
spans = st.tuples(st.integers(0, 8 * 24), st.integers(1, 60))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans, min_size=1, max_size=5))
def test_month_shares_add_up_to_each_line_to_the_cent(windows: list[tuple[int, int]]) -> None:
    book = UsageBook()
    months: dict[tuple[int, int], Decimal] = defaultdict(lambda: D(0))
    grand = D(0)
    for i, (start, hours) in enumerate(windows):
        window = Window(origin + timedelta(hours=start), origin + timedelta(hours=start + hours))
        charge = price_time(
            EQUIPMENT.card,
            window,
            window_id=f"W-{i}",
            object_ref="camera-kit",
            kind=ChargeKind.ACTIVATION,
            book=book,
            discount=D(0),
            at=origin,
        )
        book = book.with_charge(charge, window)
        entry = charge_entry("SUB-1", charge)
        shares = month_lines(entry)
        for line in entry.lines:
            split = [x.amount for lines in shares.values() for x in lines if x.key == line.key]
            assert sum(split, D(0)) == line.amount
        for month, lines in shares.items():
            months[month] += total_of(lines)
        grand += entry.total
    assert sum(months.values(), D(0)) == grand
