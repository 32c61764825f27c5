"""The right of withdrawal (renonciation) of an on-demand subscription (pure).

French law gives a **natural person acting outside their trade or profession** fourteen calendar
days to withdraw from an insurance contract, without reason or penalty:

- **distance selling** (Code des assurances L112-2-1): from the day the contract was concluded, or
  from the day the contractual terms were received if that is later; not for travel or baggage
  policies or "similar short-term policies of less than one month", nor for a contract fully
  performed by both parties at the consumer's express request before the withdrawal; when
  performance started at the consumer's request within the period, only the service actually
  provided is due (pro rata);
- **doorstep selling** (L112-9): from the day the contract was concluded; not for contracts of at
  most one month; lost once the policyholder knows of a claim under the contract; the premium of
  the period during which the risk ran stays due, the rest is refunded within thirty days.

How Polis reads them for a subscription (decisions, docs/on-demand.md "Right of withdrawal"):

- the **subscription is the contract** (a framework with no end), so the short-term exclusion does
  not reach it; it applies to a contract whose own term is under one month (``contract_end``);
- **windows are its performance**: a window already ended was fully performed at the insured's
  request and stays due; a running window is stopped at the withdrawal and only the cover actually
  given is kept, in the product's own unit (started hours, the started local day, the act), without
  refund fee; a window not started yet is cancelled and refunded in full;
- days are **Europe/Paris calendar days**: the day the period starts from is not counted, it ends
  at the end (local midnight) of the 14th day; a 14th day that is a Saturday, a Sunday or a public
  holiday is **extended to the next working day** (the rule of art. 642 of the Code de procédure
  civile and of L221-19 of the Code de la consommation; L112-2-1 itself is silent: we choose the
  reading that never shortens the insured's right).

Refusals are :class:`WithdrawalRefused` (a ``Conflict``: HTTP 409, CLI exit 1) with stable codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from polis.claims.deadlines import is_working_day
from polis.kernel.errors import Conflict
from polis.kernel.explain import Explanation
from polis.kernel.time import add_months, ensure_utc, local_midnight, to_local
from polis.ondemand.windows import CoverWindow, WindowState

__all__ = [
    "REFUND_DAYS",
    "WITHDRAWAL_DAYS",
    "SaleChannel",
    "WindowFate",
    "WindowPlan",
    "WithdrawalRefused",
    "WithdrawalRight",
    "check_withdrawal",
    "is_short_term",
    "plan_windows",
    "withdrawal_right",
]

#: "quatorze jours calendaires révolus" (L112-2-1, L112-9)
WITHDRAWAL_DAYS = 14
#: the balance is refunded at the latest thirty days after the withdrawal (L112-2-1, L112-9)
REFUND_DAYS = 30


class WithdrawalRefused(Conflict):
    """A withdrawal the law does not allow; ``code`` says why, ``field`` names what decides."""

    code: ClassVar[str] = "withdrawal.refused"


class SaleChannel(StrEnum):
    """How the contract was sold: the article that gives the right."""

    DISTANCE = "distance"
    DOORSTEP = "doorstep"

    @property
    def article(self) -> str:
        return "L112-2-1" if self is SaleChannel.DISTANCE else "L112-9"


@dataclass(frozen=True, slots=True)
class WithdrawalRight:
    """The period of a right of withdrawal: ``[starts_at, deadline)``.

    ``from_day`` is the local day the period runs from (not counted); ``last_day`` its 14th day;
    ``deadline_day`` the last day after an extension past a weekend or holiday; ``deadline`` the
    local midnight ending it (exclusive).
    """

    channel: SaleChannel
    concluded_at: datetime
    starts_at: datetime
    from_day: date
    last_day: date
    deadline_day: date
    deadline: datetime
    explanation: tuple[Explanation, ...]

    @property
    def extended(self) -> bool:
        return self.deadline_day != self.last_day

    def open_at(self, at: datetime) -> bool:
        """Whether a withdrawal sent at ``at`` is in time."""
        return ensure_utc(at, field="at") < self.deadline


def withdrawal_right(
    channel: SaleChannel, concluded_at: datetime, terms_received_at: datetime | None = None
) -> WithdrawalRight:
    """The 14-day period: from the conclusion, or (distance selling) the later receipt of the terms.

    ``last_day = from_day + 14`` (Europe/Paris calendar days); moved to the next working day when
    it is a Saturday, a Sunday or a French public holiday; ``deadline`` is local midnight after it.
    """
    concluded = ensure_utc(concluded_at, field="concluded_at")
    start = concluded
    steps = [Explanation("conclusion", f"contract concluded at {_local(concluded)}", None)]
    if terms_received_at is not None:
        received = ensure_utc(terms_received_at, field="terms_received_at")
        if channel is SaleChannel.DISTANCE and received > concluded:
            start = received
            steps.append(
                Explanation("terms received", f"terms received later, at {_local(received)}", None)
            )
    from_day = to_local(start).date()
    last_day = from_day + timedelta(days=WITHDRAWAL_DAYS)
    steps.append(
        Explanation(
            f"14 calendar days ({channel.article})",
            f"from {from_day} (not counted): the 14th day is {last_day}",
            None,
        )
    )
    day = last_day
    while not is_working_day(day):
        day += timedelta(days=1)
    if day != last_day:
        steps.append(
            Explanation(
                "extension",
                f"{last_day} is a Saturday, Sunday or public holiday: extended to {day}",
                None,
            )
        )
    deadline = local_midnight(day + timedelta(days=1))
    steps.append(Explanation("deadline", f"until the end of {day} ({_local(deadline)})", None))
    return WithdrawalRight(
        channel, concluded, start, from_day, last_day, day, deadline, tuple(steps)
    )


def is_short_term(concluded_at: datetime, contract_end: datetime | None) -> bool:
    """A contract whose own term is under one month (L112-2-1 III; L112-9: "at most one month").

    One month is the same local date a month later (31 January → 28/29 February); ``None``: no
    end (an on-demand subscription), never short-term.
    """
    if contract_end is None:
        return False
    concluded = to_local(ensure_utc(concluded_at, field="concluded_at"))
    month_later = local_midnight(add_months(concluded.date(), 1)) + (
        concluded - local_midnight(concluded.date())
    )
    return ensure_utc(contract_end, field="contract_end") <= month_later


def check_withdrawal(
    right: WithdrawalRight,
    *,
    at: datetime,
    consumer: bool,
    withdrawn_at: datetime | None = None,
    contract_end: datetime | None = None,
    claim_known: bool = False,
) -> None:
    """Raise :class:`WithdrawalRefused` when a withdrawal at ``at`` is not allowed.

    Codes (never renumbered): ``withdrawal.already_withdrawn`` (``subscription``),
    ``withdrawal.not_consumer`` (``customer``), ``withdrawal.short_term`` (``subscription``),
    ``withdrawal.claim_known`` (``claims``, doorstep selling only), ``withdrawal.out_of_time``
    (``at``, with the deadline in ``data``).
    """
    moment = ensure_utc(at, field="at")
    if withdrawn_at is not None:
        raise WithdrawalRefused(
            f"already withdrawn at {_local(withdrawn_at)}",
            field="subscription",
            code="withdrawal.already_withdrawn",
        )
    if not consumer:
        raise WithdrawalRefused(
            "the right of withdrawal belongs to a natural person acting outside their trade or "
            f"profession ({right.channel.article}); a business customer has none",
            field="customer",
            code="withdrawal.not_consumer",
        )
    if is_short_term(right.concluded_at, contract_end):
        raise WithdrawalRefused(
            f"a contract of less than one month has no right of withdrawal ({right.channel.article})",
            field="subscription",
            code="withdrawal.short_term",
        )
    if claim_known and right.channel is SaleChannel.DOORSTEP:
        raise WithdrawalRefused(
            "a claim under the contract is known: the right of withdrawal is lost (L112-9)",
            field="claims",
            code="withdrawal.claim_known",
        )
    if not right.open_at(moment):
        raise WithdrawalRefused(
            f"the withdrawal period ended at {_local(right.deadline)} (14 calendar days from "
            f"{right.from_day}, {right.channel.article})",
            field="at",
            code="withdrawal.out_of_time",
            deadline=right.deadline.isoformat(),
        )


class WindowFate(StrEnum):
    """What a withdrawal does to a window."""

    CANCEL = "cancel"  # not started: cancelled, everything refunded
    STOP = "stop"  # running: stopped now, the cover given is kept (started units, no fee)
    PERFORMED = "performed"  # ended (or already stopped): fully performed, stays due
    NONE = "none"  # cancelled already


@dataclass(frozen=True, slots=True)
class WindowPlan:
    window_id: str
    fate: WindowFate
    reason: str


def plan_windows(windows: Iterable[CoverWindow], at: datetime) -> tuple[WindowPlan, ...]:
    """The fate of each window of the subscription for a withdrawal at ``at``.

    A window starting at ``at`` exactly has given no cover yet: cancelled. A window stopped early
    already (its end fixed by an earlier stop) is left as it is: the domain does not stop a window
    twice; it is reported as performed.
    """
    moment = ensure_utc(at, field="at")
    plans = []
    for w in windows:
        if w.state is WindowState.CANCELLED:
            plans.append(WindowPlan(w.id, WindowFate.NONE, "cancelled already"))
        elif moment <= w.start:
            plans.append(WindowPlan(w.id, WindowFate.CANCEL, "not started: cancelled"))
        elif moment < w.end and w.state is WindowState.BOOKED:
            plans.append(WindowPlan(w.id, WindowFate.STOP, "running: stopped, cover given is kept"))
        else:
            plans.append(WindowPlan(w.id, WindowFate.PERFORMED, "performed: stays due"))
    return tuple(plans)


def _local(instant: datetime) -> str:
    return to_local(instant).isoformat(timespec="minutes")
