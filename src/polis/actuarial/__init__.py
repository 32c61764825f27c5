"""Actuarial engines: pure calculations (no I/O but packaged data), usable without pydantic."""

from polis.actuarial.crm import (
    Claim,
    CrmInput,
    CrmResult,
    PendingClaim,
    Period,
    PeriodResult,
    compute_crm,
)
from polis.actuarial.crm_periods import (
    DatedPeriods,
    History,
    Interruption,
    compute_crm_history,
    due_dates,
    periods_from_history,
    reference_end,
)
from polis.actuarial.crm_rules import (
    ClaimCause,
    CrmRules,
    CrmRulesError,
    Responsibility,
    Usage,
    UsageFactors,
    load_rules,
    parse_rules,
)

__all__ = [
    "Claim",
    "ClaimCause",
    "CrmInput",
    "CrmResult",
    "CrmRules",
    "CrmRulesError",
    "DatedPeriods",
    "History",
    "Interruption",
    "PendingClaim",
    "Period",
    "PeriodResult",
    "Responsibility",
    "Usage",
    "UsageFactors",
    "compute_crm",
    "compute_crm_history",
    "due_dates",
    "load_rules",
    "parse_rules",
    "periods_from_history",
    "reference_end",
]
