"""Bonus-malus (CRM) vocabulary and figures: the enums of the clause and ``data/crm.toml``.

A rate change is a data change: edit ``crm.toml`` (new ``version``), not the engine. Decimals are
TOML strings so that they are read exactly; :func:`parse_rules` refuses anything malformed or
incoherent (e.g. a reduction factor ≥ 1) with :class:`CrmRulesError`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, ClassVar

from polis.kernel.errors import PolisError
from polis.kernel.money import truncate

__all__ = [
    "CAUSE_REASONS",
    "ClaimCause",
    "CrmRules",
    "CrmRulesError",
    "Responsibility",
    "Usage",
    "UsageFactors",
    "load_rules",
    "parse_rules",
]


class Usage(StrEnum):
    """Use of the vehicle: *tournées* / *tous déplacements* has its own factors (art. 4–5)."""

    STANDARD = "standard"
    TOURNEES = "tournees"


class Responsibility(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


class ClaimCause(StrEnum):
    """Causes for which a claim never raises the coefficient (art. 6)."""

    USED_WITHOUT_KNOWLEDGE = "used_without_knowledge"
    FORCE_MAJEURE = "force_majeure"
    VICTIM_OR_THIRD_PARTY_FAULT = "victim_or_third_party_fault"


CAUSE_REASONS = {
    ClaimCause.USED_WITHOUT_KNOWLEDGE: "vehicle used without the insured's knowledge (art. 6)",
    ClaimCause.FORCE_MAJEURE: "force majeure (art. 6)",
    ClaimCause.VICTIM_OR_THIRD_PARTY_FAULT: (
        "cause entirely due to the victim or a third party (art. 6)"
    ),
}


class CrmRulesError(PolisError):
    """The packaged ``crm.toml`` is malformed (a packaging bug, not a bad request)."""

    code: ClassVar[str] = "data.invalid"


@dataclass(frozen=True, slots=True)
class UsageFactors:
    reduction: Decimal
    full: Decimal
    partial: Decimal


@dataclass(frozen=True, slots=True)
class CrmRules:
    """The rule figures of one version of ``crm.toml``."""

    version: str
    base: Decimal
    floor: Decimal
    ceiling: Decimal
    decimals: int
    factors: Mapping[Usage, UsageFactors]
    exemption_years_at_floor: int
    return_claim_free_periods: int
    return_coefficient: Decimal
    reference_months: int
    months_before_due: int
    first_min_months: int
    first_max_months: int
    interruption_threshold_months: int
    max_periods: int
    max_claims_per_period: int


@cache
def load_rules() -> CrmRules:
    """The packaged figures (``polis/actuarial/data/crm.toml``), read and validated once."""
    text = resources.files("polis.actuarial").joinpath("data/crm.toml").read_text("utf-8")
    return parse_rules(tomllib.loads(text))


def parse_rules(data: Mapping[str, Any]) -> CrmRules:
    """Validate parsed ``crm.toml`` data into :class:`CrmRules` (else :class:`CrmRulesError`)."""
    coef, ref, lim = (_table(data, k) for k in ("coefficient", "reference_period", "limits"))
    usage, back = _table(data, "usage"), _table(data, "return_to_base")
    if set(usage) != {u.value for u in Usage}:
        raise CrmRulesError(f"crm.toml: [usage] must define exactly {[u.value for u in Usage]}")
    decimals = _int(coef, "decimals", "coefficient")
    rules = CrmRules(
        version=str(data.get("version", "")),
        base=_coef(coef, "start", "coefficient", decimals),
        floor=_coef(coef, "floor", "coefficient", decimals),
        ceiling=_coef(coef, "ceiling", "coefficient", decimals),
        decimals=decimals,
        factors={u: _factors(_table(usage, u.value), f"usage.{u.value}") for u in Usage},
        exemption_years_at_floor=_int(_table(data, "exemption"), "years_at_floor", "exemption"),
        return_claim_free_periods=_int(back, "claim_free_periods", "return_to_base"),
        return_coefficient=_coef(back, "coefficient", "return_to_base", decimals),
        reference_months=_int(ref, "months", "reference_period"),
        months_before_due=_int(ref, "months_before_due", "reference_period"),
        first_min_months=_int(ref, "first_min_months", "reference_period"),
        first_max_months=_int(ref, "first_max_months", "reference_period"),
        interruption_threshold_months=_int(
            ref, "interruption_threshold_months", "reference_period"
        ),
        max_periods=_int(lim, "max_periods", "limits"),
        max_claims_per_period=_int(lim, "max_claims_per_period", "limits"),
    )
    _check_rules(rules)
    return rules


def _check_rules(r: CrmRules) -> None:
    checks = [
        (Decimal(0) < r.floor <= r.base <= r.ceiling, "coefficient: 0 < floor ≤ start ≤ ceiling"),
        (
            r.floor <= r.return_coefficient <= r.ceiling,
            "return_to_base: floor ≤ coefficient ≤ ceiling",
        ),
        (r.exemption_years_at_floor >= 1, "exemption.years_at_floor ≥ 1"),
        (r.return_claim_free_periods >= 1, "return_to_base.claim_free_periods ≥ 1"),
        (r.reference_months >= 1 and r.months_before_due >= 0, "reference_period: months ≥ 1"),
        (
            1 <= r.first_min_months <= r.first_max_months,
            "reference_period: 1 ≤ first_min ≤ first_max",
        ),
        (r.interruption_threshold_months >= 0, "reference_period: interruption threshold ≥ 0"),
        (r.max_periods >= 1 and r.max_claims_per_period >= 1, "limits ≥ 1"),
    ]
    for usage, f in r.factors.items():
        checks.append(
            (
                0 < f.reduction < 1 < f.partial <= f.full,
                f"usage.{usage}: 0 < reduction < 1 < partial ≤ full",
            )
        )
    for ok, message in checks:
        if not ok:
            raise CrmRulesError(f"crm.toml: {message}")


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise CrmRulesError(f"crm.toml: missing table [{key}]")
    return value


def _int(table: Mapping[str, Any], key: str, where: str) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CrmRulesError(f"crm.toml: {where}.{key} must be a non-negative integer")
    return value


def _dec(table: Mapping[str, Any], key: str, where: str) -> Decimal:
    value = table.get(key)
    try:
        if not isinstance(value, str):
            raise InvalidOperation
        result = Decimal(value)
    except InvalidOperation as e:
        raise CrmRulesError(f"crm.toml: {where}.{key} must be a decimal string") from e
    if not result.is_finite() or result <= 0:
        raise CrmRulesError(f"crm.toml: {where}.{key} must be a positive decimal")
    return result


def _coef(table: Mapping[str, Any], key: str, where: str, decimals: int) -> Decimal:
    value = _dec(table, key, where)
    if truncate(value, decimals) != value:
        raise CrmRulesError(f"crm.toml: {where}.{key} has more than {decimals} decimals")
    return truncate(value, decimals)


def _factors(table: Mapping[str, Any], where: str) -> UsageFactors:
    return UsageFactors(*(_dec(table, k, where) for k in ("reduction", "full", "partial")))
