"""Bonus-malus engine (CRM, *clause de réduction-majoration*, annex to art. A121-1 C. assur.).

Pure: dataclasses in, a :class:`CrmResult` with kernel ``Explanation`` lines out. The figures are
versioned data (:mod:`polis.actuarial.crm_rules`); the rules, their articles and the decisions Polis
took on open points are in ``docs/crm.md``.

For each annual reference period, with ``trunc2`` the truncation to 2 decimals (art. 4–5):

1. claims with no responsibility, neutral claims (art. 7) and art. 6 causes are ignored;
2. each responsible claim: ``c = min(trunc2(c × factor), 3.50)``, factor 1.25 (full) or 1.125
   (partial), 1.20 / 1.10 for *tournées* use (art. 5) — except the first responsible claim of a
   period that starts at 0.50 after at least 3 periods at 0.50 (art. 4);
3. a non-interrupted period without responsible claim: ``c = max(trunc2(c × 0.95), 0.50)`` (0.93 for
   *tournées*), then ``c = min(c, 1.00)`` when it ends a run of 2 claim-free periods (F2655);
4. an interrupted period (art. 9) keeps the coefficient.

The dated mode (reference periods from dates) is in :mod:`polis.actuarial.crm_periods`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from polis.actuarial.crm_rules import (
    CAUSE_REASONS,
    ClaimCause,
    CrmRules,
    Responsibility,
    Usage,
    UsageFactors,
    load_rules,
)
from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money, truncate

__all__ = [
    "Claim",
    "CrmInput",
    "CrmResult",
    "PendingClaim",
    "Period",
    "PeriodResult",
    "compute_crm",
]


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim; ``date`` is used by the dated mode only."""

    responsibility: Responsibility
    neutral: bool = False
    cause: ClaimCause | None = None
    label: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """One annual reference period. ``no_change_reason`` set: the due date changes nothing."""

    claims: tuple[Claim, ...] = ()
    interrupted: bool = False
    no_change_reason: str | None = None
    due_date: dt.date | None = None
    reference_start: dt.date | None = None
    reference_end: dt.date | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CrmInput:
    """``years_at_floor``: periods already spent at 0.50; ``claim_free_periods``: current streak."""

    periods: Sequence[Period]
    start: Decimal = Decimal("1.00")
    usage: Usage = Usage.STANDARD
    years_at_floor: int = 0
    claim_free_periods: int = 0
    reference_premium: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PeriodResult:
    """One period: coefficient at its start and after it (applies from the following due date)."""

    index: int
    start_coefficient: Decimal
    coefficient: Decimal
    responsible_claims: int
    exempted_claims: int
    ignored_claims: int
    interrupted: bool
    years_at_floor: int
    claim_free_periods: int
    premium: Decimal | None = None
    due_date: dt.date | None = None
    reference_start: dt.date | None = None
    reference_end: dt.date | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PendingClaim:
    """A dated claim after the last reference period; ``counts_at``: the due date it will affect."""

    index: int
    claim: Claim
    counts_at: dt.date | None


@dataclass(frozen=True, slots=True)
class CrmResult:
    usage: Usage
    rules_version: str
    start: Decimal
    final: Decimal
    periods: tuple[PeriodResult, ...]
    explanation: tuple[Explanation, ...]
    pending_claims: tuple[PendingClaim, ...] = ()

    @property
    def coefficients(self) -> tuple[Decimal, ...]:
        """The coefficient after each period, in order."""
        return tuple(p.coefficient for p in self.periods)


@dataclass(slots=True)
class _State:
    coefficient: Decimal
    years_at_floor: int
    claim_free: int


@dataclass(frozen=True, slots=True)
class _Context:
    rules: CrmRules
    factors: UsageFactors
    reference_premium: Decimal | None
    lines: list[Explanation] = field(default_factory=list)

    def add(self, step: str, formula: str, amount: Decimal | None = None) -> None:
        self.lines.append(Explanation(step, formula, amount))


def compute_crm(request: CrmInput, rules: CrmRules | None = None) -> CrmResult:
    """The coefficient after each period (rules in the module docstring).

    Raises ``InvalidInput`` naming the request field (``start``, ``periods[i].claims``…).
    """
    rules = rules if rules is not None else load_rules()
    _validate(request, rules)
    start = truncate(request.start, rules.decimals)
    state = _State(start, request.years_at_floor, request.claim_free_periods)
    ctx = _Context(rules, rules.factors[request.usage], request.reference_premium)
    ctx.add(
        "start",
        f"coefficient {start}, {request.usage} use (rules {rules.version}); periods at "
        f"{rules.floor}: {state.years_at_floor}, claim-free periods: {state.claim_free}",
        start,
    )
    rows = []
    for index, period in enumerate(request.periods, start=1):
        rows.append(_run_period(ctx, index, period, state))
    ctx.add("final coefficient", f"after {len(rows)} period(s)", state.coefficient)
    return CrmResult(
        usage=request.usage,
        rules_version=rules.version,
        start=start,
        final=state.coefficient,
        periods=tuple(rows),
        explanation=tuple(ctx.lines),
    )


def _validate(request: CrmInput, rules: CrmRules) -> None:
    start = request.start
    if not start.is_finite() or not rules.floor <= start <= rules.ceiling:
        raise InvalidInput(
            f"the coefficient must be between {rules.floor} and {rules.ceiling}, got {start}",
            field="start",
        )
    if truncate(start, rules.decimals) != start:
        raise InvalidInput(f"at most {rules.decimals} decimals, got {start}", field="start")
    if request.usage not in rules.factors:
        raise InvalidInput(f"must be one of {[str(u) for u in rules.factors]}", field="usage")
    if request.years_at_floor < 0 or request.claim_free_periods < 0:
        bad = "years_at_floor" if request.years_at_floor < 0 else "claim_free_periods"
        raise InvalidInput("must be a non-negative integer", field=bad)
    if request.years_at_floor > 0 and start != rules.floor:
        raise InvalidInput(
            f"counts the periods spent at {rules.floor}: must be 0 when start is {start}",
            field="years_at_floor",
        )
    premium = request.reference_premium
    if premium is not None and (not premium.is_finite() or premium < 0):
        raise InvalidInput("must be an amount ≥ 0", field="reference_premium")
    if len(request.periods) > rules.max_periods:
        raise InvalidInput(f"at most {rules.max_periods} periods", field="periods")
    for i, period in enumerate(request.periods):
        if len(period.claims) > rules.max_claims_per_period:
            raise InvalidInput(
                f"at most {rules.max_claims_per_period} claims per period",
                field=f"periods[{i}].claims",
            )


def _run_period(ctx: _Context, index: int, period: Period, state: _State) -> PeriodResult:
    tag = f"period {index}" + (f" (due {period.due_date})" if period.due_date else "")
    start = state.coefficient
    notes = list(period.notes)
    for note in period.notes:
        ctx.add(f"{tag}: note", note)
    responsible: list[tuple[int, Claim]] = []
    exempted = 0
    if period.no_change_reason is not None:
        ctx.add(f"{tag}: no change", f"{period.no_change_reason}: coefficient kept {start}", start)
        notes.append(f"{period.no_change_reason}: no change")
    else:
        responsible = _responsible_claims(ctx, tag, period.claims)
        exempted = _apply_claims(ctx, tag, responsible, state, notes)
        _close_period(ctx, tag, period, bool(responsible), state, notes)
    ctx.add(
        f"{tag}: coefficient",
        f"{start} → {state.coefficient}, applicable from "
        + (f"the due date {period.due_date}" if period.due_date else "the next due date")
        + f" (periods at {ctx.rules.floor}: {state.years_at_floor}, "
        + f"claim-free: {state.claim_free})",
        state.coefficient,
    )
    return PeriodResult(
        index=index,
        start_coefficient=start,
        coefficient=state.coefficient,
        responsible_claims=len(responsible),
        exempted_claims=exempted,
        ignored_claims=len(period.claims) - len(responsible),
        interrupted=period.interrupted,
        years_at_floor=state.years_at_floor,
        claim_free_periods=state.claim_free,
        premium=_premium(ctx, tag, state.coefficient),
        due_date=period.due_date,
        reference_start=period.reference_start,
        reference_end=period.reference_end,
        notes=tuple(notes),
    )


def _ignore_reason(claim: Claim) -> str | None:
    """Why a claim does not count (``None``: it is a responsible claim)."""
    if claim.responsibility == Responsibility.NONE:
        return "no responsibility of the insured (art. 5 raises only for responsible claims)"
    if claim.neutral:
        return (
            "neutral claim (art. 7: theft, fire or glass only, or parked vehicle hit by an "
            "unidentified third party)"
        )
    if claim.cause is not None:
        return CAUSE_REASONS[claim.cause]
    return None


def _describe(claim: Claim) -> str:
    return f"{claim.responsibility}" + (f", {claim.label}" if claim.label else "")


def _responsible_claims(
    ctx: _Context, tag: str, claims: Sequence[Claim]
) -> list[tuple[int, Claim]]:
    """The responsible claims (numbered from 1 within the period); the others are explained."""
    responsible = []
    for number, claim in enumerate(claims, start=1):
        reason = _ignore_reason(claim)
        if reason is None:
            responsible.append((number, claim))
        else:
            ctx.add(
                f"{tag}: claim {number} ignored ({_describe(claim)})",
                f"{reason}: no increase, does not block the reduction",
            )
    return responsible


def _apply_claims(
    ctx: _Context,
    tag: str,
    claims: list[tuple[int, Claim]],
    state: _State,
    notes: list[str],
) -> int:
    """Apply the responsible claims in order; return how many were exempted (0 or 1)."""
    rules = ctx.rules
    exempt = (
        state.coefficient == rules.floor and state.years_at_floor >= rules.exemption_years_at_floor
    )
    exempted = 0
    for number, claim in claims:
        if exempt:
            exempt, exempted = False, 1
            ctx.add(
                f"{tag}: responsible claim ({_describe(claim)}) exempted",
                f"first responsible claim after {state.years_at_floor} periods at {rules.floor} "
                f"(art. 4: at least {rules.exemption_years_at_floor}): no increase; earned again "
                f"after {rules.exemption_years_at_floor} more periods at {rules.floor}",
                state.coefficient,
            )
            notes.append(f"claim {number} exempted: first claim after {state.years_at_floor} years")
            continue
        state.coefficient = _increase(ctx, tag, claim, state.coefficient, notes)
    return exempted


def _increase(ctx: _Context, tag: str, claim: Claim, before: Decimal, notes: list[str]) -> Decimal:
    """``c' = min(trunc2(c × factor), ceiling)``, factor full or partial for the usage (art. 5)."""
    full = claim.responsibility == Responsibility.FULL
    factor = ctx.factors.full if full else ctx.factors.partial
    exact = before * factor
    truncated = truncate(exact, ctx.rules.decimals)
    after = min(truncated, ctx.rules.ceiling)
    formula = f"{before} × {factor} = {_exact(exact)} → truncated {truncated}"
    if after != truncated:
        formula += f" → ceiling {after}"
        notes.append(f"ceiling {after}")
    ctx.add(f"{tag}: responsible claim ({_describe(claim)})", formula, after)
    if not full and truncated != exact:
        ctx.add(
            f"{tag}: note on truncation",
            f"art. 5 truncates to {ctx.rules.decimals} decimals: {_exact(exact)} gives {truncated} "
            "(consumer sites often print 1.125 for a partial claim at 1.00; the law truncates)",
        )
        notes.append(f"partial claim: {_exact(exact)} truncated to {truncated}")
    return after


def _close_period(
    ctx: _Context, tag: str, period: Period, had_claim: bool, state: _State, notes: list[str]
) -> None:
    """Counters and reduction once the claims are applied.

    A responsible claim (exempted or not) resets both counters, interrupted period or not. A
    claim-free interrupted period keeps the coefficient and freezes the counters (art. 9).
    """
    if had_claim:
        state.years_at_floor = 0
        state.claim_free = 0
        if period.interrupted:
            notes.append("interrupted: no reduction")
        return
    if period.interrupted:
        ctx.add(
            f"{tag}: interrupted",
            f"interruption of more than {ctx.rules.interruption_threshold_months} months (art. 9): "
            f"no reduction, coefficient kept {state.coefficient}; counters unchanged",
            state.coefficient,
        )
        notes.append("interrupted: no reduction")
        return
    _reduce(ctx, tag, state, notes)


def _reduce(ctx: _Context, tag: str, state: _State, notes: list[str]) -> None:
    """Claim-free period: ``c' = max(trunc2(c × reduction), floor)`` (art. 4).

    Then, when the period ends a run of 2 claim-free periods, ``c' = min(c', 1.00)`` (F2655).
    Counters: claim-free streak + 1; periods at the floor + 1 if ``c`` was the floor, else 0.
    """
    rules, before = ctx.rules, state.coefficient
    exact = before * ctx.factors.reduction
    truncated = truncate(exact, rules.decimals)
    after = max(truncated, rules.floor)
    formula = f"{before} × {ctx.factors.reduction} = {_exact(exact)} → truncated {truncated}"
    if after != truncated:
        formula += f" → floor {after}"
        notes.append(f"floor {after}")
    ctx.add(f"{tag}: claim-free period", f"{formula} (art. 4)", after)
    state.years_at_floor = state.years_at_floor + 1 if before == rules.floor else 0
    state.claim_free += 1
    base = rules.return_coefficient
    if state.claim_free >= rules.return_claim_free_periods and after > base:
        ctx.add(
            f"{tag}: return to {base}",
            f"{state.claim_free} consecutive claim-free periods: min({after}, {base}) = {base} "
            "(service-public F2655; official wording open)",
            base,
        )
        notes.append(f"return to {base} after {state.claim_free} claim-free periods")
        after = base
    state.coefficient = after


def _premium(ctx: _Context, tag: str, coefficient: Decimal) -> Decimal | None:
    """``premium = round_half_up(reference premium × coefficient, 0.01)`` (art. 2)."""
    reference = ctx.reference_premium
    if reference is None:
        return None
    exact = reference * coefficient
    premium = round_money(exact)
    ctx.add(
        f"{tag}: premium",
        f"reference premium {reference} × {coefficient} = {_exact(exact)} "
        f"→ rounded half-up {premium}",
        premium,
    )
    return premium


def _exact(value: Decimal) -> str:
    """An exact product without trailing zeros but with at least 2 decimals (1.125, 1.25, 1.00)."""
    whole, _, decimals = f"{value.normalize():f}".partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"
