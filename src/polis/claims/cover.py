"""The narrow interface between a policy and a claim: the cover terms, and the cover check.

Annual contracts and on-demand micro-policies attach to claims the same way: a :class:`CoverTerms`
(the policy id, the cover id, the covered perils, the exclusions, the time windows during which the
cover is active — one window for an annual period, many for on-demand cover — and the money terms
the settlement engine uses).

:func:`check_cover` answers "is this loss covered?" in this order, the first failure deciding:

1. the loss instant is inside a window (half-open ``[start, end)``, UTC: a loss at the exact end
   instant is outside, at the exact start inside) — else ``outside_window``;
2. the peril is among the covered perils — else ``peril_not_covered``;
3. no exclusion applies (an exclusion applies when its code is among the circumstances and it
   covers the peril) — else ``excluded:<code>``;
4. the waiting period is over: ``instant ≥ reference + waiting period``, the reference being the
   start of the window holding the loss or the policy start — else ``waiting_period``.

A refusal is a result with its reason, never an exception.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polis.claims.deadlines import DeclarationDeadline
from polis.claims.deductibles import Deductible
from polis.claims.limits import Limits
from polis.claims.valuation import ValuationBasis
from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.time import Window, ensure_utc, local_midnight
from polis.rating.bases import AgeBand

__all__ = [
    "CoverDecision",
    "CoverRefusal",
    "CoverTerms",
    "Exclusion",
    "WaitingFrom",
    "check_cover",
    "period_window",
]


class WaitingFrom(StrEnum):
    """Where a waiting period (délai de carence) starts."""

    WINDOW_START = "window_start"
    POLICY_START = "policy_start"


class CoverRefusal(StrEnum):
    """Why a loss is not covered (``excluded`` is reported as ``excluded:<code>``)."""

    OUTSIDE_WINDOW = "outside_window"
    PERIL_NOT_COVERED = "peril_not_covered"
    EXCLUDED = "excluded"
    WAITING_PERIOD = "waiting_period"


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An exclusion: a stable ``code``, its plain text, the perils it concerns (empty: all)."""

    code: str
    text: str
    perils: frozenset[str] = frozenset()

    def applies(self, peril: str, circumstances: frozenset[str]) -> bool:
        return self.code in circumstances and (not self.perils or peril in self.perils)


@dataclass(frozen=True, slots=True)
class CoverTerms:
    """One cover of one policy, as the settlement engine needs it.

    Cover check: ``perils``, ``exclusions``, ``windows`` (UTC, half-open), ``waiting_period`` from
    ``waiting_from`` (for ``waiting_perils`` only, or all perils when empty), ``policy_start`` (else
    the first window's start), ``declaration_deadlines`` per peril (``"*"``: any other peril).
    Money: ``sum_insured``, ``valuation_basis`` and ``depreciation_schedule``, ``first_loss``,
    ``agreed_value``, ``tolerance`` (capital rule), ``deductible`` and ``peril_deductibles``
    (a peril's own deductible replaces the general one), ``limits``, ``coinsurance_share``.
    """

    policy_id: str | None = None
    cover_id: str | None = None
    perils: frozenset[str] = frozenset()
    exclusions: tuple[Exclusion, ...] = ()
    windows: tuple[Window, ...] = ()
    policy_start: dt.datetime | None = None
    waiting_period: dt.timedelta = dt.timedelta(0)
    waiting_from: WaitingFrom = WaitingFrom.WINDOW_START
    waiting_perils: frozenset[str] = frozenset()
    declaration_deadlines: Mapping[str, DeclarationDeadline] = field(default_factory=dict)
    sum_insured: Decimal | None = None
    valuation_basis: ValuationBasis = ValuationBasis.REPLACEMENT_NEW
    depreciation_schedule: tuple[AgeBand, ...] = ()
    first_loss: bool = False
    agreed_value: bool = False
    tolerance: Decimal = Decimal(0)
    deductible: Deductible | None = None
    peril_deductibles: Mapping[str, Deductible] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    coinsurance_share: Decimal = Decimal(1)

    def deductible_for(self, peril: str | None) -> tuple[Deductible | None, str]:
        """The deductible of the peril if it has its own, else the general one; with its field."""
        if peril is not None and peril in self.peril_deductibles:
            return self.peril_deductibles[peril], f"peril_deductibles.{peril}"
        return self.deductible, "deductible"


@dataclass(frozen=True, slots=True)
class CoverDecision:
    """``covered``, else ``reason`` (``outside_window``, ``peril_not_covered``,
    ``excluded:<code>``, ``waiting_period``) with ``refusal`` its kind; the window holding the loss;
    for a waiting period, the instant it ends."""

    covered: bool
    reason: str | None
    refusal: CoverRefusal | None
    label: str
    policy_id: str | None
    cover_id: str | None
    peril: str
    instant: dt.datetime
    window: Window | None = None
    exclusion: Exclusion | None = None
    waiting_until: dt.datetime | None = None
    explanation: tuple[Explanation, ...] = ()


def period_window(start: dt.date, end: dt.date) -> Window:
    """An annual-style period ``[start, end)`` of Europe/Paris dates, as a UTC window (midnight to
    midnight, local time)."""
    if end <= start:
        raise InvalidInput(f"end {end} must be after start {start}", field="period.end")
    return Window(local_midnight(start), local_midnight(end))


def _refuse(
    terms: CoverTerms,
    peril: str,
    instant: dt.datetime,
    kind: CoverRefusal,
    label: str,
    *,
    window: Window | None = None,
    exclusion: Exclusion | None = None,
    until: dt.datetime | None = None,
) -> CoverDecision:
    reason = f"excluded:{exclusion.code}" if exclusion is not None else kind.value
    return CoverDecision(
        covered=False,
        reason=reason,
        refusal=kind,
        label=label,
        policy_id=terms.policy_id,
        cover_id=terms.cover_id,
        peril=peril,
        instant=instant,
        window=window,
        exclusion=exclusion,
        waiting_until=until,
        explanation=(Explanation("cover check", f"not covered ({reason}): {label}"),),
    )


def _waiting_until(terms: CoverTerms, window: Window, peril: str) -> dt.datetime | None:
    if terms.waiting_period <= dt.timedelta(0):
        return None
    if terms.waiting_perils and peril not in terms.waiting_perils:
        return None
    if terms.waiting_from is WaitingFrom.POLICY_START:
        start = terms.policy_start or min(w.start for w in terms.windows)
        return ensure_utc(start, field="cover.terms.policy_start") + terms.waiting_period
    return window.start + terms.waiting_period


def check_cover(
    terms: CoverTerms,
    loss_instant: dt.datetime,
    peril: str,
    circumstances: Iterable[str] = (),
) -> CoverDecision:
    """Is a loss at ``loss_instant`` by ``peril`` in ``circumstances`` covered? (module docstring)"""
    instant = ensure_utc(loss_instant, field="cover.loss_at")
    facts = frozenset(circumstances)
    window = next((w for w in terms.windows if w.contains(instant)), None)
    if window is None:
        shown = ", ".join(f"[{w.start.isoformat()}, {w.end.isoformat()})" for w in terms.windows)
        label = f"{instant.isoformat()} is in no cover window ({shown or 'none'}; end excluded)"
        return _refuse(terms, peril, instant, CoverRefusal.OUTSIDE_WINDOW, label)
    if peril not in terms.perils:
        label = f"peril {peril!r} is not among the covered perils {sorted(terms.perils)}"
        return _refuse(terms, peril, instant, CoverRefusal.PERIL_NOT_COVERED, label, window=window)
    for exclusion in terms.exclusions:
        if exclusion.applies(peril, facts):
            label = f"exclusion {exclusion.code}: {exclusion.text}"
            return _refuse(
                terms,
                peril,
                instant,
                CoverRefusal.EXCLUDED,
                label,
                window=window,
                exclusion=exclusion,
            )
    until = _waiting_until(terms, window, peril)
    if until is not None and instant < until:
        label = f"{instant.isoformat()} is before the end of the waiting period {until.isoformat()}"
        return _refuse(
            terms, peril, instant, CoverRefusal.WAITING_PERIOD, label, window=window, until=until
        )
    return _covered(terms, peril, instant, window, until)


def _covered(
    terms: CoverTerms, peril: str, instant: dt.datetime, window: Window, until: dt.datetime | None
) -> CoverDecision:
    label = (
        f"{instant.isoformat()} in [{window.start.isoformat()}, {window.end.isoformat()}), "
        f"peril {peril!r} covered, no exclusion applies"
        + (f", waiting period over since {until.isoformat()}" if until is not None else "")
    )
    return CoverDecision(
        covered=True,
        reason=None,
        refusal=None,
        label=label,
        policy_id=terms.policy_id,
        cover_id=terms.cover_id,
        peril=peril,
        instant=instant,
        window=window,
        waiting_until=until,
        explanation=(Explanation("cover check", f"covered: {label}"),),
    )
