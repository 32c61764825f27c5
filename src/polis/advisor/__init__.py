"""Advisory tools: comparisons that help a customer choose (pure domain)."""

from polis.advisor.on_demand_vs_annual import (
    BreakEven,
    Cheaper,
    CurvePoint,
    GivenPrice,
    ProductPrice,
    UsagePattern,
    break_even,
)

__all__ = [
    "BreakEven",
    "Cheaper",
    "CurvePoint",
    "GivenPrice",
    "ProductPrice",
    "UsagePattern",
    "break_even",
]
