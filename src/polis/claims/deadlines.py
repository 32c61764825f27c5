"""Declaration deadlines per peril (L113-2 4°): late is flagged, never silently refused.

The insured declares a loss within the contract's deadline, counted from the day they learnt of it;
the law sets minimums: 5 working days in general, 2 for theft (and 10 days for a natural-catastrophe
loss after the decree, not modelled here). Working days (*jours ouvrés*) are Monday to Friday except
French public holidays (Europe/Paris dates). A late declaration only leads to loss of cover if the
contract says so and the insurer shows it suffered a prejudice: the engine flags it, the claim
handler decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from polis.kernel.errors import InvalidInput
from polis.kernel.time import PARIS, ensure_utc

__all__ = [
    "DEFAULT_DEADLINES",
    "DeclarationCheck",
    "DeclarationDeadline",
    "add_working_days",
    "check_declaration",
    "french_public_holidays",
    "is_working_day",
]


@dataclass(frozen=True, slots=True)
class DeclarationDeadline:
    """``days`` after the day the insured learnt of the loss, working days or calendar days."""

    days: int
    working_days: bool = True

    def __post_init__(self) -> None:
        if self.days < 0:
            raise InvalidInput("must be ≥ 0", field="days")


#: L113-2 4° minimums; ``"*"`` is the deadline of any peril without its own.
DEFAULT_DEADLINES: dict[str, DeclarationDeadline] = {
    "*": DeclarationDeadline(5),
    "theft": DeclarationDeadline(2),
}


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month = (h + leap - 7 * m + 114) // 31
    day = (h + leap - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


@cache
def french_public_holidays(year: int) -> frozenset[dt.date]:
    """The 11 national public holidays (Code du travail L3133-1); Alsace-Moselle's two extra
    days are not included."""
    easter = _easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    moving = [easter + dt.timedelta(days=n) for n in (1, 39, 50)]  # Monday, Ascension, Whit Monday
    return frozenset([dt.date(year, m, d) for m, d in fixed] + moving)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in french_public_holidays(day.year)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
    current, left = start, days
    while left > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


@dataclass(frozen=True, slots=True)
class DeclarationCheck:
    """``due``: the last day to declare; ``late``: declared after it (a flag, not a refusal)."""

    peril: str
    known_on: dt.date
    declared_on: dt.date
    due: dt.date
    deadline: DeclarationDeadline
    late: bool
    explanation: str

    @property
    def days_late(self) -> int:
        """Calendar days after the due date (0 when in time)."""
        return (self.declared_on - self.due).days if self.late else 0


def check_declaration(
    deadlines: Mapping[str, DeclarationDeadline] | None,
    peril: str,
    known_at: dt.datetime,
    declared_at: dt.datetime,
) -> DeclarationCheck:
    """The deadline of the peril (else ``"*"``, else the legal minimum) and whether it was met.

    Days are Europe/Paris calendar dates of the two instants.
    """
    table = deadlines if deadlines else DEFAULT_DEADLINES
    deadline = (
        table.get(peril) or table.get("*") or DEFAULT_DEADLINES.get(peril) or DEFAULT_DEADLINES["*"]
    )
    known_on = ensure_utc(known_at, field="cover.known_at").astimezone(PARIS).date()
    declared_on = ensure_utc(declared_at, field="cover.declared_at").astimezone(PARIS).date()
    if declared_on < known_on:
        raise InvalidInput(
            "the declaration is before the loss was known", field="cover.declared_at"
        )
    if deadline.working_days:
        due = add_working_days(known_on, deadline.days)
        unit = "working days"
    else:
        due = known_on + dt.timedelta(days=deadline.days)
        unit = "days"
    late = declared_on > due
    text = (
        f"{peril}: {deadline.days} {unit} from {known_on.isoformat()} → due {due.isoformat()}; "
        f"declared {declared_on.isoformat()}: " + ("LATE (flagged, L113-2)" if late else "in time")
    )
    return DeclarationCheck(peril, known_on, declared_on, due, deadline, late, text)
