"""Kernel: money, time, readable ids, errors and explanation lines shared by every part of Polis."""

from polis.kernel.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PolisError,
    ReferenceDataMissing,
    Unauthenticated,
)
from polis.kernel.explain import Explanation
from polis.kernel.ids import ReadableId
from polis.kernel.money import CENT, Money, allocate, round_money, to_decimal, truncate
from polis.kernel.time import (
    PARIS,
    UTC,
    Window,
    add_months,
    day_count,
    ensure_utc,
    local_midnight,
    parse_instant,
    prorata,
    to_local,
    utc_now,
)

__all__ = [
    "CENT",
    "PARIS",
    "UTC",
    "Conflict",
    "Explanation",
    "Forbidden",
    "IllegalTransition",
    "InvalidInput",
    "Money",
    "NotFound",
    "PolisError",
    "ReadableId",
    "ReferenceDataMissing",
    "Unauthenticated",
    "Window",
    "add_months",
    "allocate",
    "day_count",
    "ensure_utc",
    "local_midnight",
    "parse_instant",
    "prorata",
    "round_money",
    "to_decimal",
    "to_local",
    "truncate",
    "utc_now",
]
