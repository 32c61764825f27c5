"""Billing: ledger entries (charge, refund) and the monthly statement.

**Ledger.** Every priced activation or extension is a ``charge`` entry, every refund a ``refund``
entry (negative lines, and a positive refund fee). An entry keeps, for each Europe/Paris day, the
exact pure amount and hours it charged or gave back: that is how it is split between months. The
persistence layer stores entries as they are; the sum of a customer's entries is what they owe.

**Statement.** By Europe/Paris calendar month ``[local midnight of the 1st, local midnight of the
next 1st)``. A window is listed in a month when it covers time in it or an entry falls in it; a window
spanning two months is **split at local midnight of the 1st**: each month shows the part of the
window inside it (local start/end, real hours) and its share of each entry's lines — the lines of
time (premium, surcharges, taxes, contributions) in proportion to the exact pure amount of that
entry's days in each month (hours when the pure is zero), split with kernel ``allocate`` so no cent
is lost; the fee and the tax on it in the month of the day that paid the fee; a refund fee in the
month of the refund's first day. A **quiet month costs nothing**: no fixed fee, an empty statement
with totals of 0.00.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from polis.kernel.errors import InvalidInput
from polis.kernel.money import allocate
from polis.kernel.time import to_local
from polis.ondemand.intervals import month_window
from polis.ondemand.lines import Line, LineKind, total_of
from polis.ondemand.pricing import Charge
from polis.ondemand.refunds import Refund
from polis.ondemand.windows import CoverWindow
from polis.rating.text import show

__all__ = [
    "EntryKind",
    "LedgerDay",
    "LedgerEntry",
    "MonthlyStatement",
    "StatementRow",
    "charge_entry",
    "month_lines",
    "monthly_statement",
    "refund_entry",
    "statement_json",
]

ZERO = Decimal("0.00")
Month = tuple[int, int]


class EntryKind(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class LedgerDay:
    day: date
    amount: Decimal  # exact pure amount charged (or given back, positive)
    hours: Decimal


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    kind: EntryKind
    subscription_id: str
    window_id: str
    object_ref: str
    at: datetime
    due_date: date
    lines: tuple[Line, ...]
    days: tuple[LedgerDay, ...]
    fee_day: date | None
    description: str

    @property
    def total(self) -> Decimal:
        return total_of(self.lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings)."""
        return {
            "kind": self.kind.value,
            "subscription_id": self.subscription_id,
            "window_id": self.window_id,
            "object_ref": self.object_ref,
            "at": self.at.isoformat(),
            "due_date": self.due_date.isoformat(),
            "description": self.description,
            "lines": [_line_json(line) for line in self.lines],
            "days": [
                {"day": d.day.isoformat(), "amount": show(d.amount), "hours": show(d.hours)}
                for d in self.days
            ],
            "fee_day": self.fee_day.isoformat() if self.fee_day else None,
            "total": f"{self.total:.2f}",
        }


def charge_entry(subscription_id: str, charge: Charge) -> LedgerEntry:
    days = tuple(LedgerDay(d.day, d.charged, d.hours) for d in charge.days)
    return LedgerEntry(
        EntryKind.CHARGE,
        subscription_id,
        charge.window_id,
        charge.object_ref,
        charge.at,
        charge.due_date,
        charge.lines,
        days,
        charge.fee_day,
        f"{charge.kind.value}: {show(charge.hours)} h of new cover per {charge.unit.value}",
    )


def refund_entry(subscription_id: str, refund: Refund) -> LedgerEntry:
    days = tuple(LedgerDay(d.day, d.amount, d.hours) for d in refund.days)
    return LedgerEntry(
        EntryKind.REFUND,
        subscription_id,
        refund.window_id,
        refund.object_ref,
        refund.at,
        to_local(refund.at).date(),
        refund.lines,
        days,
        refund.released_fee_days[0] if refund.released_fee_days else None,
        f"refund ({refund.reason})",
    )


# ------------------------------------------------------------------------------ month split


def _month(day: date) -> Month:
    return (day.year, day.month)


def month_lines(entry: LedgerEntry) -> dict[Month, tuple[Line, ...]]:
    """The entry's lines split between the Europe/Paris months of its days (see module doc)."""
    if not entry.lines:
        return {}
    months = sorted({_month(d.day) for d in entry.days}) or [_month(entry.due_date)]
    weights = [sum((d.amount for d in entry.days if _month(d.day) == m), ZERO) for m in months]
    if not any(weights):
        weights = [sum((d.hours for d in entry.days if _month(d.day) == m), ZERO) for m in months]
    if not any(weights) or any(w < 0 for w in weights):
        weights = [Decimal(1)] + [ZERO] * (len(months) - 1)
    fee_month = _month(entry.fee_day) if entry.fee_day else months[0]
    parts: dict[Month, list[Line]] = {m: [] for m in {*months, fee_month}}
    for line in entry.lines:
        if line.is_fee_part or line.kind is LineKind.REFUND_FEE:
            target = fee_month if line.is_fee_part else months[0]
            parts[target].append(line)
            continue
        for month, share in zip(months, allocate(line.amount, weights), strict=True):
            if share:
                parts[month].append(
                    Line(line.kind, line.name, line.cover, share, line.rate, None, line.reference)
                )
    return {m: tuple(lines) for m, lines in parts.items() if lines}


# -------------------------------------------------------------------------------- statement


@dataclass(frozen=True, slots=True)
class StatementRow:
    """One window in one month: its part inside the month, the price, taxes and refunds there."""

    window_id: str
    object_ref: str
    state: str
    start: datetime | None  # local (Europe/Paris), clipped to the month; None: no time in it
    end: datetime | None
    window_start: datetime
    window_end: datetime
    hours: Decimal
    price: Decimal  # charged, taxes excluded (net premium, surcharges, contributions, fees)
    taxes: Decimal  # taxes of the charges
    refunds: Decimal  # ≤ 0: money given back (all lines of the refunds, fee deducted)
    lines: tuple[Line, ...]

    @property
    def total(self) -> Decimal:
        return self.price + self.taxes + self.refunds


@dataclass(frozen=True, slots=True)
class MonthlyStatement:
    customer_id: str
    year: int
    month: int
    start: datetime  # local midnight of the 1st
    end: datetime  # local midnight of the next 1st
    rows: tuple[StatementRow, ...]

    @property
    def price(self) -> Decimal:
        return sum((r.price for r in self.rows), ZERO)

    @property
    def taxes(self) -> Decimal:
        return sum((r.taxes for r in self.rows), ZERO)

    @property
    def refunds(self) -> Decimal:
        return sum((r.refunds for r in self.rows), ZERO)

    @property
    def total(self) -> Decimal:
        return sum((r.total for r in self.rows), ZERO)

    @property
    def hours(self) -> Decimal:
        return sum((r.hours for r in self.rows), Decimal(0))


def monthly_statement(
    customer_id: str,
    year: int,
    month: int,
    windows: Iterable[CoverWindow],
    entries: Iterable[LedgerEntry],
) -> MonthlyStatement:
    """The statement of ``year-month`` from the customer's windows and ledger entries."""
    if not 1 <= month <= 12:
        raise InvalidInput("a month is 1 to 12", field="month")
    period = month_window(year, month)
    by_id = {w.id: w for w in windows}
    shares: dict[str, list[tuple[EntryKind, Line]]] = {}
    for entry in entries:
        if entry.window_id not in by_id:
            raise InvalidInput(f"entry of unknown window {entry.window_id}", field="entries")
        for line in month_lines(entry).get((year, month), ()):
            shares.setdefault(entry.window_id, []).append((entry.kind, line))
    rows = []
    for window in sorted(by_id.values(), key=lambda w: (w.start, w.id)):
        part = window.window.intersection(period) if window.live else None
        mine = shares.get(window.id, [])
        if part is None and not mine:
            continue
        charged = [line for kind, line in mine if kind is EntryKind.CHARGE]
        refunded = [line for kind, line in mine if kind is EntryKind.REFUND]
        taxes = sum((x.amount for x in charged if x.kind is LineKind.TAX), ZERO)
        rows.append(
            StatementRow(
                window.id,
                window.object_ref,
                window.state.value,
                to_local(part.start) if part else None,
                to_local(part.end) if part else None,
                to_local(window.start),
                to_local(window.end),
                part.hours() if part else Decimal(0),
                total_of(charged) - taxes,
                taxes,
                total_of(refunded),
                tuple(line for _, line in mine),
            )
        )
    return MonthlyStatement(
        customer_id, year, month, to_local(period.start), to_local(period.end), tuple(rows)
    )


def _line_json(line: Line) -> dict[str, Any]:
    return {
        "kind": line.kind.value,
        "name": line.name,
        "cover": line.cover,
        "amount": f"{line.amount:.2f}",
        "rate": None if line.rate is None else str(line.rate),
        "reference": line.reference,
    }


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _rows_json(rows: Sequence[StatementRow]) -> list[dict[str, Any]]:
    return [
        {
            "window_id": r.window_id,
            "object_ref": r.object_ref,
            "state": r.state,
            "start": r.start.isoformat() if r.start else None,
            "end": r.end.isoformat() if r.end else None,
            "window_start": r.window_start.isoformat(),
            "window_end": r.window_end.isoformat(),
            "duration_hours": f"{r.hours.normalize():f}",
            "price": _money(r.price),
            "taxes": _money(r.taxes),
            "refunds": _money(r.refunds),
            "total": _money(r.total),
            "lines": [_line_json(line) for line in r.lines],
        }
        for r in rows
    ]


def statement_json(statement: MonthlyStatement) -> dict[str, Any]:
    """The statement as JSON-ready data (money as strings with 2 decimals, local ISO times)."""
    return {
        "customer_id": statement.customer_id,
        "month": f"{statement.year:04d}-{statement.month:02d}",
        "time_zone": "Europe/Paris",
        "period": {"start": statement.start.isoformat(), "end": statement.end.isoformat()},
        "currency": "EUR",
        "windows": _rows_json(statement.rows),
        "totals": {
            "windows": len(statement.rows),
            "hours": f"{statement.hours.normalize():f}",
            "price": _money(statement.price),
            "taxes": _money(statement.taxes),
            "refunds": _money(statement.refunds),
            "total": _money(statement.total),
        },
    }
