"""Floating (reporting) stock policies: the declaration schedule and the declarations received.

A floating policy on stock (*police flottante* or *d'abonnement*) covers an insurance period
``[start, end)`` (at most 12 months) cut into **declaration periods** ``[p_start, p_end)``: monthly,
quarterly, half-yearly, yearly, or a custom list of period start dates. For each period the insured
declares the value of the stock.

- **Due date** of a declaration: ``p_end`` (the first day after the period). **Deadline**:
  ``p_end + grace_days``. A declaration received after its deadline is **late**: it is used as
  declared and flagged (received exactly on the deadline is on time).
- A period without a declaration at the close is **missing**: the contract's rule gives the value
  used instead, flagged with its reason:

  - ``last_value``: the latest value declared for an earlier period (the forecast value when no
    earlier period was declared);
  - ``sum_insured``: the sum insured (the policy's maximum);
  - ``penalty``: ``sum_insured × (1 + penalty_rate)``.
- A declared value above the sum insured is used as declared (the premium follows the declared
  exposure) and flagged: any indemnity stays capped at the sum insured.
- **Share** of a period: ``days / days of the insurance period`` (Actual/Actual over the insurance
  period, an exact fraction), so the shares of a schedule sum to exactly 1 in a 365-day year and
  in a 366-day year alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise

from polis.kernel.errors import InvalidInput
from polis.kernel.money import allocate
from polis.kernel.time import add_months, day_count

__all__ = [
    "INSTALMENT_COUNTS",
    "Declaration",
    "DeclarationFlag",
    "DeclarationFlagKind",
    "DeclarationFrequency",
    "DeclarationPeriod",
    "DeclarationStatus",
    "MissingDeclarationRule",
    "PremiumCall",
    "PremiumCallKind",
    "ResolvedPeriod",
    "check_insurance_period",
    "declaration_periods",
    "provisional_instalments",
    "resolve_declarations",
    "substitute_missing_value",
]

MAX_PERIODS = 366
INSTALMENT_COUNTS = (1, 2, 4, 12)


class DeclarationFrequency(StrEnum):
    """How often declarations are due."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"
    CUSTOM = "custom"


MONTHS_PER_PERIOD = {
    DeclarationFrequency.MONTHLY: 1,
    DeclarationFrequency.QUARTERLY: 3,
    DeclarationFrequency.HALF_YEARLY: 6,
    DeclarationFrequency.YEARLY: 12,
}


class MissingDeclarationRule(StrEnum):
    """The contract's rule for a period without a declaration."""

    LAST_VALUE = "last_value"
    SUM_INSURED = "sum_insured"
    PENALTY = "penalty"


class DeclarationStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"


class DeclarationFlagKind(StrEnum):
    """What a flag reports (stable codes)."""

    MISSING = "missing"
    LATE = "late"
    ABOVE_SUM_INSURED = "above_sum_insured"
    FORECAST_ABOVE_SUM_INSURED = "forecast_above_sum_insured"


class PremiumCallKind(StrEnum):
    PROVISIONAL = "provisional"
    INSTALMENT = "instalment"
    ADJUSTMENT = "adjustment"
    CALL = "call"
    REGULARISATION = "regularisation"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class DeclarationPeriod:
    """Declaration period number ``number`` (from 1): ``[start, end)`` of an insurance period of
    ``period_days`` days."""

    number: int
    start: date
    end: date
    period_days: int

    @property
    def days(self) -> int:
        """Calendar days in ``[start, end)``."""
        return day_count(self.start, self.end)

    @property
    def share(self) -> Fraction:
        """``days / period_days``: the part of the insurance period this period covers (exact)."""
        return Fraction(self.days, self.period_days)

    @property
    def due(self) -> date:
        """The declaration is due when the period ends (``end``, the first day after it)."""
        return self.end

    def deadline(self, grace_days: int) -> date:
        """``due + grace_days``: received on or before this day is on time."""
        return self.end + timedelta(days=grace_days)

    def label(self) -> str:
        return f"period {self.number} [{self.start}, {self.end})"


@dataclass(frozen=True, slots=True)
class Declaration:
    """A declared stock value for the declaration period starting ``period_start``."""

    period_start: date
    value: Decimal
    received: date
    period_end: date | None = None


@dataclass(frozen=True, slots=True)
class DeclarationFlag:
    """Something the account manager must see: a missing, late or excessive declaration."""

    kind: DeclarationFlagKind
    reason: str
    period: DeclarationPeriod | None = None
    value: Decimal | None = None
    rule: MissingDeclarationRule | None = None


@dataclass(frozen=True, slots=True)
class ResolvedPeriod:
    """A declaration period with the value used for the premium.

    ``event_date``: the day the value became known to the insurer (the reception date), or the
    deadline for a missing declaration (the day the substitution rule applies).
    """

    period: DeclarationPeriod
    value: Decimal
    status: DeclarationStatus
    event_date: date
    declared: Decimal | None = None
    received: date | None = None
    reason: str | None = None

    def describe(self) -> str:
        """``period 3 [2025-03-01, 2025-04-01): late declaration 1600000 received 2025-04-20``."""
        if self.status == DeclarationStatus.MISSING:
            return f"{self.period.label()}: missing, {self.value:f} used from {self.event_date}"
        late = "late " if self.status == DeclarationStatus.LATE else ""
        return f"{self.period.label()}: {late}declaration {self.value:f} received {self.event_date}"


@dataclass(frozen=True, slots=True)
class PremiumCall:
    """One line of the premium account; ``called_to_date`` includes this line."""

    date: date
    kind: PremiumCallKind
    label: str
    amount: Decimal
    called_to_date: Decimal
    earned_to_date: Decimal | None = None

    @property
    def balance(self) -> Decimal | None:
        """``called_to_date − earned_to_date``: positive, held in credit for the insured."""
        return None if self.earned_to_date is None else self.called_to_date - self.earned_to_date


def check_insurance_period(start: date, end: date) -> int:
    """Days of ``[start, end)``; refuses an empty, reversed or longer-than-12-months period."""
    if end <= start:
        raise InvalidInput(f"end {end} must be after start {start}", field="period.end")
    if end > add_months(start, 12):
        raise InvalidInput(
            f"a floating policy is regularised per insurance year: end {end} must be at most "
            f"12 months after start {start} (on or before {add_months(start, 12)})",
            field="period.end",
        )
    return day_count(start, end)


def declaration_periods(
    start: date, end: date, frequency: DeclarationFrequency, period_starts: Sequence[date] = ()
) -> tuple[DeclarationPeriod, ...]:
    """The declaration periods of ``[start, end)``.

    Regular frequencies: period ``k`` starts on ``add_months(start, k × months)`` (counted from
    ``start``, so 31 January gives 28/29 February then 31 March); the last period ends at ``end``.
    ``custom``: the periods start on ``period_starts`` (the first one is ``start``).
    """
    total = check_insurance_period(start, end)
    if frequency == DeclarationFrequency.CUSTOM:
        starts = _custom_starts(start, end, period_starts)
    else:
        if period_starts:
            raise InvalidInput(
                f"period_starts is only used with frequency custom (got {frequency})",
                field="period_starts",
            )
        step = MONTHS_PER_PERIOD[frequency]
        starts = []
        while (next_start := add_months(start, len(starts) * step)) < end:
            starts.append(next_start)
    ends = [*starts[1:], end]
    return tuple(
        DeclarationPeriod(number, s, e, total)
        for number, (s, e) in enumerate(zip(starts, ends, strict=True), start=1)
    )


def _custom_starts(start: date, end: date, period_starts: Sequence[date]) -> list[date]:
    if not period_starts:
        raise InvalidInput(
            "frequency custom needs period_starts (the start date of each declaration period)",
            field="period_starts",
        )
    if len(period_starts) > MAX_PERIODS:
        raise InvalidInput(f"at most {MAX_PERIODS} periods", field="period_starts")
    if period_starts[0] != start:
        raise InvalidInput(
            f"the first declaration period must start with the insurance period ({start})",
            field="period_starts[0]",
        )
    for i, (before, current) in enumerate(pairwise(period_starts), start=1):
        if current <= before:
            raise InvalidInput(
                f"{current} must be after the previous period start {before}",
                field=f"period_starts[{i}]",
            )
        if current >= end:
            raise InvalidInput(
                f"{current} is outside the insurance period [{start}, {end})",
                field=f"period_starts[{i}]",
            )
    return list(period_starts)


def provisional_instalments(
    amount: Decimal, count: int, start: date, end: date
) -> tuple[tuple[date, Decimal], ...]:
    """``amount`` in ``count`` equal instalments (kernel ``allocate``: no cent lost, the extra cents
    go to the first ones); instalment ``k`` (from 0) falls on ``start + k × 12 / count`` months."""
    if count not in INSTALMENT_COUNTS:
        raise InvalidInput(
            f"instalments must be one of {', '.join(map(str, INSTALMENT_COUNTS))} (got {count})",
            field="instalments",
        )
    dates = [add_months(start, k * (12 // count)) for k in range(count)]
    if dates[-1] >= end:
        raise InvalidInput(
            f"{count} instalments every {12 // count} month(s) from {start} do not fit in the "
            f"insurance period ending {end}",
            field="instalments",
        )
    return tuple(zip(dates, allocate(amount, [Decimal(1)] * count), strict=True))


def substitute_missing_value(
    rule: MissingDeclarationRule,
    *,
    last_declared: Decimal | None,
    forecast_value: Decimal,
    sum_insured: Decimal,
    penalty_rate: Decimal | None,
) -> tuple[Decimal, str]:
    """The value used for a missing declaration and the reason, by the contract's rule."""
    if rule == MissingDeclarationRule.LAST_VALUE:
        if last_declared is None:
            return forecast_value, (
                f"missing: no earlier declaration, the forecast value {forecast_value:f} is used"
            )
        return (
            last_declared,
            f"missing: the last declared value {last_declared:f} is carried forward",
        )
    if rule == MissingDeclarationRule.SUM_INSURED:
        return sum_insured, f"missing: the sum insured {sum_insured:f} is used"
    if penalty_rate is None:
        raise InvalidInput("missing_rule penalty needs a penalty_rate", field="penalty_rate")
    value = sum_insured * (1 + penalty_rate)
    return value, (
        f"missing: sum insured × (1 + penalty rate) = {sum_insured:f} × (1 + {penalty_rate:f}) "
        f"= {value:f}"
    )


def resolve_declarations(
    periods: Sequence[DeclarationPeriod],
    declarations: Sequence[Declaration],
    *,
    missing_rule: MissingDeclarationRule,
    forecast_value: Decimal,
    sum_insured: Decimal,
    penalty_rate: Decimal | None = None,
    grace_days: int = 0,
) -> tuple[tuple[ResolvedPeriod, ...], tuple[DeclarationFlag, ...]]:
    """One :class:`ResolvedPeriod` per period (declared or substituted) and the flags raised.

    Declarations are matched to periods by ``period_start``; errors name the declaration
    (``declarations[3].period_start``).
    """
    matched = _match(periods, declarations)
    rows: list[ResolvedPeriod] = []
    flags: list[DeclarationFlag] = []
    last_declared: Decimal | None = None
    for period in periods:
        declaration = matched.get(period.number)
        if declaration is None:
            value, reason = substitute_missing_value(
                missing_rule,
                last_declared=last_declared,
                forecast_value=forecast_value,
                sum_insured=sum_insured,
                penalty_rate=penalty_rate,
            )
            status, day = DeclarationStatus.MISSING, period.deadline(grace_days)
            rows.append(ResolvedPeriod(period, value, status, day, reason=reason))
            flags.append(
                DeclarationFlag(DeclarationFlagKind.MISSING, reason, period, value, missing_rule)
            )
            continue
        row, raised = _declared(period, declaration, sum_insured, grace_days)
        rows.append(row)
        flags.extend(raised)
        last_declared = declaration.value
    return tuple(rows), tuple(flags)


def _declared(
    period: DeclarationPeriod, declaration: Declaration, sum_insured: Decimal, grace_days: int
) -> tuple[ResolvedPeriod, list[DeclarationFlag]]:
    flags: list[DeclarationFlag] = []
    deadline = period.deadline(grace_days)
    status = DeclarationStatus.ON_TIME
    if declaration.received > deadline:
        status = DeclarationStatus.LATE
        days_late = (declaration.received - deadline).days
        flags.append(
            DeclarationFlag(
                DeclarationFlagKind.LATE,
                f"late: received {declaration.received}, {days_late} day(s) after the deadline "
                f"{deadline} (due {period.due} + {grace_days} grace days); used as declared",
                period,
                declaration.value,
            )
        )
    if declaration.value > sum_insured:
        flags.append(
            DeclarationFlag(
                DeclarationFlagKind.ABOVE_SUM_INSURED,
                f"declared value {declaration.value:f} is above the sum insured {sum_insured:f}: "
                "the premium is charged on the declared value, but any indemnity is capped at "
                "the sum insured (the excess is uninsured; raise the sum insured)",
                period,
                declaration.value,
            )
        )
    row = ResolvedPeriod(
        period,
        declaration.value,
        status,
        declaration.received,
        declared=declaration.value,
        received=declaration.received,
    )
    return row, flags


def _match(
    periods: Sequence[DeclarationPeriod], declarations: Sequence[Declaration]
) -> dict[int, Declaration]:
    """Declarations by period number; refuses unknown periods, duplicates and negative values."""
    by_start = {p.start: p for p in periods}
    first, last = periods[0], periods[-1]
    matched: dict[int, tuple[int, Declaration]] = {}
    for i, declaration in enumerate(declarations):
        where = f"declarations[{i}]"
        if declaration.value < 0:
            raise InvalidInput(
                f"a declared value must not be negative (got {declaration.value:f})",
                field=f"{where}.value",
            )
        period = by_start.get(declaration.period_start)
        if period is None:
            raise InvalidInput(
                _no_such_period(declaration.period_start, periods, first.start, last.end),
                field=f"{where}.period_start",
            )
        if declaration.period_end is not None and declaration.period_end != period.end:
            raise InvalidInput(
                f"the declaration period starting {period.start} ends on {period.end}, "
                f"not {declaration.period_end}",
                field=f"{where}.period_end",
            )
        if declaration.received < period.start:
            raise InvalidInput(
                f"received {declaration.received}, before its period started ({period.start})",
                field=f"{where}.received",
            )
        if period.number in matched:
            raise InvalidInput(
                f"duplicate declaration: declarations[{matched[period.number][0]}] already "
                f"declares the period starting {period.start}",
                field=f"{where}.period_start",
            )
        matched[period.number] = (i, declaration)
    return {number: declaration for number, (_, declaration) in matched.items()}


def _no_such_period(day: date, periods: Sequence[DeclarationPeriod], start: date, end: date) -> str:
    if not start <= day < end:
        return f"{day} is outside the insurance period [{start}, {end})"
    before = max(p.start for p in periods if p.start <= day)
    after = [p.start for p in periods if p.start > day]
    nearest = f"{before}" + (f" or {after[0]}" if after else "")
    return (
        f"{day} is not the start of a declaration period (the nearest periods start on {nearest})"
    )
