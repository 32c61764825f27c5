"""Limits of an on-demand customer (anti-fraud): low at first, rising with a clean history.

A new customer starts at the **starter** tier (maximum sum insured, maximum liability limit,
activations per Europe/Paris day) and climbs a tier when all its conditions hold: enough windows
completed without a claim (*clean windows*), enough whole months since verification, and at most
so many claims in the last 12 months (a recent claim caps the tier). Refusals are
:class:`~polis.ondemand.customers.Refused` with codes ``limit.sum_insured_exceeded`` and
``limit.daily_activations_exceeded`` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.time import to_local
from polis.ondemand.customers import Customer, CustomerKind, Refused, check_verified

__all__ = [
    "LIMIT_TIERS",
    "CustomerHistory",
    "CustomerLimits",
    "LimitTier",
    "check_activation_allowed",
    "check_sum_insured",
    "limits_for",
    "whole_months",
]


@dataclass(frozen=True, slots=True)
class LimitTier:
    """A level of trust: reached with ``min_clean_windows`` and ``min_months_verified``.

    ``max_sum_insured`` is for a person, ``max_sum_insured_business`` for a business (stock,
    professional equipment); the liability limit is the same for both.
    """

    name: str
    min_clean_windows: int
    min_months_verified: int
    max_sum_insured: Decimal
    max_sum_insured_business: Decimal
    max_liability_limit: Decimal
    max_activations_per_day: int
    max_claims_last_12_months: int


#: from the lowest to the highest; a customer is at the highest tier whose conditions all hold
LIMIT_TIERS: tuple[LimitTier, ...] = (
    LimitTier("starter", 0, 0, Decimal(3_000), Decimal(50_000), Decimal(1_000_000), 3, 99),
    LimitTier("regular", 10, 1, Decimal(10_000), Decimal(100_000), Decimal(2_000_000), 10, 1),
    LimitTier("trusted", 50, 6, Decimal(50_000), Decimal(250_000), Decimal(5_000_000), 30, 1),
    LimitTier(
        "partner", 200, 12, Decimal(250_000), Decimal(1_000_000), Decimal(10_000_000), 100, 0
    ),
)


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    """What the limits read: windows completed, those with a claim, claims in the last 12 months."""

    completed_windows: int = 0
    windows_with_claims: int = 0
    claims_last_12_months: int = 0

    def __post_init__(self) -> None:
        for name in ("completed_windows", "windows_with_claims", "claims_last_12_months"):
            if getattr(self, name) < 0:
                raise InvalidInput("must not be negative", field=f"history.{name}")
        if self.windows_with_claims > self.completed_windows:
            raise InvalidInput(
                "more windows with claims than completed windows",
                field="history.windows_with_claims",
            )

    @property
    def clean_windows(self) -> int:
        return self.completed_windows - self.windows_with_claims


@dataclass(frozen=True, slots=True)
class CustomerLimits:
    kind: CustomerKind
    tier: LimitTier
    next_tier: LimitTier | None
    months_verified: int
    clean_windows: int
    explanation: tuple[Explanation, ...]

    @property
    def max_sum_insured(self) -> Decimal:
        """For this customer's kind (person or business)."""
        if self.kind is CustomerKind.BUSINESS:
            return self.tier.max_sum_insured_business
        return self.tier.max_sum_insured

    @property
    def max_liability_limit(self) -> Decimal:
        return self.tier.max_liability_limit

    @property
    def max_activations_per_day(self) -> int:
        return self.tier.max_activations_per_day


def whole_months(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (15 Jan → 14 Feb: 0; → 15 Feb: 1)."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    return months - 1 if end.day < start.day else months


def limits_for(customer: Customer, history: CustomerHistory, *, at: datetime) -> CustomerLimits:
    """The limits in force at ``at``: the highest tier whose three conditions hold.

    Conditions: ``clean windows ≥ min_clean_windows`` (completed windows without a claim),
    ``whole months since verification ≥ min_months_verified`` (Europe/Paris dates) and
    ``claims in the last 12 months ≤ max_claims_last_12_months``. An unverified customer has the
    starter tier's figures but may not buy (:func:`check_verified`).
    """
    months = 0
    if customer.verified_at is not None:
        months = whole_months(to_local(customer.verified_at).date(), to_local(at).date())
    clean = history.clean_windows
    reached = [
        tier
        for tier in LIMIT_TIERS
        if clean >= tier.min_clean_windows
        and months >= tier.min_months_verified
        and history.claims_last_12_months <= tier.max_claims_last_12_months
    ]
    tier = reached[-1] if reached else LIMIT_TIERS[0]
    ceiling = (
        tier.max_sum_insured_business
        if customer.kind is CustomerKind.BUSINESS
        else tier.max_sum_insured
    )
    index = LIMIT_TIERS.index(tier)
    upper = LIMIT_TIERS[index + 1] if index + 1 < len(LIMIT_TIERS) else None
    steps = [
        Explanation(
            "history",
            f"{history.completed_windows} completed window(s) − {history.windows_with_claims} with "
            f"a claim = {clean} clean; {months} whole month(s) verified; "
            f"{history.claims_last_12_months} claim(s) in the last 12 months",
        ),
        Explanation(
            f"tier {tier.name}",
            f"max sum insured {ceiling} ({customer.kind.value}), liability limit "
            f"{tier.max_liability_limit}, {tier.max_activations_per_day} activation(s) per day",
            ceiling,
        ),
    ]
    if upper is not None:
        steps.append(
            Explanation(
                f"next tier {upper.name}",
                f"needs {upper.min_clean_windows} clean windows, {upper.min_months_verified} "
                f"month(s) verified and at most {upper.max_claims_last_12_months} claim(s) in 12 "
                "months",
            )
        )
    return CustomerLimits(customer.kind, tier, upper, months, clean, tuple(steps))


def check_sum_insured(
    limits: CustomerLimits, amount: Decimal, *, liability: bool, field: str = "sum_insured"
) -> None:
    """``limit.sum_insured_exceeded`` when ``amount`` is above the tier's limit for the scope."""
    ceiling = limits.max_liability_limit if liability else limits.max_sum_insured
    if amount > ceiling:
        what = "liability limit" if liability else "sum insured"
        raise Refused(
            f"a {what} of {amount} € is above your limit of {ceiling} € (tier {limits.tier.name}); "
            "limits rise with windows completed without a claim",
            field=field,
            code="limit.sum_insured_exceeded",
            limit=str(ceiling),
            asked=str(amount),
        )


def check_activation_allowed(
    customer: Customer, limits: CustomerLimits, *, activations_today: int
) -> None:
    """Verified, and fewer than the tier's activations this local day (this one would be +1)."""
    check_verified(customer)
    if activations_today < 0:
        raise InvalidInput("must not be negative", field="activations_today")
    if activations_today + 1 > limits.max_activations_per_day:
        raise Refused(
            f"{activations_today} activation(s) already today: the limit is "
            f"{limits.max_activations_per_day} per day (tier {limits.tier.name})",
            field="start",
            code="limit.daily_activations_exceeded",
            limit=str(limits.max_activations_per_day),
        )
