"""When a failed delivery is tried again: the retry policy and its back-off with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from polis.kernel.errors import InvalidInput

__all__ = ["RetryPolicy", "backoff"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to retry: exponential back-off with full jitter, capped; dead after ``max_attempts``.

    The delay after the n-th failed attempt is drawn uniformly in ``[0, min(cap, base × 2ⁿ⁻¹)]``
    (at least one second): with the defaults the ceilings are 30 s, 1 min, 2 min, 4 min … 4 h 16,
    then 6 h. ``lease`` is how long a claimed attempt may take before another worker retries it.
    """

    max_attempts: int = 12
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=2)

    @classmethod
    def of(
        cls, max_attempts: int, base_seconds: float, cap_seconds: float, lease_seconds: float = 120
    ) -> RetryPolicy:
        """A policy from plain numbers (the ``webhook_*`` settings)."""
        return cls(
            max_attempts=max_attempts,
            base=timedelta(seconds=base_seconds),
            cap=timedelta(seconds=max(cap_seconds, base_seconds)),
            lease=timedelta(seconds=lease_seconds),
        )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidInput("max_attempts must be at least 1", field="max_attempts")
        if self.base <= timedelta(0) or self.cap < self.base:
            raise InvalidInput("0 < base <= cap is required", field="base")


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> timedelta:
    """The delay before the attempt that follows failed attempt number ``attempt`` (1, 2, …)."""
    if attempt < 1:
        raise InvalidInput("attempts are counted from 1", field="attempt")
    exponent = min(attempt - 1, 40)
    ceiling = min(policy.cap.total_seconds(), policy.base.total_seconds() * 2**exponent)
    return timedelta(seconds=max(1.0, rng.uniform(0.0, ceiling)))
