"""Price drift: does the observed cost per hour of cover still match the pure premium per hour the
tariff charges? (spec: "the pricing signal must reflect usage, not a stale average").

Both figures are per **hour of exposure actually used** (``polis.ondemand.portfolio``):

- **priced** ``p`` = earned pure premium / exposure hours: what the tariff assumed, for the usage
  really bought (hour, day or act units, caps, minimum charges and volume discounts included);
- **observed** ``c`` = incurred cost / exposure hours.

A handful of claims says little, so the observation is weighted by its **limited-fluctuation
credibility** (Mowbray; Longley-Cook): ``Z = min(1, √(n / n_full))`` with ``n`` the claims counted
and ``n_full = 1,082`` — the number of claims for which the observed frequency is within ±5 % of
the true one with probability 90 % under a Poisson count: ``(1.645 / 0.05)² = 1,082.41``. The
credibility-weighted rate is ``s = Z × c + (1 − Z) × p`` and the **drift** ``s / p − 1``. An
**alert** is raised when ``|s / p − 1| > tolerance`` (10 % by default): with 2 claims (``Z =
0.043``) the observed cost must be more than 3.3 times the priced one (``1 + 0.10 / Z``) before
it moves the suggested rate by 10 %, so two claims do not raise an alarm by themselves; from
1,082 claims the observation is trusted whole.

Rounding: ``Z``, the rates and the drift are rounded half-up to 4 decimals, and the suggested rate
is computed from the rounded ``Z`` so that the explanation can be redone by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.rating.text import show

__all__ = [
    "DEFAULT_TOLERANCE",
    "FULL_CREDIBILITY_CLAIMS",
    "Direction",
    "DriftCheck",
    "credibility",
    "drift_check",
    "ratio",
]

#: claims for full credibility: (1.645 / 0.05)² = 1,082.41 (90 % probability, ±5 %)
FULL_CREDIBILITY_CLAIMS = 1082
#: the drift of the credibility-weighted rate from the priced one that raises an alert
DEFAULT_TOLERANCE = Decimal("0.10")
_FOUR = Decimal("0.0001")
ONE = Decimal(1)


def ratio(value: Decimal) -> Decimal:
    """Half-up to 4 decimals (rates per hour, ratios, credibility)."""
    return value.quantize(_FOUR, rounding=ROUND_HALF_UP)


class Direction(StrEnum):
    """Which way the observed cost drifts from the price."""

    UNDER_PRICED = "under_priced"  # the cost is higher than the price assumes
    OVER_PRICED = "over_priced"  # the cost is lower than the price assumes


def credibility(claims: int, full: int = FULL_CREDIBILITY_CLAIMS) -> Decimal:
    """``Z = min(1, √(n / n_full))``, rounded half-up to 4 decimals."""
    if claims < 0:
        raise InvalidInput("a number of claims cannot be negative", field="claims")
    if full <= 0:
        raise InvalidInput("the full-credibility standard must be positive", field="full")
    if claims >= full:
        return ratio(ONE)
    return ratio((Decimal(claims) / Decimal(full)).sqrt())


@dataclass(frozen=True, slots=True)
class DriftCheck:
    """The comparison for one product (of one partner, or of every partner)."""

    partner: str | None
    product: str | None
    claims: int
    observed_per_hour: Decimal
    priced_per_hour: Decimal
    credibility: Decimal
    suggested_per_hour: Decimal
    drift: Decimal  # suggested / priced − 1
    tolerance: Decimal
    explanation: tuple[Explanation, ...]

    @property
    def alert(self) -> bool:
        return abs(self.drift) > self.tolerance

    @property
    def direction(self) -> Direction | None:
        if not self.alert:
            return None
        return Direction.UNDER_PRICED if self.drift > 0 else Direction.OVER_PRICED


def drift_check(
    partner: str | None,
    product: str | None,
    *,
    claims: int,
    observed_per_hour: Decimal,
    priced_per_hour: Decimal,
    full: int = FULL_CREDIBILITY_CLAIMS,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> DriftCheck:
    """Credibility-weighted rate and drift of one product (``priced_per_hour`` must be positive)."""
    if priced_per_hour <= 0:
        raise InvalidInput("the priced cost per hour must be positive", field="priced_per_hour")
    if tolerance < 0:
        raise InvalidInput("the tolerance cannot be negative", field="tolerance")
    z = credibility(claims, full)
    suggested = ratio(z * observed_per_hour + (ONE - z) * priced_per_hour)
    drift = ratio(suggested / priced_per_hour - ONE)
    steps = [
        Explanation(
            "credibility",
            f"Z = min(1, √(n / n_full)) = min(1, √({claims} / {full})) = {show(z)}",
            z,
        ),
        Explanation(
            "suggested pure premium per hour",
            f"Z × observed + (1 − Z) × priced = {show(z)} × {show(observed_per_hour)} + "
            f"{show(ONE - z)} × {show(priced_per_hour)} = {show(suggested)}",
            suggested,
        ),
        Explanation(
            "drift",
            f"suggested / priced − 1 = {show(suggested)} / {show(priced_per_hour)} − 1 = "
            f"{show(drift)}; alert when |drift| > {show(tolerance)}",
            drift,
        ),
    ]
    if 0 < z < 1:
        low = ratio(priced_per_hour * (ONE - tolerance / z))
        high = ratio(priced_per_hour * (ONE + tolerance / z))
        steps.append(
            Explanation(
                "alert band",
                f"with Z = {show(z)} the observed cost raises an alert only outside "
                f"priced × (1 ± tolerance / Z) = [{show(max(low, Decimal(0)))}, {show(high)}]",
                None,
            )
        )
    return DriftCheck(
        partner,
        product,
        claims,
        observed_per_hour,
        priced_per_hour,
        z,
        suggested,
        drift,
        tolerance,
        tuple(steps),
    )
